"""``python -m jaxsched demo``: one small model, several schedules, real data, one picture.

A two-layer MLP is trained on scikit-learn's handwritten digits (1,797 8×8 images, shipped inside
scikit-learn, so nothing is downloaded) with SGD and momentum, once per schedule, from the same
initial parameters and on the same sequence of minibatches. Each run is a `jax.lax.scan` over
chunks of steps, compiled once per schedule; a progress bar advances between chunks. Then the
learning-rate range test (`lr_find`) runs once on the same model. The results table shows, per
schedule, the final loss on the whole training set, the test loss and accuracy, and the wall time
(compilation included); the PNG shows the learning rate and the training loss of every run, and
the range test's curve.

Needs the ``demo`` extra (scikit-learn, matplotlib; tqdm for progress bars, optional).
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._plateau import plateau_scale, reduce_on_plateau

__all__ = ["DEFAULTS", "MissingDependency", "RunResult", "run_demo"]

DEFAULTS: dict[str, Any] = {
    "steps": 2000,
    "out": "out",
    "batch_size": 8,
    "hidden": 128,
    "find_steps": 100,
    "seed": 0,
}
# SGD with Nesterov momentum and small batches at a high peak lr (near the range test's "steep"
# suggestion). Held constant, a rate that high may or may not fit the training set (seed 0: the
# lowest final training loss of the six; seed 1: 0.16, it did not), and its test loss was the
# highest or second highest of the six in seeds 0-3; the decaying schedules fit the training set
# every time, in an order on the test set that changes with the seed. README.md ("Command line")
# shows the default run.
PEAK_LR = 0.2
MOMENTUM = 0.9
FIND_RANGE = (1e-4, 10.0)  # the learning rates lr_find sweeps
NUM_CHUNKS = 20  # progress-bar updates per run (each chunk is one compiled scan)


class MissingDependency(ImportError):
    """An optional dependency is missing; the message names the extra that installs it."""


def _need(module: str, extra: str = "demo") -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise MissingDependency(
            f"the demo needs {module}: pip install 'jaxsched[{extra}]' "
            f"(or run `make demo`, which installs it)"
        ) from None


# -- data and model -------------------------------------------------------------------------------


def load_digits(seed: int, test_fraction: float = 0.2) -> tuple[np.ndarray, ...]:
    """scikit-learn's digits, pixels scaled to [0, 1] and centred, split into train and test."""
    _need("sklearn")
    from sklearn.datasets import load_digits as sklearn_digits

    x, y = sklearn_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    y = y.astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(len(x) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    mean = x[train].mean(axis=0)
    return x[train] - mean, y[train], x[test] - mean, y[test]


def init_mlp(key: jax.Array, sizes: tuple[int, ...]) -> list[dict[str, jax.Array]]:
    """He-initialised dense layers."""
    params = []
    for k, (n_in, n_out) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes, sizes[1:])):
        w = jax.random.normal(k, (n_in, n_out), jnp.float32) * jnp.float32(math.sqrt(2 / n_in))
        params.append({"w": w, "b": jnp.zeros((n_out,), jnp.float32)})
    return params


def mlp(params: list[dict[str, jax.Array]], x: jax.Array) -> jax.Array:
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"][None, :])
    return x @ params[-1]["w"] + params[-1]["b"][None, :]


def loss_fn(params: Any, batch: tuple[jax.Array, jax.Array]) -> jax.Array:
    """Mean softmax cross-entropy of the MLP on ``batch = (x, labels)``."""
    x, y = batch
    return optax.softmax_cross_entropy_with_integer_labels(mlp(params, x), y).mean()


@jax.jit
def evaluate(params: Any, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(mean loss, accuracy) on a whole data set."""
    logits = mlp(params, x)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    return loss, jnp.mean((jnp.argmax(logits, axis=-1) == y).astype(jnp.float32))


def batch_indices(n: int, batch_size: int, steps: int, seed: int) -> np.ndarray:
    """``[steps, batch_size]`` indices: shuffled epochs, the same for every run."""
    rng = np.random.default_rng(seed + 1)
    per_epoch = n // batch_size
    epochs = -(-steps // per_epoch)
    idx = np.concatenate([rng.permutation(n)[: per_epoch * batch_size] for _ in range(epochs)])
    return idx.reshape(-1, batch_size)[:steps].astype(np.int32)


# -- the runs -------------------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    """One training run: a name, its base schedule, and whether reduce_on_plateau is chained."""

    name: str
    schedule: Any
    plateau: dict[str, Any] | None = None

    def optimizer(self) -> optax.GradientTransformationExtraArgs:
        sgd = optax.sgd(self.schedule, momentum=MOMENTUM, nesterov=True)
        if self.plateau is None:
            return optax.chain(sgd)  # a chain passes `value=` along (and ignores it)
        return optax.chain(sgd, reduce_on_plateau(**self.plateau))


def demo_runs(steps: int, steps_per_epoch: int) -> list[Run]:
    """The schedules the demo compares, all peaking at `PEAK_LR`, sized to `steps`."""
    import jaxsched as js

    warm = max(steps // 20, 1)
    first_cycle = max(steps // 7, 1)  # cycles of 1, 2 and 4 units fill the run
    return [
        Run("constant", js.constant(PEAK_LR)),
        Run("step decay", js.step_decay(PEAK_LR, max(steps // 3, 1), 0.1)),  # every, gamma
        Run("cosine + warmup", js.warmup(js.cosine_annealing(PEAK_LR, max(steps - warm, 1)),
                                         warm)),
        Run("one-cycle", js.one_cycle(PEAK_LR, steps)),
        Run("SGDR", js.sgdr(PEAK_LR, first_cycle, cycle_mult=2)),
        Run("reduce on plateau", js.constant(PEAK_LR),
            plateau={"factor": 0.3, "patience": 2,
                     "accumulation_steps": max(steps_per_epoch // 2, 1)}),
    ]


@dataclasses.dataclass
class RunResult:
    name: str
    lrs: np.ndarray  # effective learning rate of each step
    losses: np.ndarray  # minibatch loss of each step, before its update
    train_loss: float
    test_loss: float
    test_accuracy: float
    seconds: float


def _tree_where(flag: jax.Array, new: Any, old: Any) -> Any:
    return jax.tree.map(lambda a, b: jnp.where(flag, a, b), new, old)


def _make_chunk(optimizer: optax.GradientTransformationExtraArgs, schedule: Any,
                plateau: bool) -> Callable[..., Any]:
    """A compiled scan over a chunk of steps; also returns each step's loss and effective lr."""
    grad_fn = jax.value_and_grad(loss_fn)

    @jax.jit
    def chunk(params, opt_state, step, x, y, idx, active):
        def one_step(carry, xs):
            params, opt_state, step = carry
            batch_idx, is_active = xs
            loss, grads = grad_fn(params, (x[batch_idx], y[batch_idx]))
            updates, new_state = optimizer.update(grads, opt_state, params, value=loss)
            new_params = optax.apply_updates(params, updates)
            lr = schedule(step)
            if plateau:
                lr = lr * plateau_scale(new_state)
            params = _tree_where(is_active, new_params, params)
            opt_state = _tree_where(is_active, new_state, opt_state)
            step = step + is_active.astype(step.dtype)
            return (params, opt_state, step), (loss, lr)

        (params, opt_state, step), (losses, lrs) = jax.lax.scan(
            one_step, (params, opt_state, step), (idx, active)
        )
        return params, opt_state, step, losses, lrs

    return chunk


class _PlainProgress:
    """Without tqdm: one line per run on stderr when it is done."""

    def __init__(self, total: int, desc: str):
        self.total, self.desc, self.done = total, desc, 0
        self.start = time.perf_counter()

    def update(self, n: int) -> None:
        self.done += n

    def close(self) -> None:
        print(f"{self.desc}: {self.done}/{self.total} steps in "
              f"{time.perf_counter() - self.start:.1f} s", file=sys.stderr)


def _progress_bar(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return _PlainProgress(total, desc)
    return tqdm(total=total, desc=f"{desc:<18}", unit="step", leave=True, file=sys.stderr,
                dynamic_ncols=True)


def train(run: Run, params: Any, data: tuple[np.ndarray, ...], indices: np.ndarray, *,
          progress: bool = True) -> RunResult:
    """Trains from `params` on the minibatches `indices` with `run`'s optimizer."""
    x_train, y_train, x_test, y_test = data
    steps = len(indices)
    start = time.perf_counter()
    optimizer = run.optimizer()
    opt_state = optimizer.init(params)
    chunk = _make_chunk(optimizer, run.schedule, run.plateau is not None)
    chunk_size = -(-steps // min(NUM_CHUNKS, steps))
    padded = chunk_size * -(-steps // chunk_size)
    idx = np.zeros((padded, indices.shape[1]), np.int32)
    idx[:steps] = indices
    active = np.arange(padded) < steps
    x, y = jnp.asarray(x_train), jnp.asarray(y_train)
    step = jnp.zeros((), jnp.int32)
    losses, lrs = [], []
    bar = _progress_bar(steps, run.name, progress)
    try:
        for lo in range(0, padded, chunk_size):
            hi = lo + chunk_size
            params, opt_state, step, chunk_losses, chunk_lrs = chunk(
                params, opt_state, step, x, y, idx[lo:hi], active[lo:hi]
            )
            losses.append(np.asarray(chunk_losses))
            lrs.append(np.asarray(chunk_lrs))
            if bar is not None:
                bar.update(min(hi, steps) - min(lo, steps))
    finally:
        if bar is not None:
            bar.close()
    train_loss, _ = evaluate(params, x, y)
    test_loss, accuracy = evaluate(params, jnp.asarray(x_test), jnp.asarray(y_test))
    seconds = time.perf_counter() - start
    return RunResult(
        name=run.name,
        lrs=np.concatenate(lrs)[:steps].astype(np.float64),
        losses=np.concatenate(losses)[:steps].astype(np.float64),
        train_loss=float(train_loss),
        test_loss=float(test_loss),
        test_accuracy=float(accuracy),
        seconds=seconds,
    )


def find_lr(params: Any, data: tuple[np.ndarray, ...], batch_size: int, num_steps: int,
            seed: int) -> Any:
    """The learning-rate range test on the demo's model and optimizer."""
    import jaxsched as js

    x_train, y_train = data[0], data[1]
    optimizer = optax.inject_hyperparams(optax.sgd)(
        learning_rate=PEAK_LR, momentum=MOMENTUM, nesterov=True
    )
    train_step = js.make_train_step(loss_fn, optimizer)
    idx = batch_indices(len(x_train), batch_size, num_steps, seed + 7)
    batches = (jnp.asarray(x_train[idx]), jnp.asarray(y_train[idx]))
    return js.lr_find(train_step, params, optimizer.init(params), batches,
                      min_lr=FIND_RANGE[0], max_lr=FIND_RANGE[1], num_steps=num_steps)


# -- output ---------------------------------------------------------------------------------------


def finder_line(finder: Any, find_steps: int) -> str:
    """What the range test found, in one line (why not, when it suggests nothing)."""
    swept = f"{find_steps} steps, lr {FIND_RANGE[0]:g} to {FIND_RANGE[1]:g}"
    if finder.diverged_at is not None and len(finder.lrs):
        swept += f", stopped at {finder.lrs[-1]:.3g} where the loss diverged"
    if finder.suggestion is None:
        return f"lr_find ({swept}): no suggestion: {finder.messages['steep']}"
    found = ", ".join(f"{name} {lr:.3g}" if lr is not None else f"{name} none"
                      for name, lr in finder.suggestions.items())
    return f"lr_find ({swept}): suggestions {found}; the runs above peak at {PEAK_LR}"


def results_table(results: list[RunResult]) -> str:
    width = max(len("schedule"), *(len(r.name) for r in results))
    head = (f"{'schedule':<{width}}  {'train loss':>10}  {'test loss':>9}  {'test acc':>8}  "
            f"{'time':>7}")
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r.name:<{width}}  {r.train_loss:>10.4f}  {r.test_loss:>9.4f}  "
            f"{100 * r.test_accuracy:>7.2f}%  {r.seconds:>5.1f} s"
        )
    return "\n".join(lines)


def smooth(losses: np.ndarray, window: int) -> np.ndarray:
    """Moving average over `window` steps (shorter at the start), for readable loss curves."""
    window = max(1, min(window, len(losses)))
    c = np.cumsum(np.insert(losses, 0, 0.0))
    out = np.empty_like(losses)
    for i in range(len(losses)):
        lo = max(0, i + 1 - window)
        out[i] = (c[i + 1] - c[lo]) / (i + 1 - lo)
    return out


def write_figure(results: list[RunResult], finder: Any, path: str, steps_per_epoch: int) -> None:
    """Learning rates, training losses, and the range test, side by side.

    The runs' legend sits below the panels, where it covers no curve. The learning rate is drawn
    on a linear axis: on a log axis every anneal to 0 (each SGDR cycle's end) dives to the bottom.
    """
    _need("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 3 if finder is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.6), layout="constrained")
    try:
        ax_lr, ax_loss = axes[0], axes[1]
        for r in results:
            steps = np.arange(len(r.lrs))
            ax_lr.plot(steps, r.lrs, label=r.name, drawstyle="steps-post", linewidth=1.4)
            ax_loss.plot(steps, smooth(r.losses, steps_per_epoch), linewidth=1.2)
        ax_lr.set(title="learning rate (effective)", xlabel="step", ylabel="learning rate",
                  ylim=(0, PEAK_LR * 1.05))
        ax_loss.set(title=f"training loss, smoothed over one epoch\n(the mean of the last "
                          f"{steps_per_epoch} minibatch losses)",
                    xlabel="step", ylabel="cross-entropy", yscale="log")
        fig.legend(loc="outside lower center", ncols=len(results), fontsize="small",
                   frameon=False, handles=ax_lr.get_lines())
        for ax in axes:
            ax.grid(alpha=0.3, which="both")
        if finder is not None:
            ax = finder.plot(ax=axes[2])
            ax.axvline(PEAK_LR, color="black", linewidth=1, label=f"the runs' peak: {PEAK_LR:g}")
            ax.set_title("lr range test (lr_find)")
            ax.legend(fontsize="small", loc="lower left", framealpha=0.9)
        fig.savefig(path, dpi=90)
    finally:
        plt.close(fig)


def run_demo(*, steps: int = DEFAULTS["steps"], out: str = DEFAULTS["out"],
             batch_size: int = DEFAULTS["batch_size"], hidden: int = DEFAULTS["hidden"],
             find_steps: int = DEFAULTS["find_steps"], seed: int = DEFAULTS["seed"],
             progress: bool = True, stream: Any = None) -> tuple[list[RunResult], Any, str]:
    """Runs the whole demo; prints the table and the PNG's path to `stream` (stdout).

    Returns:
      ``(results, lr_find result, png path)``.
    """
    stream = stream or sys.stdout
    _need("sklearn")
    _need("matplotlib")
    data = load_digits(seed)
    n_train = len(data[0])
    batch_size = min(batch_size, n_train)
    steps_per_epoch = n_train // batch_size
    params = init_mlp(jax.random.key(seed), (data[0].shape[1], hidden, 10))
    indices = batch_indices(n_train, batch_size, steps, seed)
    print(
        f"digits: {n_train} training and {len(data[2])} test images; MLP 64-{hidden}-10, SGD "
        f"(Nesterov momentum {MOMENTUM}), batch {batch_size}, {steps} steps "
        f"({steps / steps_per_epoch:.1f} epochs), peak lr {PEAK_LR}",
        file=stream,
    )
    results = []
    for run in demo_runs(steps, steps_per_epoch):
        results.append(train(run, params, data, indices, progress=progress))
    print(file=stream)
    print(results_table(results), file=stream)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a missing suggestion is printed below
        finder = find_lr(params, data, batch_size, find_steps, seed)
    print(f"\n{finder_line(finder, find_steps)}", file=stream)

    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "demo.png")
    write_figure(results, finder, path, steps_per_epoch)
    print(f"wrote {path}", file=stream)
    return results, finder, path
