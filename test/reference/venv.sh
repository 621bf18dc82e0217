#!/usr/bin/env bash
# Creates (once) the Python environment that holds the reference implementations this project is
# checked against: transformers + torch (ModernBERT), pylate (ColBERT), pytrec_eval (trec_eval),
# maxsim-cpu (fast CPU MaxSim). Used only by the fixture generator and the benchmarks, never by tests.
# Usage: source "$(test/reference/venv.sh)"   or   "$(test/reference/venv.sh --python)" script.py
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${CZ_REFERENCE_VENV:-$ROOT/.venv-reference}"
PY="${CZ_PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ] || [ ! -f "$VENV/.complete" ]; then
  echo "creating reference environment in $VENV (torch is large; this takes a few minutes once)" >&2
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip >&2
  "$VENV/bin/pip" install --quiet torch transformers safetensors pylate pytrec-eval maxsim-cpu numpy >&2
  touch "$VENV/.complete"
fi
if [ "${1:-}" = "--python" ]; then echo "$VENV/bin/python"; else echo "$VENV/bin/activate"; fi
