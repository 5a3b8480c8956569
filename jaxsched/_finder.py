"""The learning-rate range test (`lr_find`): one compiled sweep, sound suggestions, a plot.

The test (L. N. Smith, "Cyclical Learning Rates for Training Neural Networks", arXiv:1506.01186)
trains for a few steps while the learning rate grows from `min_lr` to `max_lr`, and records the
loss after each step. Too small a rate barely moves the loss, a good one makes it fall quickly,
and too large a one makes it blow up. fastai's ``lr_find``, PyTorch Lightning's tuner and
pytorch-lr-finder offer it to PyTorch users; here it is built the JAX way:

* the sweep is a `jax.lax.scan` over the steps, compiled once and run in a few chunks (so that a
  progress bar can advance between them); the learning-rate grid is an array argument, so one
  compilation serves every `min_lr` / `max_lr`;
* once the loss diverges, the remaining steps are skipped inside the compiled loop (a
  `jax.lax.cond`), not computed on NaNs, and the remaining chunks are not run at all;
* the caller's `params` and `opt_state` are only read, never donated or modified;
* the compiled sweep is cached for as long as the caller keeps its `train_step` (and batch
  function), and no longer: nothing here keeps a dropped closure, or the arrays it holds, alive.

This module checks `lr_find`'s arguments, runs the sweep (`_finder_sweep`) and builds the
result (`_finder_result`, with the suggestion rules of `_finder_rules`); `make_train_step` builds
a train step from a loss function and an optax optimizer (`_train_step`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks, _finder_sweep
from ._finder_result import LRFindResult
from ._finder_rules import MIN_POINTS, SUGGESTION_METHODS
from ._finder_sweep import Settings, TrainStep
from ._train_step import INJECT_STATES

__all__ = ["lr_find"]


def _check_settings(min_lr: Any, max_lr: Any, num_steps: Any, mode: Any, smoothing: Any,
                    diverge_threshold: Any, num_chunks: Any) -> Settings:
    mode = _checks.choice("mode", mode, ("exp", "linear"))
    min_lr = float(_checks.positive("min_lr", min_lr) if mode == "exp"
                   else _checks.nonnegative("min_lr", min_lr))
    max_lr = float(_checks.real("max_lr", max_lr))
    if not max_lr > min_lr:
        raise ValueError(
            f"max_lr must be greater than min_lr, got max_lr={max_lr!r} with min_lr={min_lr!r}"
        )
    num_steps = int(_checks.integer("num_steps", num_steps, low=2))
    smoothing = float(_checks.real("smoothing", smoothing, low=0.0, high=1.0, high_open=True))
    if diverge_threshold is None:
        threshold = math.inf
    else:
        threshold = float(_checks.real("diverge_threshold", diverge_threshold, low=1.0))
    num_chunks = int(_checks.positive_int("num_chunks", num_chunks))
    return Settings(min_lr, max_lr, num_steps, mode, smoothing, threshold, num_chunks)


def _check_batches(batches: Any, num_steps: int) -> Any:
    leaves = jax.tree_util.tree_leaves(batches)
    if any(np.ndim(leaf) == 0 or np.shape(leaf)[0] != num_steps for leaf in leaves):
        raise ValueError(
            f"batches must be a callable i -> batch or a pytree whose every leaf has a leading "
            f"axis of length num_steps={num_steps}, got leaves of shapes "
            f"{[np.shape(leaf) for leaf in leaves]}"
        )
    # Host arrays go to the device once, not once per chunk.
    return jax.tree_util.tree_map(
        lambda x: x if isinstance(x, jax.Array) else jax.device_put(x), batches
    )


def _progress_callback(progress: Any,
                       num_steps: int) -> tuple[Callable[[int, int], None] | None, Any]:
    if progress is None or progress is False:
        return None, None
    if progress is True:
        try:
            from tqdm.auto import tqdm
        except ImportError as error:
            raise ImportError(
                "progress=True needs tqdm, which is not installed: pip install tqdm; or pass "
                "a callable progress(steps_done, num_steps)"
            ) from error
        bar = tqdm(desc="lr_find", total=num_steps, unit="step")

        def update(done: int, total: int) -> None:
            bar.update(done - bar.n)

        return update, bar
    if callable(progress):
        return progress, None
    raise TypeError(
        f"progress must be None, a bool or a callable progress(steps_done, num_steps), got "
        f"progress={progress!r}"
    )


def _result(grid: np.ndarray, losses: np.ndarray, smoothed: np.ndarray, active: bool,
            settings: Settings) -> LRFindResult:
    """The result of the steps taken: the last one is dropped if it diverged to NaN or inf."""
    diverged_at = None if active else len(losses) - 1
    recorded = len(losses)
    if diverged_at is not None and not (
        np.isfinite(losses[diverged_at]) and np.isfinite(smoothed[diverged_at])
    ):
        recorded -= 1
    return LRFindResult(
        lrs=grid[:recorded],
        losses=losses[:recorded].astype(np.float64),
        smoothed_losses=smoothed[:recorded].astype(np.float64),
        num_steps=settings.num_steps,
        mode=settings.mode,
        diverged_at=diverged_at,
        smoothing=settings.smoothing,
    )


def _low_precision_hyperparams(opt_state: Any) -> dict[str, Any]:
    """The hyperparameters injected in `opt_state` held in a float type below 32 bits."""
    found = {}
    for node in jax.tree_util.tree_leaves(
        opt_state, is_leaf=lambda node: isinstance(node, INJECT_STATES)
    ):
        if isinstance(node, INJECT_STATES):
            for name, value in node.hyperparams.items():
                dtype = jnp.result_type(value)
                if jnp.issubdtype(dtype, jnp.floating) and jnp.finfo(dtype).bits < 32:
                    found[name] = value
    return found


def _non_finite_note(losses: np.ndarray, result: LRFindResult, grid: np.ndarray,
                     opt_state: Any) -> str | None:
    """Why the sweep gave nothing when its loss turned NaN or inf too early, or None."""
    at = result.diverged_at
    if at is None or np.isfinite(losses[at]) or at >= result._num_steps() // 10 + MIN_POINTS:
        return None
    note = (f"the loss was not finite ({float(losses[at])}) at step {at} of the sweep "
            f"(lr={grid[at]:.3g}), too early for any suggestion. ")
    low = _low_precision_hyperparams(opt_state)
    if low:
        dtype = jnp.result_type(next(iter(low.values())))
        shown = ", ".join(f"{name}={float(np.asarray(v, np.float32).reshape(-1)[0]):.4g}"
                          for name, v in low.items())
        return note + (
            f"opt_state holds the optimizer's hyperparameters in {dtype.name} ({shown}): "
            f"0.999 (Adam's b2) is {float(jnp.asarray(0.999, dtype)):.6g} in {dtype.name}, and "
            "hyperparameters rounded this far break the update. Keep them in float32, e.g. "
            "optax.inject_hyperparams(optax.adam, hyperparam_dtype=jnp.float32)(...)."
        )
    return note + (
        "A loss that is NaN or infinite at the smallest learning rates comes from the training "
        "step itself, not from the rate: check train_step (its loss and its optimizer's "
        "hyperparameters) at a tiny lr; if min_lr is large for this model, lower it."
    )


def _warn(result: LRFindResult, note: str | None) -> None:
    """One warning from lr_find when a rule has no suggestion (stacklevel: lr_find's caller)."""
    if note is not None:
        warnings.warn(f"lr_find: no suggestion: {note}", stacklevel=3)
    elif result.messages:
        reasons = list(result.messages.values())
        if len(reasons) == len(SUGGESTION_METHODS) and len(set(reasons)) == 1:
            text = f"no suggestion: {reasons[0]}"
        else:
            text = "no suggestion for " + "; ".join(
                f"{m!r}: {why}" for m, why in result.messages.items())
        warnings.warn(f"lr_find: {text}", stacklevel=3)
def lr_find(
    train_step: TrainStep,
    params: Any,
    opt_state: Any,
    batches: Any,
    *,
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    num_steps: int = 100,
    mode: str = "exp",
    smoothing: float = 0.98,
    diverge_threshold: float | None = 4.0,
    num_chunks: int = 10,
    progress: bool | Callable[[int, int], None] | None = None,
) -> LRFindResult:
    r"""Runs the learning-rate range test: one short training run with a growing lr.

    Step ``i`` (from 0) trains with ``lrs[i]``, a grid from `min_lr` to `max_lr` computed in
    float64 on the host, both ends included (fastai's grid stops one step short of its
    ``end_lr``; Lightning's skips its second value, doubling its first gap):

    .. math::
        \mathrm{lr}_i = \mathrm{min\_lr}\,(\mathrm{max\_lr}/\mathrm{min\_lr})^{i/(n-1)}
        \ (\text{"exp"}), \qquad
        \mathrm{lr}_i = \mathrm{min\_lr} + (\mathrm{max\_lr}-\mathrm{min\_lr})\,i/(n-1)
        \ (\text{"linear"}).

    The loss :math:`\ell_i` is smoothed by a bias-corrected exponential moving average (as
    fastai and Lightning do, with :math:`\beta` = `smoothing`):

    .. math::
        a_i = \beta a_{i-1} + (1-\beta)\,\ell_i,\ a_{-1} = 0, \qquad
        s_i = a_i / (1 - \beta^{i+1}).

    With :math:`b_i = \min_{j \le i} s_j`, the sweep has diverged at step i when :math:`s_i` is
    not finite or

    .. math:: s_i - b_i > (\mathrm{diverge\_threshold} - 1)\,|b_i|.

    For a positive best loss this is fastai's and Lightning's test
    :math:`s_i > \mathrm{diverge\_threshold} \cdot b_i` exactly. Their ratio test breaks for
    negative losses (log-likelihoods, shifted objectives): with :math:`b_i = -10` it would call
    every :math:`s_i > -40` a divergence and stop at the second step. Measuring the rise above
    the best against :math:`|b_i|` keeps the meaning ("the loss came back up by more than
    threshold − 1 times the size of its best value") for either sign. After divergence the
    remaining steps are skipped (`jax.lax.cond` inside the scan) and the remaining chunks are
    not run; the recorded curve ends there.

    The sweep is a `jax.lax.scan`, run in `num_chunks` chunks of equal length (the last one
    padded with skipped steps) so that one compilation serves every chunk. The grid is an
    argument of the compiled function: changing `min_lr`, `max_lr`, `mode`, `smoothing` or
    `diverge_threshold` does not recompile; changing the shapes, `train_step` itself, or the
    chunk length (``ceil(num_steps / num_chunks)``) does. Build `train_step` once and reuse it:
    a new function object (a new lambda) means a new compilation. The compiled sweep is kept
    for as long as `train_step` (and a batch function) lives, by weak reference: when the
    caller drops them, it goes too, with any arrays their closures captured.

    `params` and `opt_state` are only read: nothing is donated, so the caller's arrays stay
    valid and unchanged, and the trained copy is thrown away.

    Each chunk costs a dispatch and a read of one flag (a few tenths of a millisecond on a CPU);
    for a model whose steps take microseconds, ``num_chunks=1`` is the fastest sweep.

    Args:
        train_step: a pure function ``train_step(params, opt_state, batch, lr) -> (params,
            opt_state, loss)`` with a real scalar loss; `lr` arrives as a float32 JAX scalar
            (float64 where x64 is enabled and `params` hold float64 leaves). It is traced, so
            it must not branch on its arguments in Python. `make_train_step` builds one from a
            loss function and an optax optimizer.
        params: the initial parameters (any pytree).
        opt_state: the initial optimizer state (any pytree).
        batches: either a pytree whose every leaf has a leading axis of length `num_steps`
            (step i gets the slice ``[i]`` of each leaf), or a callable ``i -> batch`` that is
            traced with an int32 JAX scalar `i` (so it must use JAX operations, e.g. index a
            device array or call ``jax.random.fold_in``).
        min_lr: the first learning rate (> 0 in "exp" mode, >= 0 in "linear" mode).
        max_lr: the last learning rate (> min_lr).
        num_steps: the number of steps (>= 2), one per learning rate.
        mode: ``"exp"`` (geometric grid, the default) or ``"linear"``.
        smoothing: the moving-average factor :math:`\beta`, in [0, 1); 0 means no smoothing.
        diverge_threshold: the divergence factor (>= 1), as above; None only stops on
            non-finite losses.
        num_chunks: how many compiled chunks the sweep is run in (the progress granularity).
        progress: None or False for no progress report; True for a tqdm bar (needs tqdm); or a
            callable ``progress(steps_done, num_steps)`` called after each chunk.

    Returns:
        An `LRFindResult`: the recorded ``lrs``, ``losses`` and ``smoothed_losses``, the
        ``suggestion`` (steepest descent of the smoothed loss against log lr) and the named
        ``suggestions`` ``"steep"``, ``"valley"`` and ``"minimum"`` (see `LRFindResult.suggest`
        for each rule and its source). A suggestion is None, and one warning says why, when
        the loss diverges too early for a rule, when it never falls beyond its noise (a flat
        loss, a frozen model; see `LRFindResult.suggest` for the definition), or when it is
        NaN or infinite at the first steps (the warning then names the step, and any
        hyperparameters that `opt_state` holds in a float type below 32 bits, such as
        bfloat16, where Adam's ``b2 = 0.999`` is 1.0: build the optimizer with
        ``optax.inject_hyperparams(..., hyperparam_dtype=jnp.float32)``).

    Raises:
        ValueError: for a bad `min_lr`, `max_lr`, `num_steps`, `mode`, `smoothing`,
            `diverge_threshold` or `num_chunks`, or `batches` without a leading axis of length
            `num_steps`.
        TypeError: when `train_step` is not callable or does not return ``(params, opt_state,
            scalar loss)`` with the structure of its inputs (the dtypes of `opt_state` may
            change once, at the first step, as optax's Adam's first moment does with float32
            hyperparameters and bfloat16 params).

    Example:
        Least squares with gradient descent, which diverges above ``2 / L``:

        >>> import jax, jax.numpy as jnp, numpy as np
        >>> import jaxsched as js
        >>> X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
        >>> y = X @ np.arange(1.0, 5.0, dtype=np.float32)
        >>> L = np.linalg.eigvalsh(X.T @ X / 64).max()
        >>> def step(w, state, batch, lr):
        ...     x, y = batch
        ...     loss, grad = jax.value_and_grad(lambda w: jnp.mean((x @ w - y) ** 2) / 2)(w)
        ...     return w - lr * grad, state, loss
        >>> result = js.lr_find(step, jnp.zeros(4), (), lambda i: (X, y),
        ...                     min_lr=1e-4, max_lr=100.0, num_steps=100)
        >>> print(f"{result.lrs[0]:.0e}", result.diverged_at is not None)
        1e-04 True
        >>> print(1 / (100 * L) < result.suggestion < 2 / L, result.lrs[-1] > 2 / L)
        True True
    """
    if not callable(train_step):
        raise TypeError(f"train_step must be callable, got train_step={train_step!r}")
    settings = _check_settings(min_lr, max_lr, num_steps, mode, smoothing, diverge_threshold,
                               num_chunks)
    if callable(batches):
        batch_fn, batches = batches, None
    else:
        batch_fn, batches = None, _check_batches(batches, settings.num_steps)
    report, bar = _progress_callback(progress, settings.num_steps)
    grid = _finder_sweep.grid(settings.min_lr, settings.max_lr, settings.num_steps, settings.mode)
    try:
        losses, smoothed, active = _finder_sweep.sweep(
            train_step, batch_fn, params, opt_state, batches, grid, settings, report)
    finally:
        if bar is not None:
            bar.close()
    result = _result(grid, losses, smoothed, active, settings)
    _warn(result, _non_finite_note(losses, result, grid, opt_state))
    return result
