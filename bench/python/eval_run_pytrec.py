"""Benchmark peer for bench/eval-run.ts: pytrec_eval (the pytrec-eval-terrier wheel, which bundles
trec_eval's C code) reading a TREC qrels + run and evaluating the same measures.

Prints one JSON object: seconds for reading and for evaluating, and the mean of each measure.
"""
import json
import sys
import time

t0 = time.perf_counter()
import pytrec_eval  # noqa: E402  (import time counted: it is part of a run)

qrels_path, run_path, measures = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
t_import = time.perf_counter() - t0

t1 = time.perf_counter()
with open(qrels_path) as f:
    qrels = pytrec_eval.parse_qrel(f)
with open(run_path) as f:
    run = pytrec_eval.parse_run(f)
t_read = time.perf_counter() - t1

t2 = time.perf_counter()
evaluator = pytrec_eval.RelevanceEvaluator(qrels, set(measures))
per_query = evaluator.evaluate(run)
keys = sorted(next(iter(per_query.values())).keys())
means = {k: pytrec_eval.compute_aggregated_measure(k, [v[k] for v in per_query.values()]) for k in keys}
t_eval = time.perf_counter() - t2

print(json.dumps({
    "import_s": t_import,
    "read_s": t_read,
    "evaluate_s": t_eval,
    "queries": len(per_query),
    "means": means,
    "per_query": per_query,
}))
