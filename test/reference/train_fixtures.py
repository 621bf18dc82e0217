"""Reference values for the training losses and the optimiser, computed with PyTorch.

Writes test/fixtures/losses/losses.json (InfoNCE dense/ColBERT with hard negatives, distillation with and
without PyLate's student min-max normalisation, MLM cross-entropy; values and gradients) and
test/fixtures/train/adamw.json (torch.optim.AdamW steps with a linear warm-up/decay schedule and
global-norm clipping). Run: .venv-reference/bin/python test/reference/train_fixtures.py
"""
import json
import os

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(7)


def tolist(t):
    return t.detach().reshape(-1).tolist()


def normed(shape):
    x = torch.tensor(rng.standard_normal(shape))
    return x / x.norm(dim=-1, keepdim=True)


def maxsim_matrix(q, qm, d, dm):
    sim = torch.einsum("iad,jbd->iajb", q, d)
    sim = sim.masked_fill(dm[None, None, :, :] == 0, -1e4)
    return (sim.max(dim=3).values * qm[:, :, None]).sum(dim=1)


def info_nce(scores, n_docs, temperature):
    labels = torch.arange(scores.shape[0]) * n_docs
    return torch.nn.functional.cross_entropy(scores / temperature, labels, reduction="mean")


def mask(n, length, min_len):
    m = torch.zeros(n, length)
    for i in range(n):
        m[i, : int(rng.integers(min_len, length + 1))] = 1
    return m


out = {}

# InfoNCE, dense (cosine similarity, as sentence-transformers): 3 queries, 1 positive + 2 negatives each (9 documents), learnable log-temperature.
B, N, D = 3, 3, 5
q = torch.tensor(rng.standard_normal((B, D))).requires_grad_()
d = torch.tensor(rng.standard_normal((B * N, D))).requires_grad_()
log_t = torch.tensor(np.log(0.05)).requires_grad_()
loss = info_nce(torch.nn.functional.normalize(q, dim=-1) @ torch.nn.functional.normalize(d, dim=-1).T, N, log_t.exp())
loss.backward()
out["infonce_dense"] = dict(B=B, N=N, D=D, q=tolist(q), d=tolist(d), logTemperature=float(log_t), loss=float(loss),
                            gradQ=tolist(q.grad), gradD=tolist(d.grad), gradLogTemperature=float(log_t.grad))

# InfoNCE, ColBERT (MaxSim with masks), fixed temperature 0.02.
Lq, Ld = 4, 6
qc = normed((B, Lq, D)).requires_grad_()
dc = normed((B * N, Ld, D)).requires_grad_()
qm, dm = mask(B, Lq, 2), mask(B * N, Ld, 2)
loss = info_nce(maxsim_matrix(qc, qm, dc, dm), N, 0.02)
loss.backward()
out["infonce_colbert"] = dict(B=B, N=N, D=D, Lq=Lq, Ld=Ld, q=tolist(qc), d=tolist(dc), qMask=tolist(qm), dMask=tolist(dm),
                              temperature=0.02, loss=float(loss), gradQ=tolist(qc.grad), gradD=tolist(dc.grad))

# Distillation (PyLate's Distillation: KLDivLoss(batchmean, log_target) of log-softmaxes; student min-max normalised).
n = 4
qk = normed((B, Lq, D)).requires_grad_()
dk = normed((B * n, Ld, D)).requires_grad_()
qkm, dkm = mask(B, Lq, 2), mask(B * n, Ld, 2)
teacher = torch.tensor(rng.standard_normal((B, n)) * 3)
for normalize in (True, False):
    qk.grad = None
    dk.grad = None
    s = torch.stack([maxsim_matrix(qk[i:i + 1], qkm[i:i + 1], dk[i * n:(i + 1) * n], dkm[i * n:(i + 1) * n])[0] for i in range(B)])
    if normalize:
        mx, mn = s.max(dim=1, keepdim=True).values, s.min(dim=1, keepdim=True).values
        s = (s - mn) / (mx - mn + 1e-8)
    kl = torch.nn.KLDivLoss(reduction="batchmean", log_target=True)
    loss = kl(torch.log_softmax(s, -1), torch.log_softmax(teacher, -1))
    loss.backward()
    out["distillation_colbert_" + ("normalized" if normalize else "raw")] = dict(
        B=B, n=n, D=D, Lq=Lq, Ld=Ld, q=tolist(qk), d=tolist(dk), qMask=tolist(qkm), dMask=tolist(dkm),
        teacher=tolist(teacher), normalize=normalize, loss=float(loss), gradQ=tolist(qk.grad), gradD=tolist(dk.grad))

# MLM cross-entropy at selected positions.
M, V = 5, 11
logits = torch.tensor(rng.standard_normal((M, V)) * 2).requires_grad_()
targets = torch.tensor(rng.integers(0, V, M))
loss = torch.nn.functional.cross_entropy(logits, targets)
loss.backward()
out["mlm"] = dict(M=M, V=V, logits=tolist(logits), targets=targets.tolist(), loss=float(loss), gradLogits=tolist(logits.grad))

with open(os.path.join(ROOT, "test/fixtures/losses/losses.json"), "w") as f:
    json.dump(out, f)

# AdamW: two parameters, 5 steps, fixed gradients per step, lr warm-up 2 steps then linear decay over 6,
# clipping to global norm 1.0 (torch.nn.utils.clip_grad_norm_), weight decay 0.1 (decoupled).
torch.set_default_dtype(torch.float32)
p1 = torch.nn.Parameter(torch.tensor(rng.standard_normal((2, 3)), dtype=torch.float32))
p2 = torch.nn.Parameter(torch.tensor(rng.standard_normal(4), dtype=torch.float32))
init = [tolist(p1), tolist(p2)]
opt = torch.optim.AdamW([p1, p2], lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
total, warmup = 6, 2
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))
grads, lrs, norms = [], [], []
for step in range(5):
    g1 = torch.tensor(rng.standard_normal((2, 3)), dtype=torch.float32)
    g2 = torch.tensor(rng.standard_normal(4), dtype=torch.float32)
    grads.append([tolist(g1), tolist(g2)])
    p1.grad, p2.grad = g1.clone(), g2.clone()
    norms.append(float(torch.nn.utils.clip_grad_norm_([p1, p2], 1.0)))
    lrs.append(opt.param_groups[0]["lr"])
    opt.step()
    sched.step()
with open(os.path.join(ROOT, "test/fixtures/train/adamw.json"), "w") as f:
    json.dump(dict(lr=0.01, betas=[0.9, 0.999], eps=1e-8, weightDecay=0.1, warmup=warmup, total=total, clip=1.0,
                   init=init, grads=grads, lrs=lrs, norms=norms, final=[tolist(p1), tolist(p2)]), f)
print("wrote fixtures")
