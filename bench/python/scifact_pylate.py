"""Peer for bench/scifact-e2e.ts: PyLate on the same checkpoint, corpus and queries.

Encodes the documents and queries with pylate.models.ColBERT, indexes the documents with
pylate.indexes.PLAID (the FastPlaid backend: PyLate has no exact index; PLAID is approximate, with
residual compression and an inverted file over centroids) and retrieves with pylate.retrieve.ColBERT;
writes a TREC run. With --exact it also scores every query against every document with PyLate's own
MaxSim (pylate.scores.colbert_scores on the padded documents) and writes that run too: the exact
reference the TypeScript index (exact search) should agree with.

Prints one JSON line: seconds per stage and the documents/queries counts.
Usage: python scifact_pylate.py MODEL_DIR CORPUS.jsonl QUERIES.jsonl WORK_DIR RUN_OUT [--exact EXACT_RUN_OUT] [--k 100]
"""
import argparse
import json
import os
import time

import torch


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_run(path, ids, results, tag):
    with open(path, "w", encoding="utf-8") as f:
        for qid, hits in zip(ids, results):
            for rank, (doc, score) in enumerate(hits, 1):
                f.write(f"{qid} Q0 {doc} {rank} {score:.6f} {tag}\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("corpus")
    ap.add_argument("queries")
    ap.add_argument("work")
    ap.add_argument("run")
    ap.add_argument("--exact")
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()

    from pylate import indexes, models, retrieve, scores

    seconds = {}
    t = time.perf_counter()
    model = models.ColBERT(args.model, device="cpu")
    model.eval()
    seconds["load"] = time.perf_counter() - t

    docs = read_jsonl(args.corpus)
    queries = read_jsonl(args.queries)
    # The same text as this project's index command: title and text joined by a space, trimmed.
    doc_texts = [f"{d.get('title') or ''} {d.get('text') or ''}".strip() for d in docs]
    doc_ids = [str(d["_id"]) for d in docs]

    t = time.perf_counter()
    with torch.inference_mode():
        doc_emb = model.encode(doc_texts, is_query=False, batch_size=args.batch_size, show_progress_bar=False)
    seconds["encode_documents"] = time.perf_counter() - t

    t = time.perf_counter()
    index = indexes.PLAID(index_folder=os.path.join(args.work, "pylate-index"), index_name="scifact", override=True, show_progress=False, device="cpu")
    index.add_documents(documents_ids=doc_ids, documents_embeddings=doc_emb)
    seconds["index"] = time.perf_counter() - t

    t = time.perf_counter()
    with torch.inference_mode():
        q_emb = model.encode([q["text"] for q in queries], is_query=True, batch_size=args.batch_size, show_progress_bar=False)
    seconds["encode_queries"] = time.perf_counter() - t

    t = time.perf_counter()
    retriever = retrieve.ColBERT(index=index)
    results = retriever.retrieve(queries_embeddings=q_emb, k=args.k, device="cpu")
    seconds["retrieve"] = time.perf_counter() - t
    write_run(args.run, [str(q["_id"]) for q in queries], [[(r["id"], float(r["score"])) for r in hits] for hits in results], "pylate-plaid")

    if args.exact:
        t = time.perf_counter()
        dim = doc_emb[0].shape[-1]
        longest = max(e.shape[0] for e in doc_emb)
        D = torch.zeros(len(doc_emb), longest, dim)
        mask = torch.zeros(len(doc_emb), longest)
        for i, e in enumerate(doc_emb):
            D[i, : e.shape[0]] = torch.as_tensor(e)
            mask[i, : e.shape[0]] = 1
        exact = []
        with torch.inference_mode():
            for q in q_emb:
                s = torch.cat([scores.colbert_scores(torch.as_tensor(q)[None], D[c : c + 512], documents_mask=mask[c : c + 512])[0] for c in range(0, len(doc_emb), 512)])
                top = torch.topk(s, min(args.k, len(doc_emb)))
                exact.append([(doc_ids[j], float(v)) for v, j in zip(top.values.tolist(), top.indices.tolist())])
        seconds["exact_maxsim"] = time.perf_counter() - t
        write_run(args.exact, [str(q["_id"]) for q in queries], exact, "pylate-exact")

    print(json.dumps({"seconds": seconds, "documents": len(docs), "queries": len(queries), "torch_threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
