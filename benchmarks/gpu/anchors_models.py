"""PyTorch side of the whole-model comparison: the ViT-B/16 residual-prompt step and the CLIP
ViT-L/14 image forward of golden/generate.py's anchors(), fp32, B = 128, same card and call as
io.starprompt.bench.ModelTiming."""
import json
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, sys.argv[1])
import generate  # noqa: E402

import timm  # noqa: E402
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection  # noqa: E402

torch.backends.cuda.matmul.allow_tf32 = False
dev, B, D = "cuda", 128, 768
res = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
vit = timm.create_model("vit_base_patch16_224", pretrained=False, num_classes=0).to(dev).eval()
for p_ in vit.parameters():
    p_.requires_grad_(False)
x = torch.randn(B, 3, 224, 224, device=dev)
prompts = [torch.randn(B, D, device=dev, requires_grad=True) for _ in range(12)]
head = torch.nn.Linear(D, 100).to(dev)


def vit_step():
    tok = generate.vit_blocks_forward_sdpa(vit, x, prompts)
    F.cross_entropy(head(tok[:, 0]), torch.zeros(B, dtype=torch.long, device=dev)).backward()


def vit_fwd():
    with torch.no_grad():
        generate.vit_blocks_forward_sdpa(vit, x, prompts)


res["vitb16_resid_step_ms_fp32_B128"] = generate.bench(vit_step, iters=10, warm=3)
res["vitb16_resid_fwd_ms_fp32_B128"] = generate.bench(vit_fwd, iters=10, warm=3)
del vit
vc = CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                      image_size=224, patch_size=14, projection_dim=768)
cl = CLIPVisionModelWithProjection(vc).to(dev).eval()
xc = torch.randn(B, 3, 224, 224, device=dev)


def clip_fwd():
    with torch.no_grad():
        cl(pixel_values=xc)


res["clipL14_image_fwd_ms_fp32_B128"] = generate.bench(clip_fwd, iters=5, warm=2)
print(json.dumps(res, indent=1))
