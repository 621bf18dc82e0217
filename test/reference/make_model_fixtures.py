#!/usr/bin/env python3
"""
Golden outputs of the Python reference (transformers' ModernBERT, PyLate's ColBERT, sentence-transformers'
dense pipeline) for the TypeScript models in lib/models, and the reverse check that a model saved by the
TypeScript code loads in PyLate and transformers and gives the same outputs.

Nothing is downloaded: the model config is built here, the weights are random (seeded), and the
vocabulary is a 376-token cut of the ModernBERT BPE (its first merges) plus the five ModernBERT special
tokens, so the fixtures stay a few hundred KB.

Step 1 — write the fixtures (run from the project root; the reference venv comes from venv.sh):
    "$(test/reference/venv.sh --python)" test/reference/make_model_fixtures.py \
        --tokenizer <shared data>/tokenizers/modernbert --out test/fixtures/models

Step 2 — reverse direction, on a folder written by the TypeScript code:
    ./bin/colbert-zero.cjs init-model --config test/fixtures/models/hf-mlm/config.json \
        --tokenizer test/fixtures/models/tokenizer --head colbert --out /tmp/ts-colbert
    ./bin/colbert-zero.cjs encode --model /tmp/ts-colbert --input texts.jsonl --as query --out /tmp/q.safetensors
    "$(test/reference/venv.sh --python)" test/reference/make_model_fixtures.py \
        --check-saved /tmp/ts-colbert --texts texts.jsonl --as query --expect /tmp/q.safetensors
  It loads the folder with transformers (no missing or unexpected tensors) and with PyLate (ColBERT) or
  sentence-transformers (dense), encodes the texts and compares with the TypeScript output
  (max normwise relative error <= 1e-4 on every scored token). Exit status 0 means they agree.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the Hub: every path here is local

import numpy as np
import torch

SEED = 1234
VOCAB_KEPT = 376  # ids 0..375 of the ModernBERT BPE; the specials follow
SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]

CONFIG = dict(
    model_type="modernbert",
    architectures=["ModernBertForMaskedLM"],
    vocab_size=VOCAB_KEPT + len(SPECIALS),
    hidden_size=32,
    intermediate_size=48,
    num_hidden_layers=3,
    num_attention_heads=2,
    hidden_activation="gelu",
    max_position_embeddings=512,
    norm_eps=1e-5,
    norm_bias=False,
    global_attn_every_n_layers=2,  # layers 0 and 2 global, layer 1 local
    local_attention=16,  # local layers see |i - j| <= 8: shorter than the documents below
    global_rope_theta=1000.0,
    local_rope_theta=100.0,
    attention_bias=False,
    mlp_bias=False,
    decoder_bias=True,
    classifier_bias=False,
    classifier_activation="gelu",
    pad_token_id=VOCAB_KEPT + 3,
    bos_token_id=VOCAB_KEPT + 1,
    cls_token_id=VOCAB_KEPT + 1,
    eos_token_id=VOCAB_KEPT + 2,
    sep_token_id=VOCAB_KEPT + 2,
    tie_word_embeddings=True,
)

QUERIES = ["what is a rotary embedding", "late interaction", "why do cats sleep so much during the day?"]
DOCUMENTS = [
    "Rotary embeddings rotate query and key vectors by an angle that grows with the position.",
    "ColBERT keeps one vector per token, and scores a document by summing, for each query token, its best match.",
    "Cats sleep.",
]
HIDDEN_TEXTS = ["a b", "The cat sat on the mat, and then it slept for a very long time in the sun.", "hello world", "x"]
PROMPTS = {"query": "search_query: ", "document": "search_document: "}


def tiny_tokenizer(src: str, out: str) -> None:
    """The ModernBERT tokenizer cut to its first VOCAB_KEPT ids (and the merges among them) plus the specials."""
    tok = json.load(open(os.path.join(src, "tokenizer.json")))
    vocab = {s: i for s, i in tok["model"]["vocab"].items() if i < VOCAB_KEPT}
    merges = []
    for m in tok["model"]["merges"]:
        a, b = m.split(" ") if isinstance(m, str) else m
        if a in vocab and b in vocab and (a + b) in vocab:
            merges.append(m)
    tok["model"]["vocab"] = vocab
    tok["model"]["merges"] = merges
    added = []
    for k, name in enumerate(SPECIALS):
        added.append(dict(id=VOCAB_KEPT + k, content=name, single_word=False, lstrip=name == "[MASK]", rstrip=False, normalized=False, special=True))
    tok["added_tokens"] = added
    ids = {a["content"]: a["id"] for a in added}
    for name, entry in tok["post_processor"]["special_tokens"].items():
        entry["ids"] = [ids[name]]
    os.makedirs(out, exist_ok=True)
    json.dump(tok, open(os.path.join(out, "tokenizer.json"), "w"), ensure_ascii=False, indent=1)
    cfg = json.load(open(os.path.join(src, "tokenizer_config.json")))
    cfg["added_tokens_decoder"] = {str(a["id"]): {k: a[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")} for a in added}
    json.dump(cfg, open(os.path.join(out, "tokenizer_config.json"), "w"), indent=2)
    shutil.copy(os.path.join(src, "special_tokens_map.json"), os.path.join(out, "special_tokens_map.json"))


def max_rel(a, b) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d = np.abs(a - b).max() if a.size else 0.0
    return float(d / max(np.abs(b).max(), 1e-30)) if d else 0.0


def f32(t) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().numpy() if torch.is_tensor(t) else t, dtype=np.float32)


def i32(t) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().numpy() if torch.is_tensor(t) else t, dtype=np.int32)


def colbert_outputs(model, texts, is_query, prefix, golden, prompt_name=None):
    """Token ids, masks and per-token embeddings exactly as PyLate's encode returns them (padded per batch)."""
    with torch.no_grad():
        out = model.encode(texts, is_query=is_query, output_value=None, batch_size=64, prompt_name=prompt_name, convert_to_numpy=False)
        filtered = model.encode(texts, is_query=is_query, batch_size=64, prompt_name=prompt_name)
    L = max(len(x) for x in out["input_ids"])

    def pad(rows, value, dtype):
        res = np.full((len(rows), L) + tuple(np.asarray(rows[0]).shape[1:]), value, dtype=dtype)
        for i, r in enumerate(rows):
            r = np.asarray(r.cpu() if torch.is_tensor(r) else r)
            res[i, : len(r)] = r
        return res

    golden[f"{prefix}.input_ids"] = pad(out["input_ids"], -1, np.int32)
    golden[f"{prefix}.attention_mask"] = pad(out["attention_mask"], 0, np.int32)
    golden[f"{prefix}.mask"] = pad(out["masks"], 0, np.int32)
    golden[f"{prefix}.embeddings"] = pad(out["token_embeddings"], 0, np.float32)
    # The filtered form must equal the padded form's scored rows.
    for i, f in enumerate(filtered):
        m = golden[f"{prefix}.mask"][i].astype(bool)
        assert max_rel(golden[f"{prefix}.embeddings"][i][m], f) < 1e-6, "PyLate filtered/unfiltered outputs disagree"
    return filtered


def make(args) -> None:
    from transformers import ModernBertConfig, ModernBertForMaskedLM, ModernBertModel
    from safetensors.numpy import save_file
    from pylate import models as pylate_models, scores as pylate_scores
    from sentence_transformers import SentenceTransformer, models as st_models

    torch.manual_seed(SEED)
    out = args.out
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    tok_dir = os.path.join(out, "tokenizer")
    tiny_tokenizer(args.tokenizer, tok_dir)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tok_dir)
    assert len(tokenizer) == CONFIG["vocab_size"], (len(tokenizer), CONFIG["vocab_size"])

    # 1. The backbone as ModernBertForMaskedLM. Random weights at unit scale (not transformers' 0.02 init,
    # under which attention is nearly uniform and rotary angles or the local window would hardly show),
    # query/key weights larger still so attention is peaked; LayerNorm weights and decoder bias perturbed.
    config = ModernBertConfig(**CONFIG)
    mlm = ModernBertForMaskedLM(config).eval()
    with torch.no_grad():
        for name, p in mlm.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name == "decoder.bias":
                p.copy_(0.1 * torch.randn_like(p))
            elif name.endswith("tok_embeddings.weight"):
                p.normal_(0, 1)
            elif "Wqkv" in name:
                p.normal_(0, 2.5 / p.shape[1] ** 0.5)
            elif p.dim() == 2:
                p.normal_(0, 1 / p.shape[1] ** 0.5)
    hf_dir = os.path.join(out, "hf-mlm")
    mlm.save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)

    golden: dict[str, np.ndarray] = {}
    # 2. Hidden states, eager and sdpa, on a padded batch (one sequence longer than the local window).
    enc = tokenizer(HIDDEN_TEXTS, padding=True, return_tensors="pt")
    golden["hidden.input_ids"] = i32(enc["input_ids"])
    golden["hidden.attention_mask"] = i32(enc["attention_mask"])
    assert enc["input_ids"].shape[1] > CONFIG["local_attention"] // 2 + 1
    for impl in ("eager", "sdpa"):
        m = ModernBertForMaskedLM.from_pretrained(hf_dir, attn_implementation=impl).eval()
        with torch.no_grad():
            o = m(**enc, output_hidden_states=True)
        # transformers' last hidden state is after the final norm; hidden_states[-1] is too in v5 (it records layer outputs)
        golden[f"hidden.{impl}"] = f32(m.model(**enc).last_hidden_state)
        golden[f"mlm_logits.{impl}"] = f32(o.logits[1, :6])
    real = enc["attention_mask"].bool().numpy()
    err = max_rel(golden["hidden.sdpa"][real], golden["hidden.eager"][real])
    print(f"hidden states, real tokens: sdpa vs eager max rel error {err:.2e}")
    assert err < 1e-5

    # 3. PyLate ColBERT on top: projection 32 -> 16, short query/document lengths so truncation and expansion happen.
    for impl in ("eager", "sdpa"):
        colbert = pylate_models.ColBERT(
            hf_dir,
            embedding_size=16,
            query_length=12,
            document_length=24,
            prompts=PROMPTS,
            model_kwargs={"attn_implementation": impl},
            device="cpu",
        ).eval()
        if impl == "eager":
            cb_dir = os.path.join(out, "colbert")
            colbert.save(cb_dir)
            # Reload so the golden outputs come from the saved files.
            colbert = pylate_models.ColBERT(cb_dir, model_kwargs={"attn_implementation": "eager"}, device="cpu").eval()
        else:
            # Same weights as the saved model (the Dense layer and resized embeddings are random at creation).
            colbert = pylate_models.ColBERT(cb_dir, model_kwargs={"attn_implementation": "sdpa"}, device="cpu").eval()
        g = golden if impl == "eager" else {}
        q = colbert_outputs(colbert, QUERIES, True, "colbert.query", g)
        d = colbert_outputs(colbert, DOCUMENTS, False, "colbert.document", g)
        colbert_outputs(colbert, QUERIES, True, "colbert.query_prompt", g, prompt_name="query")
        colbert_outputs(colbert, DOCUMENTS, False, "colbert.document_prompt", g, prompt_name="document")
        # One pair at a time, unpadded: with padded inputs PyLate's torch path multiplies masked similarities
        # by 0, so a query token whose real similarities are all negative would score 0 instead of its max.
        s = torch.tensor([[float(pylate_scores.colbert_scores(torch.as_tensor(qi)[None], torch.as_tensor(di)[None])[0, 0]) for di in d] for qi in q])
        g["colbert.scores"] = f32(s)
        if impl == "eager":
            eager = dict(g)
        else:
            for k in ("colbert.query", "colbert.document", "colbert.query_prompt", "colbert.document_prompt"):
                m = eager[f"{k}.mask"].astype(bool)
                e = max_rel(g[f"{k}.embeddings"][m], eager[f"{k}.embeddings"][m])
                print(f"{k}: sdpa vs eager max rel error {e:.2e}")
                assert e < 1e-5
            print(f"scores: sdpa vs eager max rel error {max_rel(g['colbert.scores'], eager['colbert.scores']):.2e}")

    # Variants read from the same folder with overridden settings.
    noexp = pylate_models.ColBERT(cb_dir, do_query_expansion=False, model_kwargs={"attn_implementation": "eager"}, device="cpu").eval()
    colbert_outputs(noexp, QUERIES, True, "colbert.query_noexpansion", golden)
    attend = pylate_models.ColBERT(cb_dir, attend_to_expansion_tokens=True, model_kwargs={"attn_implementation": "eager"}, device="cpu").eval()
    colbert_outputs(attend, QUERIES, True, "colbert.query_attend", golden)

    # 4. Dense: sentence-transformers Transformer + mean Pooling + Normalize (the nomic modernbert-embed layout).
    for impl in ("eager", "sdpa"):
        tr = st_models.Transformer(hf_dir, max_seq_length=20, model_args={"attn_implementation": impl})
        pool = st_models.Pooling(tr.get_word_embedding_dimension(), pooling_mode="mean")
        dense = SentenceTransformer(modules=[tr, pool, st_models.Normalize()], device="cpu", prompts=PROMPTS).eval()
        emb = dense.encode(DOCUMENTS + QUERIES, convert_to_numpy=True, batch_size=64)
        feats = dense.tokenize(DOCUMENTS + QUERIES)
        if impl == "eager":
            dense.save(os.path.join(out, "dense"))
            golden["dense.input_ids"] = i32(feats["input_ids"])
            golden["dense.attention_mask"] = i32(feats["attention_mask"])
            golden["dense.embeddings"] = f32(emb)
            golden["dense.query_prompt"] = f32(dense.encode(QUERIES, prompt_name="query", convert_to_numpy=True))
        else:
            e = max_rel(emb, golden["dense.embeddings"])
            print(f"dense: sdpa vs eager max rel error {e:.2e}")
            assert e < 1e-5

    meta = {
        "queries": json.dumps(QUERIES),
        "documents": json.dumps(DOCUMENTS),
        "hidden_texts": json.dumps(HIDDEN_TEXTS),
        "dense_texts": json.dumps(DOCUMENTS + QUERIES),
        "prompts": json.dumps(PROMPTS),
        "generator": "test/reference/make_model_fixtures.py",
        "versions": json.dumps({"torch": torch.__version__, "transformers": __import__("transformers").__version__, "pylate": __import__("pylate").__version__, "sentence_transformers": __import__("sentence_transformers").__version__}),
    }
    save_file({k: np.ascontiguousarray(v) for k, v in golden.items()}, os.path.join(out, "golden.safetensors"), metadata=meta)
    for d in ("colbert", "dense"):
        readme = os.path.join(out, d, "README.md")
        if os.path.exists(readme):
            os.remove(readme)  # generated model cards: large and not needed
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out) for f in fs)
    print(f"wrote {out} ({total / 1024:.0f} KB)")


def check_saved(args) -> int:
    """Loads a TypeScript-saved folder with transformers and PyLate / sentence-transformers; compares encodings."""
    from safetensors.numpy import load_file
    from transformers import AutoModel, AutoModelForMaskedLM

    path = os.path.abspath(args.check_saved)  # a relative name would be taken for a Hub id
    archs = json.load(open(os.path.join(path, "config.json"))).get("architectures") or []
    auto = AutoModelForMaskedLM if "ModernBertForMaskedLM" in archs else AutoModel
    model, info = auto.from_pretrained(path, output_loading_info=True, attn_implementation="eager")
    problems = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if problems:
        print(f"transformers loading {path}: {problems}")
        return 1
    print(f"transformers: {type(model).__name__} loaded from {path} with no missing or unexpected tensors")
    rows = [json.loads(line) for line in open(args.texts) if line.strip()]
    # As the encode command reads them: a title is joined before the text.
    texts = [f"{r['title']} {r['text']}" if r.get("title") else r["text"] for r in rows]
    if not os.path.exists(os.path.join(path, "modules.json")):
        print("no modules.json: a plain transformers folder, loading was the check")
        return 0
    expect = load_file(args.expect)
    modules = json.load(open(os.path.join(path, "modules.json")))
    is_colbert = any("pylate" in m["type"] for m in modules)
    if is_colbert:
        from pylate import models as pylate_models

        colbert = pylate_models.ColBERT(path, model_kwargs={"attn_implementation": "eager"}, device="cpu").eval()
        golden: dict[str, np.ndarray] = {}
        colbert_outputs(colbert, texts, args.role == "query", "x", golden)
        ours, mask = expect["embeddings"], expect["mask"].astype(bool)
        ref_mask = golden["x.mask"].astype(bool)
        worst = 0.0
        for i in range(len(texts)):
            a = ours[i][mask[i]]
            b = golden["x.embeddings"][i][ref_mask[i]]
            if a.shape != b.shape:
                print(f"text {i}: {a.shape[0]} scored tokens here, {b.shape[0]} in PyLate")
                return 1
            worst = max(worst, max_rel(a, b))
    else:
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(path, device="cpu", model_kwargs={"attn_implementation": "eager"})
        prompt = "query" if args.role == "query" and "query" in st.prompts else None
        ref = st.encode(texts, prompt_name=prompt, convert_to_numpy=True)
        worst = max_rel(expect["embeddings"], ref)
    print(f"{'PyLate ColBERT' if is_colbert else 'sentence-transformers'}: max rel error vs TypeScript output {worst:.2e}")
    return 0 if worst <= 1e-4 else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", help="folder with the ModernBERT tokenizer.json")
    ap.add_argument("--out", default="test/fixtures/models")
    ap.add_argument("--check-saved", help="a model folder written by the TypeScript code")
    ap.add_argument("--texts", help="JSONL with {_id, text} lines (for --check-saved)")
    ap.add_argument("--as", dest="role", choices=["query", "document"], default="query")
    ap.add_argument("--expect", help="the TypeScript encode output (safetensors) for --check-saved")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.check_saved:
        if not os.path.exists(os.path.join(args.check_saved, "modules.json")):
            args.texts = args.texts or os.devnull
        elif not (args.texts and args.expect):
            ap.error("--check-saved needs --texts and --expect")
        return check_saved(args)
    if not args.tokenizer:
        ap.error("--tokenizer is required to write fixtures")
    make(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
