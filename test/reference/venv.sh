#!/usr/bin/env bash
# Creates (once) the Python environment that holds the reference implementations this project is
# checked against: transformers + torch (ModernBERT), pylate (ColBERT), pytrec_eval (trec_eval),
# maxsim-cpu (fast CPU MaxSim). Used only by the fixture generator and the benchmarks, never by tests.
# pytrec_eval comes as the pytrec-eval-terrier build, which ships wheels: the original sdist downloads
# trec_eval's source at build time, which a registry-only machine cannot do.
# Usage: source "$(test/reference/venv.sh)"   or   "$(test/reference/venv.sh --python)" script.py
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${CZ_REFERENCE_VENV:-$ROOT/.venv-reference}"
PY="${CZ_PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ] || [ ! -f "$VENV/.complete" ]; then
  echo "creating reference environment in $VENV (torch is large; this takes a few minutes once)" >&2
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip >&2
  # Pinned to the versions the committed fixtures and benchmark tables were produced with.
  "$VENV/bin/pip" install --quiet torch==2.10.0 transformers==5.3.0 sentence-transformers==5.3.0 tokenizers==0.22.2 \
    safetensors==0.8.0 pylate==1.6.0 pytrec-eval-terrier maxsim-cpu==0.1.0 numpy==2.4.6 >&2
  touch "$VENV/.complete"
fi
if [ "${1:-}" = "--python" ]; then echo "$VENV/bin/python"; else echo "$VENV/bin/activate"; fi
