"""The benchmarks' one timer: best wall-clock seconds of `f` over `repeats` calls, after `warmup` untimed ones."""
import time


def best_seconds(f, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        f()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best
