"""Writes test/fixtures/eval/reference_metrics.json: a small deterministic run and qrels, with
  - sentence-transformers' InformationRetrievalEvaluator.compute_metrics (what PyLate's evaluator
    reports: MRR@k, Accuracy@k, Precision@k, Recall@k, NDCG@k) on binary judgments, and
  - pytrec_eval's per-query values for trec_eval measures on graded judgments (with zeros and
    documents judged but not retrieved).
Scores are distinct, so every implementation ranks the same way.
Run with the reference venv: .venv-reference/bin/python test/reference/eval_fixtures.py
"""
import json
import os

import numpy as np
import pytrec_eval
from sentence_transformers.evaluation import InformationRetrievalEvaluator

rng = np.random.default_rng(1234)
N_Q, N_RET, POOL = 40, 60, 400
run, graded, binary = {}, {}, {}
for q in range(N_Q):
    qid = f"q{q}"
    docs = rng.choice(POOL, size=N_RET, replace=False)
    scores = rng.permutation(N_RET * 10)[:N_RET] / 7.0  # distinct
    run[qid] = {f"d{d}": float(s) for d, s in zip(docs, scores)}
    judged = {}
    for d in rng.choice(docs, size=int(rng.integers(1, 8)), replace=False):
        judged[f"d{d}"] = int(rng.integers(0, 4))  # 0..3
    for d in rng.integers(POOL, POOL + 50, size=2):  # judged, never retrieved
        judged[f"d{d}"] = int(rng.integers(1, 3))
    if all(v == 0 for v in judged.values()):
        judged[next(iter(judged))] = 1
    graded[qid] = judged
    binary[qid] = {d: 1 for d, v in judged.items() if v > 0}

MEASURES = ["map", "ndcg", "ndcg_cut.5,10", "P.5,10", "recall.10,50", "recip_rank", "Rprec", "bpref", "success.1,5"]
per_query = pytrec_eval.RelevanceEvaluator(graded, set(MEASURES)).evaluate(run)

KS = [1, 3, 5, 10]
ev = InformationRetrievalEvaluator(
    queries={q: q for q in binary},
    corpus={d: d for docs in run.values() for d in docs},
    relevant_docs={q: set(v) for q, v in binary.items()},
    mrr_at_k=KS, ndcg_at_k=KS, accuracy_at_k=KS, precision_recall_at_k=KS, map_at_k=KS,
)
results = [[{"corpus_id": d, "score": s} for d, s in run[q].items()] for q in ev.queries_ids]
st = ev.compute_metrics(results)
st = {name: {str(k): float(v) for k, v in vals.items()} for name, vals in st.items()}

out = os.path.join(os.path.dirname(__file__), "..", "fixtures", "eval", "reference_metrics.json")
with open(out, "w") as f:
    json.dump({"run": run, "qrels_graded": graded, "qrels_binary": binary, "pytrec_measures": MEASURES,
               "pytrec_per_query": per_query, "sentence_transformers": st}, f, indent=0, sort_keys=True)
print("wrote", os.path.normpath(out))
