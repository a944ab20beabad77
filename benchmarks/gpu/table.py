"""Prints the one table of the prepared GPU call: ModelTiming's RESULT lines (ours) beside
anchors_stage2.py's JSON (PyTorch), per work. A missing side prints as "-" (a part that failed or
timed out), so the table still comes out.

usage: python3 table.py model_timing.txt anchors_stage2.json"""
import json
import sys


def ours(path):
    rows = {}
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("RESULT|"):
                    _, work, precision, ms, mib = line.strip().split("|")
                    rows[(work, precision)] = (float(ms), float(mib))
    except OSError:
        pass
    return rows


def torch_side(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def fmt(v, digits=1):
    return "-" if v is None else f"{v:.{digits}f}"


def main():
    mine, theirs = ours(sys.argv[1]), torch_side(sys.argv[2])
    print(f"device: {theirs.get('device', '?')}, torch {theirs.get('torch', '?')}, batch {theirs.get('batch', '?')}")
    print("| work | ours fp32 ms | ours bf16 ms | PyTorch fp32 ms | PyTorch bf16 ms | ours bf16 / PyTorch bf16 "
          "| peak MiB: ours fp32 | ours bf16 | PyTorch bf16 (allocated / reserved) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for work in ("stage-2 step", "inference"):
        f32, b16 = mine.get((work, "fp32")), mine.get((work, "bf16"))
        t32, t16 = theirs.get(f"{work}|fp32|ms"), theirs.get(f"{work}|bf16|ms")
        ratio = b16[0] / t16 if b16 and t16 else None
        alloc, reserved = theirs.get(f"{work}|bf16|peak_allocated_mib"), theirs.get(f"{work}|bf16|peak_reserved_mib")
        print(f"| {work} | {fmt(f32 and f32[0])} | {fmt(b16 and b16[0])} | {fmt(t32)} | {fmt(t16)} | {fmt(ratio, 2)} "
              f"| {fmt(f32 and f32[1], 0)} | {fmt(b16 and b16[1], 0)} | {fmt(alloc, 0)} / {fmt(reserved, 0)} |")


if __name__ == "__main__":
    main()
