"""PyTorch side of the GPU comparison: the retrieval and attention parts of golden/generate.py's
anchors(), timed on the same card in the same device call as our CUDA-event harness."""
import json
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, sys.argv[1])
import generate  # noqa: E402

res = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
dev, B, H, N, hd, D = "cuda", 128, 12, 197, 64, 768
for C in (100, 200):
    q = torch.randn(B, D, device=dev)
    keys = F.normalize(torch.randn(C, D, device=dev), dim=-1)
    a = torch.randn(C, D, device=dev, requires_grad=True)
    pv = torch.randn(C, D, device=dev, requires_grad=True)

    def fb():
        sp, _ = generate.super_prompt(q, a, keys, pv, C, C // 2)
        sp.sum().backward()
    res[f"retrieval_fwd_bwd_ms_B{B}_C{C}_1layer"] = generate.bench(fb)
for dt, tag in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
    t = [torch.randn(B, H, N, hd, device=dev, dtype=dt, requires_grad=True) for _ in range(3)]
    p = torch.randn(B, H, 1, hd, device=dev, dtype=dt, requires_grad=True)
    pk = torch.randn(B, H, 8, hd, device=dev, dtype=dt, requires_grad=True)
    pvv = torch.randn(B, H, 8, hd, device=dev, dtype=dt, requires_grad=True)

    def resid():
        F.scaled_dot_product_attention(t[0], t[1], t[2] + p).sum().backward()

    def prefix():
        F.scaled_dot_product_attention(t[0], torch.cat((pk, t[1]), 2), torch.cat((pvv, t[2]), 2)).sum().backward()

    def prefix_fwd():
        with torch.no_grad():
            F.scaled_dot_product_attention(t[0], torch.cat((pk, t[1]), 2), torch.cat((pvv, t[2]), 2))
    res[f"attn_resid_sdpa_fwd_bwd_ms_{tag}"] = generate.bench(resid)
    res[f"attn_prefix8_sdpa_fwd_bwd_ms_{tag}"] = generate.bench(prefix)
    res[f"attn_prefix8_sdpa_fwd_ms_{tag}"] = generate.bench(prefix_fwd)
print(json.dumps(res, indent=1))
