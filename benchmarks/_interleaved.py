"""Interleaved, paired timing of jitted train steps: the method of bench_plateau and bench_clock.

Each round runs one block of ``--steps`` train steps of every variant, in a fresh random order
(interleaved, so drift in the machine's speed hits all variants alike, and no variant always
follows the same other one); the first ``--warmup`` rounds are discarded and the garbage
collector is off while timing. Per variant the table gives:

* median per step: the median block time over rounds, divided by ``--steps``;
* time ratio: the median over rounds of the block time divided by the baseline's block time of
  the same round (paired, so that load from other processes cancels as far as it can), with a
  95% bootstrap interval (rounds resampled with replacement);
* min ratio: the fastest block of the variant over the baseline's fastest (load only ever adds
  time, so the minima are the least disturbed figures);
* XLA's cost analysis of the compiled step (flops and bytes accessed, as ratios to the baseline),
  and the number of kernels it runs, which do not depend on how busy the machine is.
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

NOT_KERNELS = {"parameter", "constant", "tuple", "get-tuple-element", "bitcast"}


def parse_args(description: str) -> argparse.Namespace:
    """The timing options every interleaved benchmark takes (``--quick``: tiny sizes)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--steps", type=int, default=5, help="train steps per timed block")
    parser.add_argument("--rounds", type=int, default=601, help="interleaved rounds (timed)")
    parser.add_argument("--warmup", type=int, default=10, help="rounds run first, not counted")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="of the orders and the bootstrap")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes (hidden 32, batch 16, 21 rounds of 2 steps)")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.rounds, args.warmup = 2, 21, 2
        args.hidden, args.batch, args.resamples = 32, 16, 200
    return args


def mlp_init(key: jax.Array, sizes: list[int]) -> list[dict[str, jax.Array]]:
    params = []
    for k, (m, n) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        params.append({"w": jax.random.normal(k, (m, n)) / jnp.sqrt(m), "b": jnp.zeros(n)})
    return params


def loss_fn(params: Any, x: jax.Array, y: jax.Array) -> jax.Array:
    h = x
    for layer in params[:-1]:
        h = jax.nn.relu(h @ layer["w"] + layer["b"])
    logits = h @ params[-1]["w"] + params[-1]["b"]
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def kernel_count(compiled: Any) -> int:
    """The instructions of the compiled step's entry computation that run as kernels."""
    text = compiled.as_text()
    entry = text[text.index("\nENTRY"):]
    entry = entry[: entry.index("\n}")]
    return sum(op not in NOT_KERNELS for op in re.findall(r"= \S+ ([\w-]+)\(", entry))


def paired_ratio(times: list[float], base: list[float], rng: np.random.Generator,
                 resamples: int) -> tuple[float, float, float]:
    """Median over rounds of times / base, and a 95% bootstrap interval of that median."""
    ratios = np.asarray(times) / np.asarray(base)
    picks = rng.integers(0, len(ratios), size=(resamples, len(ratios)))
    low, high = np.percentile(np.median(ratios[picks], axis=1), [2.5, 97.5])
    return float(np.median(ratios)), float(low), float(high)


def compile_runs(steps: dict[str, Callable[..., Any]], state: tuple[Any, ...],
                 data: tuple[Any, ...]) -> dict[str, dict[str, Any]]:
    """Compiles and warms up each variant's ``step(*state, *data) -> (*state, out)``."""
    runs = {}
    for name, step in steps.items():
        compiled = step.lower(*state[name], *data).compile()
        cost = compiled.cost_analysis()
        cost = cost[0] if isinstance(cost, list) else cost  # older JAX: a list of one dict
        *warm, out = step(*state[name], *data)
        jax.block_until_ready(out)
        runs[name] = {"step": step, "state": tuple(warm), "times": [], "cost": cost,
                      "kernels": kernel_count(compiled)}
    return runs


def time_interleaved(runs: dict[str, dict[str, Any]], data: tuple[Any, ...],
                     args: argparse.Namespace, rng: np.random.Generator) -> float:
    """Runs the rounds (see the module docstring); fills each run's "times"; the wall time."""
    names = list(runs)
    gc.collect()
    gc.disable()
    wall = time.perf_counter()
    try:
        for r in range(args.warmup + args.rounds):
            for i in rng.permutation(len(names)):
                run = runs[names[i]]
                state = run["state"]
                start = time.perf_counter()
                for _ in range(args.steps):
                    *state, out = run["step"](*state, *data)
                jax.block_until_ready((state, out))
                elapsed = time.perf_counter() - start
                if r >= args.warmup:
                    run["times"].append(elapsed)
                run["state"] = tuple(state)
    finally:
        gc.enable()
    return time.perf_counter() - wall


def print_table(runs: dict[str, dict[str, Any]], base: str, copy: str,
                args: argparse.Namespace, rng: np.random.Generator) -> dict[str, tuple]:
    """The table of the module docstring and the A/A control's line; the ratios by variant."""
    print("| variant | median per step | time ratio [95% interval] | min ratio "
          "| XLA flops ratio | XLA bytes ratio | kernels |")
    print("|---|---|---|---|---|---|---|")
    ratios = {}
    for name, run in runs.items():
        med = statistics.median(run["times"]) / args.steps
        ratios[name] = paired_ratio(run["times"], runs[base]["times"], rng, args.resamples)
        ratio, low, high = ratios[name]
        fastest = min(run["times"]) / min(runs[base]["times"])
        flops, nbytes = (
            run["cost"].get(k, float("nan")) / runs[base]["cost"].get(k, float("nan"))
            for k in ("flops", "bytes accessed")
        )
        print(f"| {name} | {med * 1e6:.1f} µs | {ratio:.3f} [{low:.3f}, {high:.3f}] "
              f"| {fastest:.3f} | {flops:.6f} | {nbytes:.6f} | {run['kernels']} |")
    _, low, high = ratios[copy]
    print()
    print(f"A/A control ({copy} vs {base}): interval [{low:.3f}, {high:.3f}], half-width "
          f"{(high - low) / 2 * 100:.2f}%; differences much smaller than that are not resolved.")
    return ratios
