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

Timing (interleaved rounds, paired ratios with bootstrap intervals, min ratios, XLA's cost
analysis and the kernel count) as benchmarks/_interleaved.py describes, with "optax steps" as
the baseline.
"""

from __future__ import annotations

import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
from _interleaved import (
    compile_runs,
    loss_fn,
    mlp_init,
    paired_ratio,
    parse_args,
    print_table,
    time_interleaved,
)

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


def make_step(opt):
    @jax.jit  # a new function object per variant: its own compilation, even for the A/A copy
    def step(params, opt_state, x, y, mask):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        tokens = jnp.sum(mask)  # returned by every variant: the same work outside the clock
        updates, opt_state = opt.update(grads, opt_state, params, tokens=tokens)
        return optax.apply_updates(params, updates), opt_state, (loss, tokens)

    return step


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    kx, ky, kp, km = jax.random.split(jax.random.key(0), 4)
    x = jax.random.normal(kx, (args.batch, 784))
    y = jax.random.randint(ky, (args.batch,), 0, 10)
    mask = (jax.random.uniform(km, (args.batch, SEQ)) < 0.9).astype(jnp.int32)
    params0 = mlp_init(kp, [784, args.hidden, args.hidden, 10])
    total = args.steps * (args.rounds + args.warmup)
    optimizers = variants(total, args.batch * SEQ)
    runs = compile_runs({name: make_step(opt) for name, opt in optimizers.items()},
                        {name: (params0, opt.init(params0)) for name, opt in optimizers.items()},
                        (x, y, mask))
    rng = np.random.default_rng(args.seed)
    wall = time_interleaved(runs, (x, y, mask), args, rng)
    print(f"jax {jax.__version__}, optax {optax.__version__}, {jax.devices()[0].platform}, "
          f"MLP 784-{args.hidden}-{args.hidden}-10, batch {args.batch} x {SEQ} tokens, "
          f"{args.rounds} rounds x {args.steps} steps (+{args.warmup} warm-up rounds), "
          f"{wall:.1f} s timed")
    print()
    print_table(runs, BASE, COPY, args, rng)
    own = paired_ratio(runs[TOKENS]["times"], runs[STEPS_CLOCK]["times"], rng, args.resamples)
    print(f"Tokens vs steps clock ({TOKENS} vs {STEPS_CLOCK}): {own[0]:.3f} "
          f"[{own[1]:.3f}, {own[2]:.3f}].")


if __name__ == "__main__":
    main()
