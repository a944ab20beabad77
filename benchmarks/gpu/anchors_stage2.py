"""PyTorch anchor of io.starprompt.bench.ModelTiming: the STAR-Prompt second-stage step (CLIP
ViT-L/14 queries, residual-prompt retrieval in all 12 layers, ViT-B/16 forward + backward to the
prompts, head, masked cross-entropy, orthogonality term, Adam) and inference (queries, retrieval,
ViT forward, head), B = 128, 100 classes of which 90 past, in fp32 (TF32 off) and bf16 (autocast,
as golden/generate.py's anchors()), on the same card in the same device call. Prints JSON:
median ms (CUDA events) and peak MiB (max allocated and max reserved) per work and precision."""
import json
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, sys.argv[1])
import generate  # noqa: E402

import timm  # noqa: E402
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection  # noqa: E402

torch.backends.cuda.matmul.allow_tf32 = False
dev, B, D, P, C, PAST, LAYERS, LAMBDA = "cuda", 128, 768, 768, 100, 90, 12, 5.0
res = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "batch": B}


def frozen(model):
    for p_ in model.parameters():
        p_.requires_grad_(False)
    return model.to(dev).eval()


vit = frozen(timm.create_model("vit_base_patch16_224", pretrained=False, num_classes=0))
clip = frozen(CLIPVisionModelWithProjection(CLIPVisionConfig(
    hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16, image_size=224,
    patch_size=14, projection_dim=P)))
x = torch.randn(B, 3, 224, 224, device=dev)
xc = torch.randn(B, 3, 224, 224, device=dev)
keys = F.normalize(torch.randn(C, P, device=dev), dim=-1)
a = [torch.randn(C, P, device=dev, requires_grad=True) for _ in range(LAYERS)]
pv = [(0.02 * torch.randn(C, D, device=dev)).requires_grad_() for _ in range(LAYERS)]
head = torch.nn.Linear(D, C).to(dev)
opt = torch.optim.Adam(a + pv + list(head.parameters()), lr=1e-3)
labels = PAST + torch.arange(B, device=dev) % (C - PAST)


def prompts(q, past):
    return [generate.super_prompt(q, a[l], keys, pv[l], C, past)[0] for l in range(LAYERS)]


def step():
    with torch.no_grad():
        q = clip(pixel_values=xc).image_embeds.float()
    tok = generate.vit_blocks_forward_sdpa(vit, x, prompts(q, PAST))
    logits = head(tok[:, 0]).float()
    loss = F.cross_entropy(logits[:, PAST:], labels - PAST)
    loss = loss + LAMBDA * sum(generate.ortho_loss(p, C, PAST) for p in pv)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def inference():
    with torch.no_grad():
        q = clip(pixel_values=xc).image_embeds.float()
        head(generate.vit_blocks_forward_sdpa(vit, x, prompts(q, 0))[:, 0])


def measure(name, fn, bf16):
    def run():
        if bf16:
            with torch.autocast("cuda", dtype=torch.bfloat16):
                fn()
        else:
            fn()
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    ms = generate.bench(run, iters=5, warm=2)
    tag = "bf16" if bf16 else "fp32"
    res[f"{name}|{tag}|ms"] = ms
    res[f"{name}|{tag}|peak_allocated_mib"] = torch.cuda.max_memory_allocated() / 2**20
    res[f"{name}|{tag}|peak_reserved_mib"] = torch.cuda.max_memory_reserved() / 2**20


for bf16 in (False, True):
    measure("stage-2 step", step, bf16)
    measure("inference", inference, bf16)
print(json.dumps(res, indent=1))
