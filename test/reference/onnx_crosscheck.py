"""Optional cross-check: the model.onnx this project writes loads in Python onnxruntime and reproduces
PyLate / sentence-transformers (the committed goldens) to <= 1e-4.

    cp -r test/fixtures/models/colbert /tmp/c && ./bin/colbert-zero.cjs export-onnx --model /tmp/c
    cp -r test/fixtures/models/dense /tmp/d && ./bin/colbert-zero.cjs export-onnx --model /tmp/d
    "$(test/reference/venv.sh --python)" -m pip install onnxruntime   # not part of venv.sh's pins
    "$(test/reference/venv.sh --python)" test/reference/onnx_crosscheck.py --colbert /tmp/c --dense /tmp/d \
        --golden test/fixtures/models/golden.safetensors
Exit 0 when every comparison is within 1e-4 (normwise max relative error, as the TypeScript tests measure).
"""
import argparse
import os
import sys

import numpy as np
import onnxruntime as ort
from safetensors.numpy import load_file


def rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def run(model_dir, ids, mask):
    s = ort.InferenceSession(os.path.join(model_dir, "model.onnx"), providers=["CPUExecutionProvider"])
    return s.run(["embeddings"], {"input_ids": ids.astype(np.int64), "attention_mask": mask.astype(np.int64)})[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--colbert")
    ap.add_argument("--dense")
    ap.add_argument("--golden", required=True)
    a = ap.parse_args()
    g = load_file(a.golden)
    worst = 0.0
    if a.colbert:
        for p in ["colbert.query", "colbert.document", "colbert.query_prompt", "colbert.document_prompt", "colbert.query_noexpansion", "colbert.query_attend"]:
            out = run(a.colbert, g[f"{p}.input_ids"], g[f"{p}.attention_mask"])
            m = g[f"{p}.mask"].astype(bool)
            e = rel(out[m], g[f"{p}.embeddings"][m])
            worst = max(worst, e)
            print(f"{p}: {e:.2e}")
    if a.dense:
        out = run(a.dense, g["dense.input_ids"], g["dense.attention_mask"])
        e = rel(out, g["dense.embeddings"])
        worst = max(worst, e)
        print(f"dense: {e:.2e}")
    print(f"onnxruntime {ort.__version__}: worst {worst:.2e}")
    sys.exit(0 if worst <= 1e-4 else 1)


if __name__ == "__main__":
    main()
