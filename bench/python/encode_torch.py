"""Peer for bench/encode.ts: ColBERT encoding throughput in PyTorch, same model shape, random weights.

transformers' ModernBertModel (sdpa attention, its CPU default) + a bias-free Linear projection + per-token
L2 normalisation, under torch.no_grad(). Prints one JSON line: best seconds over `repeats` forward passes
of a [n, length] batch of random ids (all attended), after one warm-up.
Usage: encode_torch.py CONFIG_JSON N LENGTH DIM REPEATS THREADS
       encode_torch.py matmul M K N REPEATS THREADS   (best seconds of one float32 [M,K]·[K,N] product)
"""
import json
import sys

import torch
from transformers import ModernBertConfig, ModernBertModel

from timing import best_seconds


def matmul(m: int, k: int, n: int, repeats: int) -> float:
    a, b = torch.randn(m, k), torch.randn(k, n)
    return best_seconds(lambda: a @ b, repeats)


def main() -> None:
    if sys.argv[1] == "matmul":
        m, k, n, repeats, threads = (int(x) for x in sys.argv[2:7])
        torch.set_num_threads(threads)
        print(json.dumps({"seconds": matmul(m, k, n, repeats), "threads": torch.get_num_threads()}))
        return
    config_file, n, length, dim, repeats, threads = sys.argv[1:7]
    n, length, dim, repeats, threads = int(n), int(length), int(dim), int(repeats), int(threads)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    config = ModernBertConfig(**json.load(open(config_file)))
    model = ModernBertModel(config).eval()
    proj = torch.nn.Linear(config.hidden_size, dim, bias=False)
    ids = torch.randint(0, config.vocab_size, (n, length))
    mask = torch.ones(n, length, dtype=torch.long)

    def run():
        with torch.no_grad():
            h = model(input_ids=ids, attention_mask=mask).last_hidden_state
            return torch.nn.functional.normalize(proj(h), p=2, dim=-1)

    print(json.dumps({"seconds": best_seconds(run, repeats), "attn": model.config._attn_implementation, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
