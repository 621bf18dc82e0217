"""Peer for bench/maxsim.ts: times maxsim-cpu (Rust + libxsmm) on the same inputs.

Reads little-endian float32 files written by the TypeScript benchmark (query [Lq, dim], documents
[nd, Ld, dim], already L2-normalised as maxsim-cpu expects), scores them `repeats` times and prints one
JSON line: best seconds and the scores (so the caller can check they agree with its own).
Threads follow RAYON_NUM_THREADS / OMP_NUM_THREADS, set by the caller.
"""
import json
import sys

import numpy as np
import maxsim_cpu

from timing import best_seconds


def main() -> None:
    qfile, dfile, lq, nd, ld, dim, repeats = sys.argv[1:8]
    lq, nd, ld, dim, repeats = int(lq), int(nd), int(ld), int(dim), int(repeats)
    q = np.fromfile(qfile, dtype="<f4").reshape(lq, dim)
    d = np.fromfile(dfile, dtype="<f4").reshape(nd, ld, dim)
    best = best_seconds(lambda: maxsim_cpu.maxsim_scores(q, d), repeats)
    scores = maxsim_cpu.maxsim_scores(q, d)
    print(json.dumps({"seconds": best, "scores": [float(x) for x in scores]}))


if __name__ == "__main__":
    main()
