"""Per-step cost of reduce_on_plateau in a jitted train step (a small MLP, Adam), with intervals.

    python benchmarks/bench_plateau.py [--steps 5] [--rounds 601] [--hidden 256] [--batch 128]
    python benchmarks/bench_plateau.py --quick     # tiny sizes: checks that the script runs

Variants, all ``optax.chain(...)`` so that every step passes ``value=loss`` the same way:

* constant lr:         adam(1e-3)
* constant lr, copy:   the same optimizer, jitted and compiled separately (an A/A control: its
  ratio to "constant lr" should be 1, and its interval shows what this run can resolve)
* schedule:            adam(js.cosine_annealing)
* schedule + plateau:  adam(js.cosine_annealing), jaxsched.reduce_on_plateau()
* schedule + optax.contrib plateau: adam(js.cosine_annealing), optax.contrib.reduce_on_plateau()

Timing (interleaved rounds, paired ratios with bootstrap intervals, min ratios, XLA's cost
analysis and the kernel count) as benchmarks/_interleaved.py describes, with "constant lr" as
the baseline.

The last lines judge issue 4's goal (schedule + plateau within 1% of constant lr) from the
interval: met if its upper end is at most 1.01, missed if its lower end is above 1.01, and not
resolved otherwise; and say how wide the A/A control's interval is.
"""

from __future__ import annotations

import sys

import jax
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

BASE, COPY, PLATEAU, SCHEDULE = "constant lr", "constant lr, copy", "schedule + plateau", "schedule"
GOAL = 1.01


def variants(total_steps: int) -> dict[str, optax.GradientTransformationExtraArgs]:
    s = js.cosine_annealing(1e-3, total_steps)
    return {
        BASE: optax.chain(optax.adam(1e-3)),
        COPY: optax.chain(optax.adam(1e-3)),
        SCHEDULE: optax.chain(optax.adam(s)),
        PLATEAU: optax.chain(optax.adam(s), js.reduce_on_plateau()),
        "schedule + optax.contrib plateau": optax.chain(
            optax.adam(s), optax.contrib.reduce_on_plateau()
        ),
    }


def make_step(opt):
    @jax.jit  # a new function object per variant: its own compilation, even for the A/A copy
    def step(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = opt.update(grads, opt_state, params, value=loss)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    kx, ky, kp = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(kx, (args.batch, 784))
    y = jax.random.randint(ky, (args.batch,), 0, 10)
    params0 = mlp_init(kp, [784, args.hidden, args.hidden, 10])
    optimizers = variants(args.steps * (args.rounds + args.warmup))
    runs = compile_runs({name: make_step(opt) for name, opt in optimizers.items()},
                        {name: (params0, opt.init(params0)) for name, opt in optimizers.items()},
                        (x, y))
    rng = np.random.default_rng(args.seed)
    wall = time_interleaved(runs, (x, y), args, rng)
    print(f"jax {jax.__version__}, optax {optax.__version__}, {jax.devices()[0].platform}, "
          f"MLP 784-{args.hidden}-{args.hidden}-10, batch {args.batch}, "
          f"{args.rounds} rounds x {args.steps} steps (+{args.warmup} warm-up rounds), "
          f"{wall:.1f} s timed")
    print()
    ratios = print_table(runs, BASE, COPY, args, rng)
    own = paired_ratio(runs[PLATEAU]["times"], runs[SCHEDULE]["times"], rng, args.resamples)
    extra = runs[PLATEAU]["kernels"] - runs[SCHEDULE]["kernels"]
    print(f"The plateau alone ({PLATEAU} vs {SCHEDULE}): {own[0]:.3f} "
          f"[{own[1]:.3f}, {own[2]:.3f}]; {extra} more kernel(s).")
    ratio, low, high = ratios[PLATEAU]
    verdict = ("met" if high <= GOAL else "missed" if low > GOAL
               else "not resolved by this run (the interval contains 1.01)")
    print(f"Goal ({PLATEAU} <= {GOAL:.2f} x {BASE}): {ratio:.3f} [{low:.3f}, {high:.3f}]: "
          f"{verdict}.")


if __name__ == "__main__":
    main()
