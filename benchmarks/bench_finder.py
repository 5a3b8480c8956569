"""lr_find's compiled sweep against a Python loop calling the same jitted step once per lr.

    python benchmarks/bench_finder.py [--repeats 20] [--num-steps 100]

Both sides run the same `make_train_step` step (an MLP with Adam, through
`optax.inject_hyperparams`) over the same batches and learning rates, after a warm-up call that
compiles them; the table shows the best and the median of `--repeats` timed runs. The sweep never
diverges here (`diverge_threshold=None`, small lrs), so both sides take every step.

* "loop, sync": what PyTorch finders do: after each step, read the loss on the host
  (``float(loss)``), smooth it and test for divergence, so the loop can stop early.
* "loop, async": the fastest honest Python loop: no host read until the end (it could not stop
  early on divergence).
* "lr_find": the whole test as `jaxsched.lr_find` (chunked `lax.scan`, smoothing and divergence
  test inside, host read once per chunk), with `--chunks` chunks and with 1.

Speed-ups are ratios of best times (best loop / best lr_find), for both chunkings.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxsched as js


def mlp(sizes, key):
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        key, sub = jax.random.split(key)
        params.append({"w": jax.random.normal(sub, (fan_in, fan_out)) / math.sqrt(fan_in),
                       "b": jnp.zeros(fan_out)})
    return params


def loss_fn(params, batch):
    x, labels = batch
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    logits = x @ params[-1]["w"] + params[-1]["b"]
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def timed(fn, repeats):
    fn()  # warm-up: compiles
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def bench(sizes, batch, num_steps, repeats, chunks):
    optimizer = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)
    step = js.make_train_step(loss_fn, optimizer)
    params = mlp(sizes, jax.random.PRNGKey(0))
    opt_state = optimizer.init(params)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(num_steps, batch, sizes[0])).astype(np.float32)
    labels = rng.integers(0, sizes[-1], size=(num_steps, batch)).astype(np.int32)
    stacked = jax.device_put((x, labels))
    per_step = [jax.device_put((x[i], labels[i])) for i in range(num_steps)]
    min_lr, max_lr = 1e-6, 1e-3
    grid = np.geomspace(min_lr, max_lr, num_steps)
    lrs = [jax.device_put(np.float32(lr)) for lr in grid]
    jitted = jax.jit(step)

    def loop_sync():
        p, s, average, best = params, opt_state, 0.0, math.inf
        for i in range(num_steps):
            p, s, loss = jitted(p, s, per_step[i], lrs[i])
            average = 0.98 * average + 0.02 * float(loss)
            smoothed = average / (1 - 0.98 ** (i + 1))
            best = min(best, smoothed)
            if not math.isfinite(smoothed) or smoothed > 4 * best:
                break

    def loop_async():
        p, s, losses = params, opt_state, []
        for i in range(num_steps):
            p, s, loss = jitted(p, s, per_step[i], lrs[i])
            losses.append(loss)
        np.asarray(jnp.stack(losses))

    def sweep(n):
        def run():
            # Random labels and small lrs: the loss hardly falls beyond its noise, and lr_find
            # warns that it has no suggestion. The time is the point here.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                js.lr_find(step, params, opt_state, stacked, min_lr=min_lr, max_lr=max_lr,
                           num_steps=num_steps, diverge_threshold=None, num_chunks=n)

        return run

    start = time.perf_counter()
    sweep(chunks)()
    first_call = time.perf_counter() - start
    rows = {
        "loop, sync": timed(loop_sync, repeats),
        "loop, async": timed(loop_async, repeats),
        f"lr_find, {chunks} chunks": timed(sweep(chunks), repeats),
        "lr_find, 1 chunk": timed(sweep(1), repeats),
    }
    return rows, first_call


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--num-steps", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=10)
    args = parser.parse_args()
    print(f"jax {jax.__version__} on {jax.devices()[0].platform} "
          f"({jax.devices()[0].device_kind}), {args.num_steps} steps, "
          f"best / median of {args.repeats} runs, compile excluded\n")
    print("| model (batch) | Python loop, sync | Python loop, async | lr_find "
          f"({args.chunks} chunks) | lr_find (1 chunk) | speed-up vs sync / async "
          f"({args.chunks} chunks) | speed-up vs sync / async (1 chunk) "
          "| first lr_find call (compiles) |")
    print("|---|---|---|---|---|---|---|---|")
    for sizes, batch in (((64, 10), 64), ((64, 32, 10), 64), ((784, 256, 10), 128)):
        rows, first_call = bench(sizes, batch, args.num_steps, args.repeats, args.chunks)
        (sync, _), (asyn, _), (ours, _), (one, _) = rows.values()
        cells = " | ".join(f"{best * 1e3:.1f} / {median * 1e3:.1f} ms"
                           for best, median in rows.values())
        name = "-".join(map(str, sizes))
        print(f"| MLP {name} ({batch}) | {cells} | {sync / ours:.1f}× / {asyn / ours:.1f}× "
              f"| {sync / one:.1f}× / {asyn / one:.1f}× | {first_call:.2f} s |")


if __name__ == "__main__":
    main()
