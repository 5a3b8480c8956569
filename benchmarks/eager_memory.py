"""Memory and speed of eager calls over many distinct schedule values (issue 18).

``python benchmarks/eager_memory.py 500``: calls 500 distinct ``cosine_annealing`` values once
each (a sweep or logging loop that rebuilds its schedule), and prints the process's resident
memory growth after ``gc.collect()`` and after ``jax.clear_caches()``; then the per-call time of an
eager call with the value read against a bare ``float(jax.jit(f)(t))``, and the first 20 calls of
a fresh schedule. Linux only (reads /proc/self/statm).
"""

from __future__ import annotations

import gc
import statistics
import sys
import time

import jax

import jaxsched as js


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def per_call_us(fn, n: int = 2000) -> float:
    start = time.perf_counter()
    for i in range(n):
        float(fn(i))
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    float(js.constant(1.0)(1))
    base = rss_mb()
    for i in range(count):
        float(js.cosine_annealing(0.1 + i * 1e-6, 1000)(10))
    gc.collect()
    print(f"{count} distinct schedules called once: +{rss_mb() - base:.0f} MB")
    jax.clear_caches()
    gc.collect()
    print(f"after jax.clear_caches(): +{rss_mb() - base:.0f} MB")
    s = js.warmup(js.cosine_annealing(1e-3, 9000, 1e-5), 1000)
    start = time.perf_counter()
    for i in range(20):
        float(s(i))
    first = time.perf_counter() - start
    bare = jax.jit(lambda t: t * 1.0 + 1.0)
    float(bare(1))
    ours, floor = [], []
    for _ in range(5):
        ours.append(per_call_us(s))
        floor.append(per_call_us(bare))
    print(f"first 20 calls of a fresh warmup + cosine: {first:.3f} s; eager call with the value "
          f"read: {statistics.median(ours):.1f} us, bare jit: {statistics.median(floor):.1f} us")


if __name__ == "__main__":
    main()
