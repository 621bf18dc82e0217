"""PyTorch's side of bench/gemm.ts: best-of-N milliseconds of each training-step matrix product.

Usage: gemm_torch.py THREADS ROWS K N [K N ...]. Prints one JSON line: {"torch": version, "ms": {"fwd K N": ...}}.
For each (K, N): x[ROWS, K]·W[K, N] (forward), dy[ROWS, N]·Wᵀ (input gradient), xᵀ·dy (weight gradient).
"""
import json
import sys

import torch

from timing import best_seconds


def best_ms(f):
    return best_seconds(f, repeats=8, warmup=2) * 1e3


def main():
    threads, rows = int(sys.argv[1]), int(sys.argv[2])
    dims = [int(a) for a in sys.argv[3:]]
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    out = {}
    for k, n in zip(dims[0::2], dims[1::2]):
        x, w, dy = torch.randn(rows, k, generator=g), torch.randn(k, n, generator=g), torch.randn(rows, n, generator=g)
        out[f"fwd {k} {n}"] = best_ms(lambda: x @ w)
        out[f"dx {k} {n}"] = best_ms(lambda: dy @ w.t())
        out[f"dw {k} {n}"] = best_ms(lambda: x.t() @ dy)
    print(json.dumps({"torch": torch.__version__, "ms": out}))


if __name__ == "__main__":
    main()
