"""Shapes: jaxsched against optax, side by side in one run, as ratios.

    python benchmarks/bench_shapes.py            # full run (about a minute on 2 CPU cores)
    python benchmarks/bench_shapes.py --quick    # fewer repetitions

1. The first 20 eager calls of a fresh schedule, compilation included, each in a fresh process.
2. Eager calls with a Python int (what a logging loop does every step), with and without reading
   the value (``float(s(step))``, what a logger does), in order and at random steps.
3. SGDR with 10 and 1000 cycles: jaxpr size, compile time, jitted call, 100k steps under jit.

Goals (issue 14): the first 20 calls cost <= 0.3 s in all; an eager call with the value read is
>= 15x cheaper than optax's warmup-cosine.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import optax

import jaxsched as js


def per_call_us(fn, args, repeats: int) -> float:
    """Median over `repeats` rounds of the mean time of one call over `args`, in µs."""
    for a in args[:3]:
        jax.block_until_ready(fn(a))
    rounds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for a in args:
            out = fn(a)
        jax.block_until_ready(out)
        rounds.append((time.perf_counter() - start) / len(args) * 1e6)
    return statistics.median(rounds)


def interleaved(ours, theirs, args, repeats: int, rounds: list | None = None):
    """Alternates the two measurements so that machine noise hits both alike; returns their
    medians, and appends each round's ratio (theirs / ours) to `rounds` if given."""
    a, b = [], []
    for _ in range(repeats):
        a.append(per_call_us(ours, args, 1))
        b.append(per_call_us(theirs, args, 1))
        if rounds is not None:
            rounds.append(b[-1] / a[-1])
    return statistics.median(a), statistics.median(b)


def ratio_verdict(rounds: list[float], goal: float) -> str:
    """The per-round ratios' median and quartiles against `goal`: met if the lower quartile
    reaches it, missed if the upper quartile does not, else not resolved."""
    low, mid, high = (statistics.quantiles(rounds, n=4) if len(rounds) > 1
                      else [rounds[0]] * 3)
    verdict = "met" if low >= goal else "missed" if high < goal else "not resolved"
    return f"{mid:.1f}x [quartiles {low:.1f}, {high:.1f}] -> {verdict}"


def optax_sgdr(max_lr: float, cycle_length: int, cycles: int):
    return optax.sgdr_schedule([
        dict(init_value=max_lr, peak_value=max_lr, decay_steps=cycle_length, warmup_steps=0,
             end_value=0.0)
        for _ in range(cycles)
    ])


FIRST_CALLS = """
import time
start = time.perf_counter()
import jaxsched as js
imported = time.perf_counter()
s = js.warmup(js.cosine_annealing(1e-3, 9_900), 100)
for i in range(20):
    float(s(i))
first = time.perf_counter()
s = js.warmup(js.cosine_annealing(2e-3, 9_900), 100)  # another schedule of the same structure
for i in range(20):
    float(s(i))
second = time.perf_counter()
print(imported - start, first - imported, second - first)
"""
# The control: the first jitted call of a fresh process, on the smallest function there is.
FIRST_JIT = """
import time
import jax
start = time.perf_counter()
jax.jit(lambda t: t + 1)(0).block_until_ready()
print(time.perf_counter() - start)
"""


def first_calls(processes: int) -> list[tuple[float, ...]]:
    """(import, first 20 calls, 20 calls of a second schedule, the control) in seconds, each
    from fresh processes (the control in a process of its own)."""
    out = []
    for _ in range(processes):
        times = []
        for script in (FIRST_CALLS, FIRST_JIT):
            result = subprocess.run([sys.executable, "-c", script], capture_output=True,
                                    text=True, check=True)
            times += [float(v) for v in result.stdout.split()]
        out.append(tuple(times))
    return out


def read(schedule):
    """An eager call as a logger makes it: the value read back as a Python float."""
    return lambda t: float(schedule(t))


def compile_seconds(fn, arg) -> float:
    start = time.perf_counter()
    jax.jit(fn).lower(arg).compile()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 5 if args.quick else 15
    steps = list(range(0, 2000, 7))

    print(f"jax {jax.__version__}, optax {optax.__version__}, backend {jax.default_backend()}")
    processes = 3 if args.quick else 7
    print(f"\n## The first 20 eager calls of a fresh schedule ({processes} fresh processes)\n")
    print("| process | import jaxsched (s) | first 20 calls (s) | 20 calls, second schedule (s) "
          "| control: first jit of `t + 1` (s) |")
    print("|---:|---:|---:|---:|---:|")
    firsts = first_calls(processes)
    for i, (imported, first, second, control) in enumerate(firsts):
        print(f"| {i + 1} | {imported:.2f} | {first:.3f} | {second:.3f} | {control:.3f} |")
    worst = max(f[1] for f in firsts)
    typical = statistics.median(f[1] for f in firsts)
    floor = statistics.median(f[3] for f in firsts)

    print("\n## Eager call with a Python int (µs per call; median of interleaved rounds)\n")
    print("| schedule | jaxsched | optax | optax / jaxsched | jaxsched, read | optax, read "
          "| optax / jaxsched, read |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    pairs = [
        ("warmup + cosine", js.warmup(js.cosine_annealing(1e-3, 9_900), 100),
         optax.warmup_cosine_decay_schedule(0.0, 1e-3, 100, 10_000)),  # the yardstick
        ("cosine decay", js.cosine_annealing(1e-3, 10_000),
         optax.cosine_decay_schedule(1e-3, 10_000)),
        ("linear", js.linear(0.0, 1e-3, 1000), optax.linear_schedule(0.0, 1e-3, 1000)),
        ("exponential decay", js.exponential_decay(1e-3, 0.99, 10),
         optax.exponential_decay(1e-3, 10, 0.99)),
        ("one-cycle (cos)", js.one_cycle(1e-3, 10_000),
         optax.cosine_onecycle_schedule(10_000, 1e-3)),
        ("SGDR, 10 cycles", js.sgdr(1e-3, 1000), optax_sgdr(1e-3, 1000, 10)),
    ]
    ratios = {}
    for name, ours, theirs in pairs:
        a, b = interleaved(ours, theirs, steps, repeats)
        ratios[name] = []
        ra, rb = interleaved(read(ours), read(theirs), steps, repeats, ratios[name])
        print(f"| {name} | {a:.1f} | {b:.1f} | {b / a:.1f}× | {ra:.1f} | {rb:.1f} | "
              f"{rb / ra:.1f}× |")

    print("\n## Eager call with a Python int at random steps\n")
    print("| schedule | jaxsched | optax | optax / jaxsched | jaxsched, read | optax, read "
          "| optax / jaxsched, read |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    scattered = random.Random(0).sample(range(10_000), len(steps))
    for name, ours, theirs in pairs[:1] + pairs[-1:]:
        a, b = interleaved(ours, theirs, scattered, repeats)
        rounds = ratios[f"{name}, random steps"] = []
        ra, rb = interleaved(read(ours), read(theirs), scattered, repeats, rounds)
        print(f"| {name} | {a:.1f} | {b:.1f} | {b / a:.1f}× | {ra:.1f} | {rb:.1f} | "
              f"{rb / ra:.1f}× |")

    yardstick = pairs[0][1]
    ours, bare = interleaved(read(yardstick), read(jax.jit(yardstick._evaluate)), steps, repeats)

    print("\n## Goals (issue 14)\n")
    print(f"- first 20 eager calls of a fresh schedule, compilation included: median "
          f"{typical:.3f} s of {processes} fresh processes (worst {worst:.3f} s; the control, "
          f"a fresh process's first jit of `t + 1`: {floor:.3f} s); goal <= 0.3 s -> "
          f"{'met' if typical <= 0.3 else 'missed'}")
    for name in ("warmup + cosine", "warmup + cosine, random steps"):
        print(f"- eager call with the value read, {name}, optax's time / ours per round: "
              f"{ratio_verdict(ratios[name], 15)} (goal >= 15x)")
    print(f"- the floor: a bare jitted call of the same evaluation, value read: {bare:.1f} µs "
          f"(ours {ours:.1f} µs, interleaved)")

    print("\n## SGDR: constant size in the number of cycles\n")
    print("| cycles | library | jaxpr eqns | compile (s) | jitted call (µs) | 100k steps (ms) |")
    print("|---:|---|---:|---:|---:|---:|")
    t0 = jnp.int32(0)
    many = jnp.arange(100_000, dtype=jnp.int32) * 7
    for cycles in (10, 1000):
        rows = {"jaxsched": js.sgdr(1e-3, 100), "optax": optax_sgdr(1e-3, 100, cycles)}
        for lib, s in rows.items():
            eqns = len(jax.make_jaxpr(s)(t0).eqns)
            comp = compile_seconds(lambda t, s=s: s(t), t0)  # a fresh function: no cache hit
            call = jax.jit(s)
            call_us = per_call_us(call, [jnp.int32(i) for i in range(0, 5000, 37)], repeats)
            batch = jax.jit(jax.vmap(s))
            batch_ms = per_call_us(batch, [many], repeats) / 1000
            print(f"| {cycles} | {lib} | {eqns} | {comp:.2f} | {call_us:.1f} | {batch_ms:.2f} |")


if __name__ == "__main__":
    main()
