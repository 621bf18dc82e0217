"""PyTorch peer for bench/train.ts: the same tiny ColBERT model (loaded from the folder the TypeScript
benchmark saved: ModernBERT backbone + Dense projection), the same batch shapes, the same step
(in-batch InfoNCE over MaxSim scores / temperature, AdamW), on CPU with a given number of threads.
Prints one JSON line: examples per second over the timed steps.

usage: train_torch.py MODEL_DIR BATCH QUERY_LEN DOC_LEN STEPS THREADS
"""
import json
import os
import sys
import time

import torch
from safetensors.torch import load_file
from transformers import AutoModel

model_dir, batch, lq, ld, steps, threads = sys.argv[1], *map(int, sys.argv[2:7])
torch.set_num_threads(threads)
torch.manual_seed(0)

backbone = AutoModel.from_pretrained(model_dir, attn_implementation="sdpa")
dense_dir = os.path.join(model_dir, "1_Dense")
dense = load_file(os.path.join(dense_dir, "model.safetensors"))
proj = torch.nn.Linear(backbone.config.hidden_size, dense["linear.weight"].shape[0], bias=False)
proj.weight.data.copy_(dense["linear.weight"])
params = list(backbone.parameters()) + list(proj.parameters())
opt = torch.optim.AdamW(params, lr=1e-4)
backbone.train()

vocab = backbone.config.vocab_size
q_ids = torch.randint(5, vocab, (batch, lq))
d_ids = torch.randint(5, vocab, (batch, ld))
q_mask = torch.ones(batch, lq, dtype=torch.long)
d_mask = torch.ones(batch, ld, dtype=torch.long)
labels = torch.arange(batch)


def embed(ids, mask):
    h = backbone(input_ids=ids, attention_mask=mask).last_hidden_state
    return torch.nn.functional.normalize(proj(h), dim=-1)


def step():
    q = embed(q_ids, q_mask)
    d = embed(d_ids, d_mask)
    sims = torch.einsum("qid,njd->qnij", q, d)  # [B, B, lq, ld]
    scores = sims.max(dim=3).values.sum(dim=2)
    loss = torch.nn.functional.cross_entropy(scores / 0.05, labels)
    loss.backward()
    opt.step()
    opt.zero_grad()
    return float(loss)


step()  # warm-up
t0 = time.perf_counter()
for _ in range(steps):
    step()
secs = time.perf_counter() - t0
print(json.dumps({"examplesPerSec": batch * steps / secs, "secondsPerStep": secs / steps, "threads": threads, "torch": torch.__version__}))
