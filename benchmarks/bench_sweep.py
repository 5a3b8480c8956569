"""A learning-rate sweep in one compile: K training runs with K (peak value, warmup length) pairs.

    python benchmarks/bench_sweep.py          # K = 1, 4, 8, 16; 2,000 steps a run; 2 repeats
    python benchmarks/bench_sweep.py --quick  # K = 1, 4; 200 steps; 1 repeat: checks that it runs

The demo's MLP (64-128-10) on scikit-learn's digits, SGD with Nesterov momentum, warmup then
cosine decay; each run is one `lax.scan` over its steps and returns its final training loss.
Four ways of running the K runs, side by side for each K:

(a)  optax: ``optax.warmup_cosine_decay_schedule`` built per run, closed over by a run function
     jitted per run (what optax's closures over Python floats ask for): K compilations.
(a') optax built inside the jitted function from traced arguments (the workaround). Only the peak
     can be traced, and only through the parts (`linear_schedule`, `cosine_decay_schedule`,
     `join_schedules`): optax checks lengths and values in Python (printed below), so the warmup
     length is a static argument: one compilation per distinct warmup length.
(b)  jaxsched: one jitted run function, called with each schedule (a pytree argument).
(c)  jaxsched: the K schedules stacked with `js.stack`, the run function under `jax.vmap`.

Each (variant, K) gets a fresh run function, so its wall time includes its compilations;
compilations are counted as the jit cache entries of its functions and, as a check, as the
backend compilations jax reports (`jax.monitoring`), which also give the seconds spent tracing,
lowering and compiling.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxsched as js
from jaxsched import _demo

PEAKS = (0.05, 0.1, 0.2, 0.4)
WARMUP_FRACTIONS = (0.05, 0.1, 0.2, 0.4)


def pairs(k: int, steps: int) -> list[tuple[float, int]]:
    """K (peak, warmup) pairs of a grid: up to 4 warmup lengths, then more peaks."""
    warmups = [max(1, int(f * steps)) for f in WARMUP_FRACTIONS][: min(k, 4)]
    peaks = np.geomspace(PEAKS[0], PEAKS[-1], -(-k // len(warmups)))
    return [(float(p), w) for p, w in itertools.product(peaks, warmups)][:k]


def make_run(steps: int):
    """A fresh ``run(schedule, params, x, y, idx) -> final training loss`` (not yet jitted)."""
    grad_fn = jax.value_and_grad(_demo.loss_fn)

    def run(schedule, params, x, y, idx):
        tx = optax.sgd(schedule, momentum=_demo.MOMENTUM, nesterov=True)

        def step(carry, batch_idx):
            params, state = carry
            _, grads = grad_fn(params, (x[batch_idx], y[batch_idx]))
            updates, state = tx.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), None

        (params, _), _ = jax.lax.scan(step, (params, tx.init(params)), idx[:steps])
        return _demo.loss_fn(params, (x, y))

    return run


def jaxsched_schedule(peak: float, warmup: int, steps: int) -> js.Schedule:
    return js.warmup(js.cosine_annealing(peak, steps - warmup), warmup)


def optax_parts(peak: jax.Array, warmup: int, steps: int) -> optax.Schedule:
    """optax's warmup-cosine from its parts, which accept a traced peak (the whole does not)."""
    ramp = optax.linear_schedule(0.0, peak, warmup)
    return optax.join_schedules([ramp, optax.cosine_decay_schedule(peak, steps - warmup)], [warmup])


def what_optax_cannot_trace(steps: int) -> list[str]:
    """Tries optax's constructors on traced arguments; returns what failed and why."""
    tries = {
        "warmup_cosine_decay_schedule(peak_value=traced)":
            lambda p, w: optax.warmup_cosine_decay_schedule(0.0, p, 10, steps)(5),
        "warmup_cosine_decay_schedule(warmup_steps=traced)":
            lambda p, w: optax.warmup_cosine_decay_schedule(0.0, 0.1, w, steps)(5),
        "linear_schedule(transition_steps=traced)":
            lambda p, w: optax.linear_schedule(0.0, p, w)(5),
        "cosine_decay_schedule(decay_steps=traced)":
            lambda p, w: optax.cosine_decay_schedule(p, steps - w)(5),
        "linear_schedule + cosine_decay_schedule + join_schedules (peak traced)":
            lambda p, w: optax_parts(p, 10, steps)(5),
    }
    lines = []
    for name, fn in tries.items():
        try:
            jax.jit(fn)(jnp.float32(0.1), jnp.int32(10))
            lines.append(f"{name}: traces")
        except Exception as e:  # what optax raises is the point of the probe
            lines.append(f"{name}: {type(e).__name__}")
    return lines


class CompileCounter:
    """Backend compilations that jax reports while it is active (every jit, however small), and
    the seconds spent tracing, lowering and compiling."""

    EVENTS = ("/jax/core/compile/jaxpr_trace_duration",
              "/jax/core/compile/jaxpr_to_mlir_module_duration",
              "/jax/core/compile/backend_compile_duration")

    def __init__(self):
        self.count, self.seconds, self.active = 0, 0.0, False
        jax.monitoring.register_event_duration_secs_listener(self._listen)

    def _listen(self, event: str, duration: float, **kwargs) -> None:
        if self.active and event in self.EVENTS:
            self.seconds += duration
            self.count += event == self.EVENTS[-1]


def variant_a(run, sweep, steps, args):
    fns = [jax.jit(functools.partial(run, optax.warmup_cosine_decay_schedule(0.0, p, w, steps)))
           for p, w in sweep]
    losses = [fn(*args) for fn in fns]
    return losses, sum(fn._cache_size() for fn in fns)


def variant_a_traced(run, sweep, steps, args):
    @functools.partial(jax.jit, static_argnames="warmup")
    def fn(peak, *args, warmup):
        return run(optax_parts(peak, warmup, steps), *args)

    losses = [fn(jnp.float32(p), *args, warmup=w) for p, w in sweep]
    return losses, fn._cache_size()


def variant_b(run, sweep, steps, args):
    fn = jax.jit(run)
    losses = [fn(jaxsched_schedule(p, w, steps), *args) for p, w in sweep]
    return losses, fn._cache_size()


def variant_c(run, sweep, steps, args):
    fn = jax.jit(jax.vmap(run, in_axes=(0, None, None, None, None)))
    stacked = js.stack([jaxsched_schedule(p, w, steps) for p, w in sweep])
    return fn(stacked, *args), fn._cache_size()


VARIANTS = {"(a) optax, built per run": variant_a,
            "(a') optax, traced peak": variant_a_traced,
            "(b) jaxsched, one jit": variant_b,
            "(c) jaxsched, stack + vmap": variant_c}


def measure(variant, steps, sweep, args, counter):
    run = make_run(steps)
    counter.count, counter.seconds, counter.active = 0, 0.0, True
    start = time.perf_counter()
    losses, cache = variant(run, sweep, steps, args)
    losses = np.asarray(jax.block_until_ready(losses), np.float64)
    seconds = time.perf_counter() - start
    counter.active = False
    return seconds, cache, counter.count, losses, counter.seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="K = 1, 4 and 200 steps")
    parser.add_argument("--steps", type=int, default=None, help="steps per run (default 2000)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=None,
                        help="runs of every (variant, K), fresh compilations each (default 2)")
    cli = parser.parse_args()
    steps = cli.steps or (200 if cli.quick else 2000)
    ks = (1, 4) if cli.quick else (1, 4, 8, 16)
    cli.repeats = cli.repeats or (1 if cli.quick else 2)
    if steps < 10 or cli.batch < 1 or cli.hidden < 1 or cli.repeats < 1:
        parser.error("--steps must be >= 10; --batch, --hidden and --repeats >= 1")

    x_train, y_train, _, _ = _demo.load_digits(0)
    params = _demo.init_mlp(jax.random.key(0), (x_train.shape[1], cli.hidden, 10))
    idx = _demo.batch_indices(len(x_train), cli.batch, steps, 0)
    args = (params, jnp.asarray(x_train), jnp.asarray(y_train), jnp.asarray(idx))
    counter = CompileCounter()
    print(f"jax {jax.__version__}, optax {optax.__version__}, {jax.default_backend()}, "
          f"{jax.device_count()} device(s); MLP 64-{cli.hidden}-10, batch {cli.batch}, "
          f"{steps} steps a run; pairs (peak, warmup) from {PEAKS} x warmup fractions "
          f"{WARMUP_FRACTIONS}")
    print("\nWhat optax cannot trace (the reason for (a')'s static warmup):")
    for line in what_optax_cannot_trace(steps):
        print(f"  {line}")
    measure(variant_b, 10, pairs(1, 10), args, counter)  # jax's one-time start-up, untimed

    print(f"\n| K | variant | compilations (jit cache) | backend compiles | total wall (s), "
          f"min of {cli.repeats} [max] | of which compiling (s) | (a) / this | "
          f"final loss, min-max |")
    print("|---:|---|---:|---:|---:|---:|---:|---|")
    table = {}
    names = list(VARIANTS)
    for k in ks:
        sweep = pairs(k, steps)
        walls = {name: [] for name in names}
        for r in range(cli.repeats):  # each repeat in a rotated order: the load hits all alike
            for name in names[r % 4:] + names[: r % 4]:
                seconds, cache, compiles, losses, compiling = measure(
                    VARIANTS[name], steps, sweep, args, counter)
                walls[name].append((seconds, compiling))
                fastest = min(walls[name])
                table[k, name[:4].strip()] = (fastest[0], cache, losses, compiles,
                                              [w for w, _ in walls[name]], fastest[1])
        for name in names:
            seconds, cache, losses, compiles, all_walls, compiling = table[k, name[:4].strip()]
            print(f"| {k} | {name} | {cache} | {compiles} | {seconds:.2f} "
                  f"[{max(all_walls):.2f}] | {compiling:.2f} | "
                  f"{table[k, '(a)'][0] / seconds:.1f}× | "
                  f"{losses.min():.4f}-{losses.max():.4f} |", flush=True)
    print_goals(table, ks)


def print_goals(table, ks) -> None:
    print("\nSame runs, same results: largest relative difference of the final losses")
    for k in ks:
        a, b, c = (table[k, v][2] for v in ("(a)", "(b)", "(c)"))
        print(f"  K={k}: (b) vs (a) {np.max(np.abs(b / a - 1)):.1e} (optax's schedule vs ours), "
              f"(c) vs (b) {np.max(np.abs(c / b - 1)):.1e}")
    print("\nGoals (CPU):")
    once = all(table[k, v][1] == 1 for k in ks for v in ("(b)", "(c)"))
    print(f"  (b) and (c) compile once for any K: "
          f"{[(k, table[k, '(b)'][1], table[k, '(c)'][1]) for k in ks]} -> "
          f"{'met' if once else 'missed'}")
    k = 8 if 8 in ks else ks[-1]
    for v in ("(b)", "(c)"):
        speedup = table[k, "(a)"][0] / table[k, v][0]
        print(f"  {v} at K={k}: {speedup:.1f}× faster than (a), goal >= 3× -> "
              f"{'met' if speedup >= 3 else 'missed'}")
        ratios = [table[kk, v][0] / table[kk, "(a')"][0] for kk in ks]
        shown = ", ".join(f"K={kk} {r:.2f}" for kk, r in zip(ks, ratios))
        print(f"  {v} wall time / (a')'s (fastest repeats): {shown}; goal <= 1 at every K -> "
              f"{never_slower(table, ks, v)}")


def never_slower(table, ks, v) -> str:
    """'met', 'missed at K=..' (slower in every repeat) or 'not resolved at K=..' (overlap)."""
    slower = [k for k in ks if table[k, v][0] > table[k, "(a')"][0]]
    if not slower:
        return "met"
    missed = [k for k in slower if min(table[k, v][4]) > max(table[k, "(a')"][4])]
    if missed:
        return f"missed at K={missed} (slower in every repeat)"
    return f"not resolved at K={slower} (the repeats overlap)"


if __name__ == "__main__":
    main()
