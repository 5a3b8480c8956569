"""Per-step cost of reduce_on_plateau in a jitted train step (a small MLP, Adam).

    python benchmarks/bench_plateau.py [--steps 10] [--rounds 201] [--hidden 256] [--batch 128]

Variants, all ``optax.chain(...)`` so that every step passes ``value=loss`` the same way:

* constant:            adam(1e-3)
* schedule:            adam(js.cosine_annealing)
* schedule + plateau:  adam(js.cosine_annealing), jaxsched.reduce_on_plateau()
* schedule + optax.contrib plateau: adam(js.cosine_annealing), optax.contrib.reduce_on_plateau()

Each round runs `steps` train steps of every variant, in a rotating order (interleaved, so drift
in the machine's speed hits all variants alike); the per-step time of a variant is the median
over rounds, and its time ratio is the median over rounds of its time divided by the constant-lr
step's time in the same round (paired, so that load from other processes cancels as far as it
can). Printed next to XLA's own cost analysis of the compiled step (flops and bytes accessed),
which does not depend on how busy the machine is.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import optax

try:
    import jaxsched as js
except ImportError:  # run from a source checkout without installing
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    import jaxsched as js


def variants(total_steps: int) -> dict[str, optax.GradientTransformationExtraArgs]:
    s = js.cosine_annealing(1e-3, total_steps)
    return {
        "constant lr": optax.chain(optax.adam(1e-3)),
        "schedule": optax.chain(optax.adam(s)),
        "schedule + plateau": optax.chain(optax.adam(s), js.reduce_on_plateau()),
        "schedule + optax.contrib plateau": optax.chain(
            optax.adam(s), optax.contrib.reduce_on_plateau()
        ),
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
    @jax.jit
    def step(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = opt.update(grads, opt_state, params, value=loss)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="train steps per timed run")
    parser.add_argument("--rounds", type=int, default=201, help="interleaved rounds")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()

    key = jax.random.key(0)
    kx, ky, kp = jax.random.split(key, 3)
    x = jax.random.normal(kx, (args.batch, 784))
    y = jax.random.randint(ky, (args.batch,), 0, 10)
    params0 = mlp_init(kp, [784, args.hidden, args.hidden, 10])

    runs = {}
    for name, opt in variants(args.steps * args.rounds).items():
        step = make_step(opt)
        state = (params0, opt.init(params0))
        cost = step.lower(*state, x, y).compile().cost_analysis()
        cost = cost[0] if isinstance(cost, list) else cost  # older JAX: a list of one dict
        p, s, loss = step(*state, x, y)  # compile and warm up
        jax.block_until_ready(loss)
        runs[name] = {"step": step, "state": (p, s), "times": [], "cost": cost}

    names = list(runs)
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            run = runs[name]
            params, opt_state = run["state"]
            start = time.perf_counter()
            for _ in range(args.steps):
                params, opt_state, loss = run["step"](params, opt_state, x, y)
            jax.block_until_ready((params, opt_state, loss))
            run["times"].append((time.perf_counter() - start) / args.steps)
            run["state"] = (params, opt_state)

    base_run = runs["constant lr"]
    print(f"jax {jax.__version__}, optax {optax.__version__}, {jax.devices()[0].platform}, "
          f"MLP 784-{args.hidden}-{args.hidden}-10, batch {args.batch}, "
          f"{args.rounds} rounds x {args.steps} steps")
    print()
    print("| variant | median per step | time ratio | XLA flops ratio | XLA bytes ratio |")
    print("|---|---|---|---|---|")
    for name, run in runs.items():
        med = statistics.median(run["times"])
        ratio = statistics.median(t / b for t, b in zip(run["times"], base_run["times"]))
        flops, nbytes = (
            run["cost"].get(k, float("nan")) / base_run["cost"].get(k, float("nan"))
            for k in ("flops", "bytes accessed")
        )
        print(f"| {name} | {med * 1e6:.1f} µs | {ratio:.3f} | {flops:.6f} | {nbytes:.6f} |")


if __name__ == "__main__":
    main()
