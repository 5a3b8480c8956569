"""Cost of `join` and `piecewise_constant` against the number of pieces, side by side with optax.

    python benchmarks/bench_combinators.py [--reps 7] [--calls 200] [--steps 1000000]

Two sweeps, each schedule next to its optax equivalent with the same numbers (the values are
checked to agree before anything is timed):

* ``join`` of 4, 64 and 512 cosine pieces with random peaks, lengths and floors, against
  ``optax.join_schedules`` of ``optax.cosine_decay_schedule``;
* ``piecewise_constant`` with 10, 100 and 1,000 boundaries, against
  ``optax.piecewise_constant_schedule`` (its scales are the ratios of our values).

For each: the jaxpr size (top-level equations, and with nested jaxprs counted), the compile time
(trace, lower and compile a fresh ``jax.jit``), and the evaluation time: a jitted call on one
scalar step for ``join`` (what a training step pays), and ``jax.jit(jax.vmap(s))`` over
``--steps`` steps for ``piecewise_constant``. Every timed quantity is the median over ``--reps``
repetitions, and the repetitions are interleaved (every variant once per round, the starting
variant rotating), so that drift in the machine's speed hits all variants alike. A scalar call's
time in one repetition is itself the median of ``--calls`` single calls, all the ``join``
variants called in turn, call by call. Every timed call ends in ``block_until_ready``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))

import jaxsched as js  # noqa: E402
from tests.helpers import count_equations  # noqa: E402

JOIN_PIECES = (4, 64, 512)
PIECEWISE_BOUNDARIES = (10, 100, 1000)


def jaxpr_size(fn, arg) -> tuple[int, int]:
    jaxpr = jax.make_jaxpr(fn)(arg).jaxpr
    return len(jaxpr.eqns), count_equations(jaxpr)


def compile_seconds(fn, arg) -> float:
    fresh = jax.jit(lambda t: fn(t))  # a new function each time: no tracing or compile cache
    start = time.perf_counter()
    fresh.lower(arg).compile()
    return time.perf_counter() - start


def call_seconds(compiled, arg) -> float:
    start = time.perf_counter()
    compiled(arg).block_until_ready()
    return time.perf_counter() - start


def scalar_call_seconds(group: list[dict], calls: int) -> list[float]:
    """Per variant, the median of `calls` single calls, the variants called in turn call by call
    (so that a burst of load from other processes hits them alike)."""
    times = [[] for _ in group]
    for i in range(calls):
        for j in (range(len(group)) if i % 2 == 0 else reversed(range(len(group)))):
            times[j].append(call_seconds(group[j]["compiled"], group[j]["arg"]))
    return [statistics.median(t) for t in times]


def join_pair(n: int, rng: np.random.Generator):
    peaks = rng.uniform(0.1, 1.0, n)
    floors = peaks * rng.uniform(0.0, 0.1, n)
    lengths = rng.integers(50, 5000, n)
    boundaries = np.cumsum(lengths)[:-1]
    ours = js.join([js.cosine_annealing(float(p), int(k), float(m))
                    for p, k, m in zip(peaks, lengths, floors)], boundaries)
    theirs = optax.join_schedules(
        [optax.cosine_decay_schedule(float(p), int(k), alpha=float(m / p))
         for p, k, m in zip(peaks, lengths, floors)], boundaries.tolist())
    return ours, theirs, int(lengths.sum())


def piecewise_pair(n: int, rng: np.random.Generator, steps: int):
    boundaries = np.sort(rng.choice(np.arange(1, steps), n, replace=False))
    scales = rng.uniform(0.99, 1.01, n).astype(np.float32)
    values = np.cumprod(np.concatenate([[np.float32(0.1)], scales]), dtype=np.float32)
    ours = js.piecewise_constant(boundaries, values.tolist())
    theirs = optax.piecewise_constant_schedule(
        0.1, {int(b): float(s) for b, s in zip(boundaries, scales)})
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7, help="interleaved repetitions")
    parser.add_argument("--calls", type=int, default=200, help="scalar calls per repetition")
    parser.add_argument("--steps", type=int, default=1_000_000, help="steps under vmap")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    scalar = jnp.int32(12_345)
    steps = jnp.arange(args.steps, dtype=jnp.int32)
    jax.jit(lambda t: t + 1)(scalar).block_until_ready()  # start-up costs out of the way

    variants = {}  # (sweep, n, library) -> dict(fn, arg, compiled, kind)
    for n in JOIN_PIECES:
        ours, theirs, total = join_pair(n, rng)
        check = jnp.arange(0, total + 10, max(1, total // 2000), dtype=jnp.int32)
        with jax.numpy_dtype_promotion("standard"):
            diff = float(jnp.max(jnp.abs(jax.vmap(ours)(check) - jax.vmap(theirs)(check))))
        assert diff < 1e-6, f"join with {n} pieces disagrees with optax by {diff}"
        for lib, fn in (("jaxsched", ours), ("optax", theirs)):
            variants[("join", n, lib)] = dict(fn=fn, arg=scalar, mode="call")
    for n in PIECEWISE_BOUNDARIES:
        ours, theirs = piecewise_pair(n, rng, args.steps)
        a = jax.jit(jax.vmap(ours))(steps)
        b = jax.jit(jax.vmap(theirs))(steps)
        assert bool(jnp.all(a == b)), f"piecewise_constant with {n} boundaries disagrees"
        for lib, fn in (("jaxsched", ours), ("optax", theirs)):
            variants[("piecewise_constant", n, lib)] = dict(fn=fn, arg=steps, mode="vmap")

    for v in variants.values():
        v["size"] = jaxpr_size(v["fn"], scalar)
        v["compile"], v["eval"] = [], []
        target = jax.vmap(v["fn"]) if v["mode"] == "vmap" else v["fn"]
        v["compiled"] = jax.jit(target).lower(v["arg"]).compile()

    for rep in range(args.reps):
        order = list(variants.values())
        order = order[rep % len(order):] + order[:rep % len(order)]  # rotate the start
        for v in order:
            v["compile"].append(compile_seconds(v["fn"], scalar))
            if v["mode"] == "vmap":
                v["eval"].append(call_seconds(v["compiled"], v["arg"]))
        called = [v for v in order if v["mode"] == "call"]
        for v, seconds in zip(called, scalar_call_seconds(called, args.calls)):
            v["eval"].append(seconds)

    def med(key, field):
        return statistics.median(variants[key][field])

    print(f"jax {jax.__version__}, optax {optax.__version__}, {jax.devices()[0].platform}, "
          f"{args.reps} interleaved repetitions (medians)\n")
    print("| schedule | pieces | library | jaxpr eqns (nested) | compile | eval | optax / "
          "jaxsched (compile, eval) |")
    print("|---|---|---|---|---|---|---|")
    for (sweep, n, lib), v in variants.items():
        top, nested = v["size"]
        ev = med((sweep, n, lib), "eval")
        ev_text = f"{ev * 1e6:.1f} µs / call" if v["mode"] == "call" else \
            f"{ev * 1e3:.1f} ms / {args.steps:,} steps"
        ratio = ""
        if lib == "optax":
            ours = (sweep, n, "jaxsched")
            ratio = (f"{med((sweep, n, lib), 'compile') / med(ours, 'compile'):.1f}×, "
                     f"{ev / med(ours, 'eval'):.1f}×")
        print(f"| {sweep} | {n} | {lib} | {top} ({nested}) | "
              f"{med((sweep, n, lib), 'compile') * 1e3:.0f} ms | {ev_text} | {ratio} |")

    pc = ("piecewise_constant", PIECEWISE_BOUNDARIES[-1])
    jn = ("join", JOIN_PIECES[-1])
    print("\nGoals (issue 3):")
    top, nested = variants[pc + ("jaxsched",)]["size"]
    print(f"  piecewise_constant, {pc[1]} boundaries: jaxpr {top} equations ({nested} nested), "
          f"goal <= 32")
    speed = med(pc + ("optax",), "eval") / med(pc + ("jaxsched",), "eval")
    print(f"  piecewise_constant, {pc[1]} boundaries, {args.steps:,} steps under vmap: "
          f"{speed:.0f}x faster than optax, goal >= 20x (stretch 50x)")
    faster = med(jn + ("optax",), "compile") / med(jn + ("jaxsched",), "compile")
    print(f"  join, {jn[1]} pieces: compiles {faster:.1f}x faster than optax, goal >= 2x "
          f"(stretch 10x)")
    growth = med(jn + ("jaxsched",), "eval") / med(("join", JOIN_PIECES[0], "jaxsched"), "eval")
    print(f"  join: jitted call at {jn[1]} pieces / at {JOIN_PIECES[0]} pieces = {growth:.2f}, "
          f"goal <= 1.5")


if __name__ == "__main__":
    main()
