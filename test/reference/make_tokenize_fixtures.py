"""Golden fixtures for tokenization and safetensors / checkpoint IO, produced by the reference Python libraries.

  1. PyLate's own ColBERT.tokenize (and the batches its encode builds with prompt names) on the ModernBERT
     tokenizer and on the tiny WordPiece tokenizer of lib/tokenize/tiny.ts: markers, query expansion,
     attention to expansion tokens, truncation, no markers, custom skiplist, ColBERT-Zero prompts and
     lengths, pad=True as in training; plus the scoring masks PyLate computes (skiplist_mask AND
     attention for documents; all ones / attention for queries). PyLate needs a model folder: 1-layer
     ModernBERT / BERT models with random weights are written to a temporary folder next to the
     tokenizer files, so nothing is downloaded (HF_HUB_OFFLINE=1).
  2. sentence-transformers' tokenization inside encode for a dense model with prompts.
  3. The tiny tokenizer loaded by Python `tokenizers` and `transformers`: their ids for a few texts.
  4. safetensors: a golden file written by Python `safetensors` (F32, F16, BF16, I64, I32); a file written
     by lib/models/safetensors.ts read back by Python (values; TS's float16/bfloat16 rounding vs torch's);
     a PyLate Dense folder written here loaded by PyLate; the small files of a folder PyLate saved; a
     sharded checkpoint written here loaded by transformers' from_pretrained.

Run from the project root:  "$(test/reference/venv.sh --python)" test/reference/make_tokenize_fixtures.py
Writes test/fixtures/tokenize/*.json and test/fixtures/safetensors/*; a re-run rewrites identical files.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("CZ_SHARED_DATA") or os.path.join(ROOT, "..", "shared", "data")
MODERNBERT = os.path.join(SHARED, "tokenizers", "modernbert")
FIX_TOK = os.path.join(ROOT, "test", "fixtures", "tokenize")
FIX_ST = os.path.join(ROOT, "test", "fixtures", "safetensors")


def versions():
    import pylate
    import safetensors
    import sentence_transformers
    import tokenizers
    import transformers

    return {
        "pylate": pylate.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "safetensors": safetensors.__version__,
        "torch": torch.__version__.split("+")[0],
    }


def dump(path, obj):
    """JSON with one top-level key (and one list item) per line: readable diffs, small files."""
    lines = []
    for k, v in obj.items():
        if isinstance(v, list):
            items = ",\n  ".join(json.dumps(x, ensure_ascii=False, separators=(",", ":")) for x in v)
            lines.append(f"{json.dumps(k)}: [\n  {items}\n ]")
        elif isinstance(v, dict):
            items = ",\n  ".join(f"{json.dumps(a)}: {json.dumps(b, ensure_ascii=False, separators=(',', ':'))}" for a, b in v.items())
            lines.append(f"{json.dumps(k)}: {{\n  {items}\n }}")
        else:
            lines.append(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}")
    with open(path, "w", encoding="utf8") as f:
        f.write("{\n " + ",\n ".join(lines) + "\n}\n")
    json.load(open(path, encoding="utf8"))  # still valid JSON
    print("wrote", os.path.relpath(path, ROOT))


# ---------------------------------------------------------------- 1. PyLate ColBERT tokenization

QUERIES = [
    "What is ColBERT?",
    "   leading and trailing spaces\t\n",
    "a",
    "",
    "Mr. O'Neill-McPherson's co-workers @ ABC.com [and] {Dr. J.R.R. Martin-Smith}",
    "how do late interaction retrieval models compare with single vector dense retrievers when the "
    "queries are long, detailed and full of rare technical words such as hyperparameter and tokenization?",
    "text with a literal [Q] marker and [D] inside",
    "naïve café – “quotes” 日本語 emoji 🙂",
]

DOCUMENTS = [
    "ColBERT is a late-interaction retrieval model: every token gets its own vector!",
    "  Punctuation, punctuation; punctuation... (and more): \"quoted\" 'single' #hash $dollar %percent & * + - / < = > ? @ [ ] ^ _ ` { | } ~  ",
    "",
    "Short.",
    " ".join(
        f"Sentence {i} talks about multi-vector retrieval, pre-training, distillation and prompts."
        for i in range(30)
    ),
    "Unicode: naïve café – “quotes” 日本語 emoji 🙂, and a [D] marker in the text.",
]

PROMPTS = {"query": "search_query: ", "document": "search_document: "}

CONFIGS = [
    ("default", {}),
    ("no_expansion", {"do_query_expansion": False}),
    ("attend_expansion", {"attend_to_expansion_tokens": True}),
    ("short", {"query_length": 8, "document_length": 12}),
    ("no_markers", {"query_prefix": "", "document_prefix": ""}),
    ("custom_skiplist", {"skiplist_words": ["the", ".", "Ġthe", "not-a-token"], "query_length": 16, "document_length": 24}),
    # ColBERT-Zero's "+Length" setting: 32 + 7 and 180 + 7 (the paper uses 512 + 7 for documents).
    ("prompt_lengths", {"query_length": 39, "document_length": 187}),
]

# The same on the tiny WordPiece tokenizer (BERT normalizer: lowercasing, accents kept, CJK split).
TINY_CONFIGS = [
    ("default", {}),
    ("short", {"query_length": 8, "document_length": 12, "do_query_expansion": False}),
]


def make_modernbert_dir(d):
    """A 1-layer ModernBERT with random weights beside the shared ModernBERT tokenizer files."""
    from transformers import ModernBertConfig, ModernBertModel

    cfg = json.load(open(os.path.join(MODERNBERT, "config.ModernBERT-large.json")))
    cfg.update(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2)
    cfg.pop("architectures", None)
    torch.manual_seed(0)
    ModernBertModel(ModernBertConfig(**cfg)).save_pretrained(d)
    for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(os.path.join(MODERNBERT, f), d)


def make_tiny_bert_dir(d):
    """A 1-layer BERT with random weights beside the tiny WordPiece tokenizer built by lib/tokenize/tiny.ts."""
    from transformers import BertConfig, BertModel

    run_ts("tiny-tokenizer", d, "4096")
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=4096, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    BertModel(cfg).save_pretrained(d)


def setting_summary(model):
    return {
        "config": {
            "query_prefix": model.query_prefix,
            "document_prefix": model.document_prefix,
            "query_length": model.query_length,
            "document_length": model.document_length,
            "do_query_expansion": model.do_query_expansion,
            "attend_to_expansion_tokens": model.attend_to_expansion_tokens,
            "skiplist_words": model.skiplist_words,
        },
        "query_prefix_id": model.query_prefix_id,
        "document_prefix_id": model.document_prefix_id,
        "pad_token_id": model.tokenizer.pad_token_id,
        "skiplist_ids": model.skiplist,
        "len_tokenizer": len(model.tokenizer),
    }


def pylate_masks(model, role, ids, att):
    """The scoring masks PyLate's encode and losses use."""
    if role == "query":
        return torch.ones_like(ids, dtype=torch.bool) if model.do_query_expansion else att.bool()
    return torch.logical_and(model.skiplist_mask(ids, model.skiplist), att)


def case(model, setting, role, pad, prompt, texts, out, source="tokenize"):
    ids, att = out["input_ids"], out["attention_mask"]
    return {
        "setting": setting,
        "source": source,
        "role": role,
        "pad": pad,
        "prompt": prompt,
        "texts": texts,
        "input_ids": ids.tolist(),
        "attention_mask": att.tolist(),
        "scoring_mask": pylate_masks(model, role, ids, att).int().tolist(),
    }


def capture_encode(model, texts, role, prompt_name):
    """Runs PyLate's encode with a prompt name and records the batch its tokenize call produced.
    encode sorts texts by length; the recorded texts are that order, without the prompt."""
    seen = []
    orig = model.tokenize

    def spy(texts, *args, **kwargs):
        out = orig(texts, *args, **kwargs)
        seen.append((list(texts), {k: v.clone() for k, v in out.items() if torch.is_tensor(v)}))
        return out

    model.tokenize = spy
    try:
        model.encode(texts, is_query=role == "query", prompt_name=prompt_name, batch_size=len(texts))
    finally:
        model.tokenize = orig
    batch, out = seen[-1]  # the last call is the batch (a first call may tokenize the prompt alone)
    prompt = model.prompts[prompt_name]
    assert all(b.startswith(prompt) for b in batch)
    return [b[len(prompt):] for b in batch], out, prompt


def colbert_fixtures(tmp, name, model_dir, configs, out_file):
    from pylate import models

    cases = []
    settings = {}
    for setting, kwargs in configs:
        model = models.ColBERT(model_name_or_path=model_dir, device="cpu", prompts=PROMPTS, **kwargs)
        settings[setting] = setting_summary(model)
        prompt_modes = [None, "colbert_zero"] if setting in ("default", "prompt_lengths") else [None]
        for prompt_mode in prompt_modes:
            for role, texts in (("query", QUERIES), ("document", DOCUMENTS)):
                prompt = PROMPTS[role] if prompt_mode else None
                inputs = [prompt + t for t in texts] if prompt else texts
                for pad in (False, True):
                    out = model.tokenize(inputs, is_query=role == "query", pad=pad)
                    cases.append(case(model, setting, role, pad, prompt, texts, out))
        if setting == "default":
            for role in ("query", "document"):
                texts, out, prompt = capture_encode(model, QUERIES if role == "query" else DOCUMENTS, role, role)
                cases.append(case(model, setting, role, False, prompt, texts, out, source="encode"))
        if setting == "prompt_lengths" and name == "modernbert":
            save_pylate_layout(model, tmp)
    dump(os.path.join(FIX_TOK, out_file), {
        "about": f"PyLate ColBERT.tokenize (and encode's batches) on the {name} tokenizer; made by test/reference/make_tokenize_fixtures.py",
        "versions": versions(),
        "tokenizer": name,
        "prompts": PROMPTS,
        "settings": settings,
        "cases": cases,
    })


def dense_fixture(tmp, model_dir):
    """sentence-transformers' own tokenization for a dense model with prompts (captured inside encode)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Pooling, Transformer

    cases = []
    for max_len in (12, 64):
        tr = Transformer(model_dir, max_seq_length=max_len)
        model = SentenceTransformer(modules=[tr, Pooling(16, "mean")], prompts=PROMPTS, device="cpu")
        for role, texts in (("query", QUERIES), ("document", DOCUMENTS)):
            for prompt_name in (role, None):
                seen = []
                orig = model.tokenize

                def spy(texts, *args, **kwargs):
                    out = orig(texts, *args, **kwargs)
                    seen.append((list(texts), out))
                    return out

                model.tokenize = spy
                model.encode(texts, prompt_name=prompt_name, batch_size=len(texts))
                model.tokenize = orig
                batch, out = seen[-1]
                prompt = PROMPTS[role] if prompt_name else ""
                cases.append({
                    "max_seq_length": max_len,
                    "role": role,
                    "prompt": prompt or None,
                    "texts": [b[len(prompt):] for b in batch],
                    "input_ids": out["input_ids"].tolist(),
                    "attention_mask": out["attention_mask"].tolist(),
                })
    dump(os.path.join(FIX_TOK, "sentence_transformers_dense_modernbert.json"), {
        "about": "sentence-transformers tokenization inside encode (prompt + text, strip, truncation, padding); made by test/reference/make_tokenize_fixtures.py",
        "versions": versions(),
        "pad_token_id": model.tokenizer.pad_token_id,
        "cases": cases,
    })


LAYOUT_FILES = ["modules.json", "sentence_bert_config.json", "config_sentence_transformers.json", "config.json",
                os.path.join("1_Dense", "config.json"), os.path.join("1_Dense", "model.safetensors")]


def save_pylate_layout(model, tmp):
    """The small files of a folder saved by PyLate (everything but the transformer weights and tokenizer)."""
    saved = os.path.join(tmp, "saved")
    model.save(saved)
    out = os.path.join(FIX_ST, "pylate_layout")
    shutil.rmtree(out, ignore_errors=True)
    for f in LAYOUT_FILES:
        os.makedirs(os.path.dirname(os.path.join(out, f)), exist_ok=True)
        shutil.copy(os.path.join(saved, f), os.path.join(out, f))
    w = model[1].linear.weight.detach()
    dump(os.path.join(FIX_ST, "pylate_layout.json"), {
        "about": "what PyLate saved in pylate_layout/ (its Dense weight, by rows); made by test/reference/make_tokenize_fixtures.py",
        "versions": versions(),
        "dense_weight_shape": list(w.shape),
        "dense_weight_row0": w[0].tolist(),
        "dense_weight_sum": float(w.double().sum()),
        "files": sorted(LAYOUT_FILES),
    })


def ts_dense_check(tmp):
    """A Dense module folder written by lib/models/checkpoint-files.ts, loaded by PyLate's Dense.load."""
    from pylate.models import Dense

    d = os.path.join(tmp, "ts_dense")
    run_ts("dense", d)
    layer = Dense.load(d)
    x = torch.arange(4, dtype=torch.float32).reshape(1, 4) / 4
    y = layer({"token_embeddings": x})["token_embeddings"]
    dump(os.path.join(FIX_ST, "ts_dense_check.json"), {
        "about": "Dense folder written by test/reference/ts_writers.ts (dense) as PyLate loads it; y = layer(x), x = [0, .25, .5, .75]",
        "versions": versions(),
        "in_features": layer.in_features,
        "out_features": layer.out_features,
        "bias": layer.linear.bias is not None,
        "weight": layer.linear.weight.detach().tolist(),
        "y": y.detach().flatten().tolist(),
    })


# ---------------------------------------------------------------- 2. tiny tokenizer

TINY_TEXTS = [
    "Hello, World! unaffable naïve café",
    "The quick brown fox jumps over the lazy dog.",
    "ColBERT-Zero: to pre-train or not to pre-train?",
    "日本語 text with CJK and accents: Ångström, façade",
    "  spaces\tand\nnewlines  ",
    "",
]


def run_ts(*args):
    subprocess.run(["node", "--import", "tsx", os.path.join("test", "reference", "ts_writers.ts"), *args], cwd=ROOT, check=True)


def tiny_fixture(tmp):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    out = {"about": "ids of the tiny tokenizer (lib/tokenize/tiny.ts) as Python loads it", "versions": versions(), "sizes": {}}
    for size in (4096, 30522):
        d = os.path.join(tmp, f"tiny-{size}")
        run_ts("tiny-tokenizer", d, str(size))
        raw = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        auto = AutoTokenizer.from_pretrained(d, local_files_only=True)
        ids_raw = [raw.encode(t).ids for t in TINY_TEXTS]
        ids_auto = [auto(t)["input_ids"] for t in TINY_TEXTS]
        assert ids_raw == ids_auto, "tokenizers and transformers disagree"
        out["sizes"][str(size)] = {
            "len_tokenizer": len(auto),
            "special_ids": {k: getattr(auto, k) for k in ("cls_token_id", "sep_token_id", "pad_token_id", "mask_token_id", "unk_token_id")},
            "texts": TINY_TEXTS,
            "input_ids": ids_auto,
            "truncated_8": [auto(t, truncation=True, max_length=8)["input_ids"] for t in TINY_TEXTS],
        }
    dump(os.path.join(FIX_TOK, "tiny_tokenizer.json"), out)


# ---------------------------------------------------------------- 3. safetensors


def golden_safetensors():
    from safetensors.torch import save_file

    tensors = {
        "f32": torch.tensor([[1.0, -2.0, 0.5], [3.25, -0.0, 1e-7]], dtype=torch.float32),
        "f16": torch.tensor([1.0, -2.0, 0.1, 65504.0, 6.0e-8, float("inf"), float("-inf"), 1 / 3], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -2.0, 0.1, 3.0e38, 1.0e-38, float("inf"), 1 / 3, -7.5], dtype=torch.bfloat16),
        "i64": torch.tensor([[0, 1, -1], [50283, 2**40, -(2**40)]], dtype=torch.int64),
        "i32": torch.tensor([7, -7, 2**31 - 1], dtype=torch.int32),
        "scalar": torch.tensor(2.5, dtype=torch.float32),
    }
    path = os.path.join(FIX_ST, "golden.safetensors")
    save_file(tensors, path, metadata={"format": "pt", "note": "golden"})
    print("wrote", os.path.relpath(path, ROOT))
    expected = {}
    for k, t in tensors.items():
        vals = t.float().flatten().tolist() if t.is_floating_point() else [str(v) for v in t.flatten().tolist()]
        bits = t.view(torch.int16).flatten().tolist() if t.dtype in (torch.float16, torch.bfloat16) else None
        expected[k] = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape), "values": [_num(v) for v in vals]}
        if bits is not None:
            expected[k]["bits"] = [b & 0xFFFF for b in bits]
    dump(os.path.join(FIX_ST, "golden.json"), {
        "about": "tensors in golden.safetensors, written by Python safetensors; made by test/reference/make_tokenize_fixtures.py",
        "versions": versions(),
        "metadata": {"format": "pt", "note": "golden"},
        "tensors": expected,
    })


def _num(v):
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return str(v)
    return v


def ts_written_check(tmp):
    from safetensors import safe_open

    path = os.path.join(tmp, "ts.safetensors")
    run_ts("safetensors", path)
    data = open(path, "rb").read()
    read = {}
    with safe_open(path, framework="pt") as f:
        metadata = f.metadata()
        for k in f.keys():
            t = f.get_tensor(k)
            entry = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape)}
            if t.is_floating_point():
                entry["values"] = [_num(v) for v in t.float().flatten().tolist()]
            else:
                entry["values"] = [str(v) for v in t.flatten().tolist()]
            if t.dtype in (torch.float16, torch.bfloat16):
                # Does TS's rounding equal torch's float32 -> half conversion of the same float32 inputs?
                src = torch.tensor(SAMPLE_F32[k], dtype=torch.float32).reshape(t.shape).to(t.dtype)
                entry["torch_rounding_equal"] = bool(torch.equal(src.view(torch.int16), t.view(torch.int16)))
            read[k] = entry
    dump(os.path.join(FIX_ST, "ts_written_check.json"), {
        "about": "a file written by lib/models/safetensors.ts (test/reference/ts_writers.ts sampleTensors) as Python safetensors reads it",
        "versions": versions(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "metadata": metadata,
        "tensors": read,
    })


def ts_sharded_check(tmp, modernbert_dir):
    """A sharded checkpoint written by lib/models/safetensors.ts for a tiny ModernBERT's parameter names,
    loaded by transformers' from_pretrained; every parameter must hold the pattern TS wrote."""
    from transformers import ModernBertModel

    ref = ModernBertModel.from_pretrained(modernbert_dir)
    shapes = {k: list(v.shape) for k, v in ref.state_dict().items()}
    d = os.path.join(tmp, "ts_sharded")
    os.makedirs(d)
    shutil.copy(os.path.join(modernbert_dir, "config.json"), d)
    spec = os.path.join(tmp, "spec.json")
    json.dump({"shapes": shapes, "maxShardBytes": 400_000}, open(spec, "w"))
    out = subprocess.run(["node", "--import", "tsx", os.path.join("test", "reference", "ts_writers.ts"), "sharded", d, spec],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    files = json.loads(out.strip().splitlines()[-1])
    loaded = ModernBertModel.from_pretrained(d)
    sd = loaded.state_dict()
    worst = 0.0
    for k, name in enumerate(sorted(shapes)):
        j = torch.arange(sd[name].numel(), dtype=torch.int64)
        want = (((j * 7 + k * 13) % 101) - 50).to(torch.float32) / 100
        worst = max(worst, float((sd[name].flatten().float() - want).abs().max()) if sd[name].numel() else 0.0)
    index = json.load(open(os.path.join(d, "model.safetensors.index.json")))
    dump(os.path.join(FIX_ST, "ts_sharded_check.json"), {
        "about": "sharded checkpoint written by test/reference/ts_writers.ts (sharded) for a tiny ModernBERT, loaded by transformers from_pretrained",
        "versions": versions(),
        "shapes": shapes,
        "maxShardBytes": 400_000,
        "files": files,
        "weight_map": index["weight_map"],
        "total_size": index["metadata"]["total_size"],
        "loaded_parameters": len(sd),
        "max_abs_diff": worst,
    })


# Float32 inputs of the F16/BF16 sample tensors in ts_writers.ts (rounded to float32 as JS does).
SAMPLE_F32 = {
    "half.values": np.float32([1 / 3, -2.5, 6e-8, 1e-5, 70000, 0.1]).tolist(),
    "brain.values": np.float32([1 / 3, -2.5, 1e-30, 3e38, 0.1]).tolist(),
}


def main():
    if not os.path.isdir(MODERNBERT):
        sys.exit(f"shared ModernBERT tokenizer not found ({MODERNBERT}); set CZ_SHARED_DATA")
    os.makedirs(FIX_TOK, exist_ok=True)
    os.makedirs(FIX_ST, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        modernbert = os.path.join(tmp, "modernbert-tiny")
        make_modernbert_dir(modernbert)
        colbert_fixtures(tmp, "modernbert", modernbert, CONFIGS, "pylate_colbert_modernbert.json")
        tiny_bert = os.path.join(tmp, "bert-tiny")
        make_tiny_bert_dir(tiny_bert)
        colbert_fixtures(tmp, "tiny-wordpiece-4096", tiny_bert, TINY_CONFIGS, "pylate_colbert_tiny.json")
        dense_fixture(tmp, modernbert)
        tiny_fixture(tmp)
        golden_safetensors()
        ts_written_check(tmp)
        ts_dense_check(tmp)
        ts_sharded_check(tmp, modernbert)


if __name__ == "__main__":
    main()
