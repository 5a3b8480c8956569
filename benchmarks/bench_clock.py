"""Per-step cost of a token clock in a jitted train step (a small MLP, Adam), with intervals.

    python benchmarks/bench_clock.py [--steps 5] [--rounds 601] [--hidden 256] [--batch 128]
    python benchmarks/bench_clock.py --quick      # tiny sizes: checks that the script runs

Variants, all ``optax.chain(optax.scale_by_adam(), <rate>)`` with the same schedule (a warmup
and a cosine, `js.warmup(js.cosine_annealing(...))`), every step passed ``tokens=`` (the sum of a
traced mask, as a real step counts its non-padding tokens, and returned by every variant, as a
step that logs it would; optax ignores it):

* optax steps:         optax.scale_by_learning_rate(schedule), on the step count (the baseline)
* optax steps, copy:   the same, jitted and compiled separately (an A/A control: its ratio to the
  baseline should be 1, and its interval shows what this run can resolve)
* jaxsched steps:      js.scale_by_schedule(schedule)
* jaxsched tokens:     js.scale_by_schedule(schedule, clock="tokens", unit=1024)

The method is benchmarks/bench_plateau.py's: each round runs one block of `--steps` train steps
of every variant in a fresh random order; the first `--warmup` rounds are discarded and the
garbage collector is off while timing. Per variant: the median time per step; the time ratio,
the median over rounds of the block time over the baseline's block time in the same round, with
a 95% bootstrap interval; the min ratio (fastest blocks); XLA's cost analysis (flops, bytes) and
the number of kernels (fusions and copies) in the optimized HLO, as ratios or counts.
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

try:
    import jaxsched as js
except ImportError:  # run from a source checkout without installing
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    import jaxsched as js

BASE, COPY, STEPS_CLOCK, TOKENS = "optax steps", "optax steps, copy", "jaxsched steps", \
    "jaxsched tokens"
SEQ = 64  # tokens per example: the mask is (batch, SEQ)


def variants(total_steps: int, tokens_per_step: int) -> dict[str, optax.GradientTransformation]:
    steps = js.warmup(js.cosine_annealing(1e-3, total_steps), total_steps // 10)
    units = -(-total_steps * tokens_per_step // 1024)  # the same plan in units of 1,024 tokens
    tokens = js.warmup(js.cosine_annealing(1e-3, units), units // 10)
    return {
        BASE: optax.chain(optax.scale_by_adam(), optax.scale_by_learning_rate(steps)),
        COPY: optax.chain(optax.scale_by_adam(), optax.scale_by_learning_rate(steps)),
        STEPS_CLOCK: optax.chain(optax.scale_by_adam(), js.scale_by_schedule(steps)),
        TOKENS: optax.chain(optax.scale_by_adam(),
                            js.scale_by_schedule(tokens, clock="tokens", unit=1024)),
    }


def mlp_init(key, sizes):
    params = []
    for k, (m, n) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        params.append({"w": jax.random.normal(k, (m, n)) / jnp.sqrt(m), "b": jnp.zeros(n)})
    return params


def loss_fn(params, x, y):
    h = x
    for layer in params[:-1]:
        h = jax.nn.relu(h @ layer["w"] + layer["b"])
    logits = h @ params[-1]["w"] + params[-1]["b"]
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def make_step(opt):
    @jax.jit  # a new function object per variant: its own compilation, even for the A/A copy
    def step(params, opt_state, x, y, mask):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        tokens = jnp.sum(mask)  # returned by every variant: the same work outside the clock
        updates, opt_state = opt.update(grads, opt_state, params, tokens=tokens)
        return optax.apply_updates(params, updates), opt_state, (loss, tokens)

    return step


def paired_ratio(times, base, rng, resamples):
    """Median over rounds of times / base, and a 95% bootstrap interval of that median."""
    ratios = np.asarray(times) / np.asarray(base)
    picks = rng.integers(0, len(ratios), size=(resamples, len(ratios)))
    low, high = np.percentile(np.median(ratios[picks], axis=1), [2.5, 97.5])
    return float(np.median(ratios)), float(low), float(high)


def kernels(compiled) -> int:
    """Fusions and copies in the entry computation of the optimized HLO (one kernel each)."""
    entry = compiled.as_text().split("ENTRY", 1)[1]
    return len(re.findall(r"= \S+ (?:fusion|copy)\(", entry))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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

    kx, ky, kp, km = jax.random.split(jax.random.key(0), 4)
    x = jax.random.normal(kx, (args.batch, 784))
    y = jax.random.randint(ky, (args.batch,), 0, 10)
    mask = (jax.random.uniform(km, (args.batch, SEQ)) < 0.9).astype(jnp.int32)
    params0 = mlp_init(kp, [784, args.hidden, args.hidden, 10])

    runs = {}
    total = args.steps * (args.rounds + args.warmup)
    for name, opt in variants(total, args.batch * SEQ).items():
        step = make_step(opt)
        state = (params0, opt.init(params0))
        compiled = step.lower(*state, x, y, mask).compile()
        cost = compiled.cost_analysis()
        cost = cost[0] if isinstance(cost, list) else cost  # older JAX: a list of one dict
        p, s, loss = step(*state, x, y, mask)  # compile and warm up
        jax.block_until_ready(loss)
        runs[name] = {"step": step, "state": (p, s), "times": [], "cost": cost,
                      "kernels": kernels(compiled)}

    names = list(runs)
    rng = np.random.default_rng(args.seed)
    gc.collect()
    gc.disable()
    wall = time.perf_counter()
    try:
        for r in range(args.warmup + args.rounds):
            for i in rng.permutation(len(names)):
                run = runs[names[i]]
                params, opt_state = run["state"]
                start = time.perf_counter()
                for _ in range(args.steps):
                    params, opt_state, loss = run["step"](params, opt_state, x, y, mask)
                jax.block_until_ready((params, opt_state, loss))
                elapsed = time.perf_counter() - start
                if r >= args.warmup:
                    run["times"].append(elapsed)
                run["state"] = (params, opt_state)
    finally:
        gc.enable()
    wall = time.perf_counter() - wall

    base = runs[BASE]
    print(f"jax {jax.__version__}, optax {optax.__version__}, {jax.devices()[0].platform}, "
          f"MLP 784-{args.hidden}-{args.hidden}-10, batch {args.batch} x {SEQ} tokens, "
          f"{args.rounds} rounds x {args.steps} steps (+{args.warmup} warm-up rounds), "
          f"{wall:.1f} s timed")
    print()
    print("| variant | median per step | time ratio [95% interval] | min ratio "
          "| XLA flops ratio | XLA bytes ratio | kernels |")
    print("|---|---|---|---|---|---|---|")
    ratios = {}
    for name, run in runs.items():
        med = statistics.median(run["times"]) / args.steps
        ratios[name] = paired_ratio(run["times"], base["times"], rng, args.resamples)
        ratio, low, high = ratios[name]
        fastest = min(run["times"]) / min(base["times"])
        flops, nbytes = (
            run["cost"].get(k, float("nan")) / base["cost"].get(k, float("nan"))
            for k in ("flops", "bytes accessed")
        )
        print(f"| {name} | {med * 1e6:.1f} µs | {ratio:.3f} [{low:.3f}, {high:.3f}] "
              f"| {fastest:.3f} | {flops:.6f} | {nbytes:.6f} | {run['kernels']} |")

    _, low, high = ratios[COPY]
    print()
    print(f"A/A control ({COPY} vs {BASE}): interval [{low:.3f}, {high:.3f}], half-width "
          f"{(high - low) / 2 * 100:.2f}%; differences much smaller than that are not resolved.")
    own = paired_ratio(runs[TOKENS]["times"], runs[STEPS_CLOCK]["times"], rng, args.resamples)
    print(f"Tokens vs steps clock ({TOKENS} vs {STEPS_CLOCK}): {own[0]:.3f} "
          f"[{own[1]:.3f}, {own[2]:.3f}].")


if __name__ == "__main__":
    main()
