"""Gradients of one training step of a small ModernBERT ColBERT, by PyTorch autograd.

The model is the PyLate fixture (test/fixtures/models/colbert: 3 layers, hidden 32, global and sliding
attention, projection 32 -> 16), loaded with transformers' eager attention. Queries and documents are
tokenized by PyLate (markers, [MASK] query expansion, skiplist), and the step is written out in torch:

  embeddings  e = normalize(ModernBertModel(ids, attention_mask).last_hidden_state @ W.T)
  MaxSim      score(q, d) = sum over scored query tokens of max over scored document tokens of q_i . d_j
              (a masked document token never wins: it gets -1e9 added, as lib/scores does)
  infonce     3 queries, each with its positive and one hard negative (query-major), every query against
              all 6 documents, cross-entropy of scores / exp(log_tau), log_tau learnable (init log 0.05)
  kd          2 queries x 3 candidates, student scores min-max normalised per query, KL(teacher || student)
              averaged over queries (PyLate's Distillation loss)

and back-propagated by autograd in float32, as training runs (in float64, transformers' eager masks turn the
padding rows of a short document into NaN on sliding layers, where no key lies in the window). Writes
test/fixtures/train/step-gradients.safetensors: for each step the token ids and masks PyLate produced, the
loss, and the gradient of every parameter (transformers names and layout; `colbert.projection` is
1_Dense's linear.weight [16, 32]; `log_temperature`). test/train-ort.test.ts compares the ONNX Runtime
training graphs with them.

Run: "$(test/reference/venv.sh --python)" test/reference/train_step_fixtures.py
"""
import json
import os

import numpy as np
import torch
from pylate import models as pylate_models
from safetensors.numpy import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "test", "fixtures", "models", "colbert")
OUT = os.path.join(ROOT, "test", "fixtures", "train", "step-gradients.safetensors")
MASK_FILL = -1e9

QUERIES = ["what is a rotary embedding", "late interaction", "why do cats sleep so much during the day?"]
DOCUMENTS = [
    "Rotary embeddings rotate query and key vectors by an angle that grows with the position.",
    "Absolute position embeddings add a learned vector to every token.",
    "ColBERT keeps one vector per token, and scores a document by summing, for each query token, its best match.",
    "Dense retrievers compress a text into one vector before comparing.",
    "Cats sleep.",
    "Dogs bark at the mail carrier, every single day, without fail.",
]
KD_QUERIES = QUERIES[:2]
KD_DOCUMENTS = DOCUMENTS[:3] + DOCUMENTS[2:5]
KD_TEACHER = [[9.0, 2.5, -1.0], [0.5, 7.0, 3.0]]


def features(model, texts, is_query):
    """Token ids, attention mask and scoring mask exactly as PyLate's encode builds them (padded)."""
    with torch.no_grad():
        out = model.encode(texts, is_query=is_query, output_value=None, batch_size=64, convert_to_numpy=False)
    L = max(len(x) for x in out["input_ids"])

    def pad(rows, value):
        res = np.full((len(rows), L), value, dtype=np.int64)
        for i, r in enumerate(rows):
            r = np.asarray(r.cpu() if torch.is_tensor(r) else r)
            res[i, : len(r)] = r
        return res

    pad_id = model.tokenizer.pad_token_id
    return pad(out["input_ids"], pad_id), pad(out["attention_mask"], 0), pad(out["masks"], 0)


def maxsim(q, qm, d, dm):
    """[nq, nd] scores; masked document tokens get MASK_FILL, masked query tokens add 0, empty documents score 0."""
    sims = torch.einsum("iad,jbd->iajb", q, d) + (1 - dm)[None, None, :, :] * MASK_FILL
    best = sims.max(dim=3).values * qm[:, :, None]
    return best.sum(dim=1) * (dm.max(dim=1).values > 0).to(q.dtype)[None, :]


def main():
    colbert = pylate_models.ColBERT(MODEL, model_kwargs={"attn_implementation": "eager"}, device="cpu")
    backbone = colbert[0].auto_model.train(False)
    proj = colbert[1].linear
    params = dict(backbone.named_parameters())
    params["colbert.projection"] = proj.weight

    def embed(ids, attention):
        h = backbone(input_ids=torch.as_tensor(ids), attention_mask=torch.as_tensor(attention)).last_hidden_state
        return torch.nn.functional.normalize(proj(h), dim=-1)

    out = {}
    meta = {}

    # InfoNCE over MaxSim, one hard negative, learnable temperature.
    q_ids, q_att, q_mask = features(colbert, QUERIES, True)
    d_ids, d_att, d_mask = features(colbert, DOCUMENTS, False)
    log_tau = torch.tensor(float(np.float32(np.log(0.05))), dtype=torch.float32, requires_grad=True)
    for p in params.values():
        p.grad = None
    scores = maxsim(embed(q_ids, q_att), torch.as_tensor(q_mask, dtype=torch.float32), embed(d_ids, d_att), torch.as_tensor(d_mask, dtype=torch.float32))
    loss = torch.nn.functional.cross_entropy(scores / log_tau.exp(), torch.arange(len(QUERIES)) * 2)
    loss.backward()
    for prefix, ids, att, mask in (("infonce.query", q_ids, q_att, q_mask), ("infonce.document", d_ids, d_att, d_mask)):
        out[f"{prefix}.input_ids"] = ids.astype(np.int32)
        out[f"{prefix}.attention_mask"] = att.astype(np.int32)
        out[f"{prefix}.scoring_mask"] = mask.astype(np.int32)
    out["infonce.loss"] = np.array([loss.item()], dtype=np.float32)
    out["infonce.grad.log_temperature"] = np.array([log_tau.grad.item()], dtype=np.float32)
    for name, p in params.items():
        out[f"infonce.grad.{name}"] = p.grad.detach().numpy().astype(np.float32)
    meta["infonce"] = {"queries": QUERIES, "documents": DOCUMENTS, "docs_per_query": 2, "temperature": 0.05}

    # Distillation: group MaxSim, student min-max normalisation, KL(teacher || student).
    q_ids, q_att, q_mask = features(colbert, KD_QUERIES, True)
    d_ids, d_att, d_mask = features(colbert, KD_DOCUMENTS, False)
    for p in params.values():
        p.grad = None
    q = embed(q_ids, q_att)
    d = embed(d_ids, d_att)
    qm = torch.as_tensor(q_mask, dtype=torch.float32)
    dm = torch.as_tensor(d_mask, dtype=torch.float32)
    student = torch.stack([maxsim(q[i : i + 1], qm[i : i + 1], d[3 * i : 3 * i + 3], dm[3 * i : 3 * i + 3])[0] for i in range(2)])
    mn = student.min(dim=1, keepdim=True).values
    mx = student.max(dim=1, keepdim=True).values
    s = (student - mn) / (mx - mn + 1e-8)
    teacher = torch.tensor(KD_TEACHER, dtype=torch.float32)
    loss = torch.nn.functional.kl_div(torch.log_softmax(s, dim=1), torch.log_softmax(teacher, dim=1), reduction="batchmean", log_target=True)
    loss.backward()
    for prefix, ids, att, mask in (("kd.query", q_ids, q_att, q_mask), ("kd.document", d_ids, d_att, d_mask)):
        out[f"{prefix}.input_ids"] = ids.astype(np.int32)
        out[f"{prefix}.attention_mask"] = att.astype(np.int32)
        out[f"{prefix}.scoring_mask"] = mask.astype(np.int32)
    out["kd.loss"] = np.array([loss.item()], dtype=np.float32)
    out["kd.teacher"] = np.array(KD_TEACHER, dtype=np.float32)
    for name, p in params.items():
        out[f"kd.grad.{name}"] = p.grad.detach().numpy().astype(np.float32)
    meta["kd"] = {"queries": KD_QUERIES, "documents": KD_DOCUMENTS, "candidates": 3}

    meta["versions"] = {"torch": torch.__version__, "pylate": __import__("pylate").__version__}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save_file(out, OUT, metadata={"texts": json.dumps(meta)})
    print(f"wrote {OUT}: infonce loss {out['infonce.loss'][0]:.6f}, kd loss {out['kd.loss'][0]:.6f}")


if __name__ == "__main__":
    main()
