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

The module has three parts: the result and its suggestion rules (host NumPy), the sweep (the
compiled chunks, their cache and the loop that runs them), and `lr_find`, which checks its
arguments, runs the sweep and builds the result.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import inspect
import math
import warnings
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from . import _checks

__all__ = ["LRFindResult", "lr_find", "make_train_step"]

SUGGESTION_METHODS = ("steep", "valley", "minimum")
MIN_POINTS = 3  # fewest points any suggestion rule is computed from
# The noise a fall of the smoothed loss must exceed (see `LRFindResult.suggest`):
ROUNDING_ULPS = 4  # the float32 moving average's rounding error: 4 ulps per 1 / (1 - smoothing)
CHANCE = 0.01  # how often a model that does not learn may seem to (a fall beyond noise)
SIMULATIONS = 2000  # simulated sweeps that set the batch noise's part of that noise
FLOAT32_EPS = float(np.finfo(np.float32).eps)  # 2**-23
MAD_TO_STD = 0.6745  # the median of |N(0, 1)|

TrainStep = Callable[[Any, Any, Any, jax.Array], tuple[Any, Any, jax.Array]]

_INJECT_STATES = (optax.InjectHyperparamsState, optax.InjectStatefulHyperparamsState)


# ---------------------------------------------------------------------------------------------
# The result and its suggestion rules (plain NumPy on the host)
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class LRFindResult:
    """The outcome of `lr_find`: the curve and the learning rates suggested from it.

    Only the steps taken before the loss diverged are kept (the step at which divergence was
    detected is kept too when its loss is finite), so no array holds a NaN or an infinity.

    Attributes:
        lrs: the learning rate of each recorded step, float64, computed on the host. Without
            divergence ``lrs[0] == min_lr`` and ``lrs[-1] == max_lr`` exactly.
        losses: the loss returned by ``train_step`` at each recorded step (float64).
        smoothed_losses: the bias-corrected exponential moving average of `losses` (float64).
        num_steps: the number of steps the sweep was asked for (defaults to ``len(lrs)`` when
            a result is built by hand, e.g. from saved arrays).
        mode: ``"exp"`` or ``"linear"``, how the grid was spaced.
        diverged_at: the index (into the full grid) of the step at which divergence was
            detected, or None when the sweep ran to `max_lr`.
        smoothing: the moving-average factor the losses were smoothed with (lr_find's
            `smoothing`); the noise test of `suggest` needs it.
        suggestions: ``{"steep": lr, "valley": lr, "minimum": lr}``, computed with the default
            skips of `suggest`; a value is None where the rule has nothing to go on (too few
            points, or a loss that never falls beyond its noise).
        messages: for each rule that gave no suggestion, why.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    num_steps: int | None = None
    mode: str = "exp"
    diverged_at: int | None = None
    smoothing: float = 0.98
    suggestions: dict[str, float | None] = dataclasses.field(init=False)
    messages: dict[str, str] = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self._check_arrays()
        if self.num_steps is None:
            object.__setattr__(self, "num_steps", len(self.lrs))
        _checks.choice("mode", self.mode, ("exp", "linear"))
        smoothing = _checks.real("smoothing", self.smoothing, low=0.0, high=1.0, high_open=True)
        object.__setattr__(self, "smoothing", float(smoothing))
        suggestions: dict[str, float | None] = {}
        messages: dict[str, str] = {}
        for method in SUGGESTION_METHODS:
            lr, why = self._suggest(method, None, 0)
            suggestions[method] = lr
            if why is not None:
                messages[method] = why
        object.__setattr__(self, "suggestions", suggestions)
        object.__setattr__(self, "messages", messages)

    def _check_arrays(self) -> None:
        """Stores read-only float64 copies of the three curves, after checking them."""
        arrays = {}
        for name in ("lrs", "losses", "smoothed_losses"):
            array = np.array(getattr(self, name), dtype=np.float64)  # a read-only copy
            if array.ndim != 1 or not np.all(np.isfinite(array)):
                raise ValueError(f"{name} must be a 1-D array of finite numbers, "
                                 f"got {name} of shape {array.shape}")
            array.setflags(write=False)
            arrays[name] = array
        if not len(arrays["lrs"]) == len(arrays["losses"]) == len(arrays["smoothed_losses"]):
            raise ValueError(
                "lrs, losses and smoothed_losses must have the same length, got lengths "
                f"{[len(a) for a in arrays.values()]}"
            )
        if np.any(arrays["lrs"] < 0) or np.any(np.diff(arrays["lrs"]) <= 0):
            raise ValueError("lrs must be non-negative and strictly increasing")
        for name, array in arrays.items():
            object.__setattr__(self, name, array)

    @property
    def suggestion(self) -> float | None:
        """The main suggestion: the steepest descent of the smoothed loss (``"steep"``)."""
        return self.suggestions["steep"]

    def suggest(self, method: str = "steep", *, skip_start: int | None = None,
                skip_end: int = 0) -> float | None:
        r"""Recomputes one suggestion from the recorded curve (no plotting, no new sweep).

        All rules look at the smoothed loss of the recorded (pre-divergence) steps, less the
        first `skip_start` and the last `skip_end` of them. The early points are skipped because
        a moving average over a handful of losses is still noisy; fastai drops the first
        ``num_it // 10`` (and the last 5), Lightning the first 10 (and the last 1),
        pytorch-lr-finder the first 10 (and the last 5).

        **Noise.** No rule answers unless the smoothed loss falls beyond its noise somewhere:
        over the usable points :math:`s_0, s_1, \dots` (after `skip_start`), some point
        :math:`j` must lie below the highest point before it by more than its noise,

        .. math::
            \max_{i \le j} s_i - s_j > \frac{4 \varepsilon}{1 - \beta} \max_{i \le j} |s_i|
            + q\, \hat\sigma, \qquad
            \hat\sigma = \frac{\operatorname{median}_k |\Delta_k - \operatorname{median}
            \Delta|}{0.6745 \sqrt 2}.

        The first term bounds the rounding error of the moving average, computed in float32
        (:math:`\varepsilon = 2^{-23}`, :math:`\beta` = `smoothing`): a constant loss comes back
        with wiggles of up to 25 ulps at :math:`\beta = 0.98`, where the bound is 200. The
        second is the batch-to-batch noise. :math:`\hat\sigma` estimates the standard deviation
        of the raw losses from their successive differences :math:`\Delta_k = \ell_{k+1} -
        \ell_k` over the usable points (their median absolute deviation, so a steady trend and
        a few outliers do not count as noise), and :math:`q` is the fall that a model which does
        not learn (independent losses of standard deviation 1, no trend) exceeds by chance in
        1% of sweeps of the same length, smoothing and skip: the 99th percentile of 2,000
        simulated sweeps, with a fixed seed so that it is the same number every time (1.0
        for 100 steps at :math:`\beta = 0.98`, 7.3 at :math:`\beta = 0`). A loss that never
        falls beyond this noise (a constant loss, a frozen model, a learning rate that does not
        reach the update) gives None for every rule, and a message that says so, with the fall
        that came closest to its noise, and that noise.

        **Rules.**

        * ``"steep"``: the lr where the smoothed loss falls fastest against log(lr), i.e. the
          minimum of its derivative with respect to log(lr), taken by central differences
          (`numpy.gradient` with the log-lr spacing). This is fastai's ``steep`` (which uses
          forward differences in log lr, fastai/callback/schedule.py) and pytorch-lr-finder's
          "steepest gradient" (``np.gradient`` of the loss over the step index, which is
          log-lr spacing in its "exp" mode, torch_lr_finder/lr_finder.py). Lightning
          (lightning/pytorch/tuner/lr_finder.py, ``_LRFinder.suggestion``) takes the gradient
          with respect to lr itself, which favours small lrs on a log grid; we follow the
          log-lr rule. No suggestion when the smoothed loss never falls.
        * ``"valley"``: fastai's rule (fastai/callback/schedule.py, ``valley``): find the
          longest strictly decreasing subsequence of the smoothed loss, treat the span from its
          first to its last index as the valley, and pick the point
          ``start + int(s) + int(s / 2)`` with ``s = (end - start) / 3``, about halfway down.
          fastai takes ``end - length`` as the start, one before where a contiguous run of
          that length would begin, and -1 (wrapping round to the largest lr) when the run
          begins at the first point; we follow the subsequence back (through the earliest
          predecessor, fastai's tie-break) to its actual first index. No suggestion when no two
          points decrease.
        * ``"minimum"``: the lr at the minimum of the smoothed loss, divided by 10 (fastai's
          ``minimum``, the "one order of magnitude below the minimum" advice of its book).

        Args:
            method: ``"steep"``, ``"valley"`` or ``"minimum"``.
            skip_start: how many recorded points to ignore at the start; None means
                ``num_steps // 10`` (fastai's choice).
            skip_end: how many recorded points to ignore at the end.

        Returns:
            The suggested learning rate as a Python float, or None (with a warning saying why)
            when fewer than 3 points are left, the loss never falls beyond its noise, or the
            rule finds nothing, e.g. because the loss diverged almost at once.
        """
        _checks.choice("method", method, SUGGESTION_METHODS)
        if skip_start is not None:
            skip_start = _checks.integer("skip_start", skip_start)
        skip_end = _checks.integer("skip_end", skip_end)
        lr, why = self._suggest(method, skip_start, skip_end)
        if why is not None:
            warnings.warn(f"lr_find: no {method!r} suggestion: {why}", stacklevel=2)
        return lr

    def _suggest(self, method: str, skip_start: int | None,
                 skip_end: int) -> tuple[float | None, str | None]:
        if skip_start is None:
            skip_start = self._num_steps() // 10
        n = len(self.lrs)
        stop = max(n - skip_end, 0)
        lrs = self.lrs[skip_start:stop]
        smoothed = self.smoothed_losses[skip_start:stop]
        if len(lrs) < MIN_POINTS:
            return None, self._too_few(len(lrs), skip_start, skip_end)
        fall, noise = _fall_and_noise(self.losses[skip_start:stop], smoothed, self.smoothing,
                                      skip_start)
        if not fall > noise:
            return None, (
                f"the smoothed loss never falls by more than its noise (closest: a fall of "
                f"{fall:.3g} against a noise of {noise:.3g}), so as far as this sweep can tell "
                "the learning rate made no difference to the loss. A frozen model does that (no "
                "gradient reaching the parameters, every parameter masked, an lr that does not "
                "reach the update); so does a sweep too short or too noisy to show the fall: "
                "raise num_steps or the batch size."
            )
        if method == "steep":  # the derivative against log(lr) needs lr > 0 (linear mode)
            keep = lrs > 0
            return _steep(lrs[keep], smoothed[keep])
        if method == "valley":
            return _valley(lrs, smoothed)
        return float(lrs[int(np.argmin(smoothed))]) / 10.0, None

    def _num_steps(self) -> int:
        """`num_steps`, which `__post_init__` sets when it is not given."""
        return len(self.lrs) if self.num_steps is None else self.num_steps

    def _too_few(self, usable: int, skip_start: int, skip_end: int) -> str:
        diverged = ("" if self.diverged_at is None
                    else f", diverging at step {self.diverged_at}")
        return (
            f"only {usable} usable points (the sweep recorded {len(self.lrs)} of "
            f"{self.num_steps}{diverged}; {skip_start} skipped at the start, {skip_end} at the "
            f"end), at least {MIN_POINTS} are needed. Lower min_lr, raise num_steps or lower "
            "smoothing."
        )

    def plot(self, ax: Any = None, *, show_losses: bool = True) -> Any:
        """Draws the smoothed loss against the learning rate, with the suggestions marked.

        Needs matplotlib (``pip install matplotlib``, or the ``plot`` extra), imported only
        here. The x axis is logarithmic for an ``"exp"`` sweep. Each available suggestion is a
        dashed vertical line labelled with its value. The y range is cut at the highest
        smoothed loss before the minimum, so a blow-up at the end does not flatten the curve.

        Args:
            ax: a matplotlib Axes to draw on; None creates a new figure.
            show_losses: also draw the raw losses, faintly.

        Returns:
            The matplotlib Axes.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as error:
            raise ImportError(
                "LRFindResult.plot needs matplotlib, which is not installed: "
                "pip install matplotlib (or jaxsched[plot])"
            ) from error
        if ax is None:
            _, ax = plt.subplots()
        if show_losses:
            ax.plot(self.lrs, self.losses, color="0.75", linewidth=0.8, label="loss")
        ax.plot(self.lrs, self.smoothed_losses, color="C0", label="smoothed loss")
        for k, (method, lr) in enumerate(self.suggestions.items()):
            if lr is not None:
                ax.axvline(lr, color=f"C{k + 1}", linestyle="--", label=f"{method}: {lr:.2e}")
        if self.mode == "exp":
            ax.set_xscale("log")
        if len(self.smoothed_losses):
            low = float(np.min(self.smoothed_losses))
            high = float(np.max(self.smoothed_losses[: int(np.argmin(self.smoothed_losses)) + 1]))
            if show_losses:
                low = min(low, float(np.min(self.losses)))
            pad = 0.1 * (high - low) if high > low else max(abs(high), 1.0) * 0.1
            ax.set_ylim(low - pad, high + pad)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.legend(loc="best")
        return ax

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{m}={'None' if lr is None else f'{lr:.3g}'}" for m, lr in self.suggestions.items()
        )
        return (
            f"LRFindResult(points={len(self.lrs)} of {self.num_steps}, mode={self.mode!r}, "
            f"diverged_at={self.diverged_at}, {shown})"
        )


def _fall_and_noise(losses: np.ndarray, smoothed: np.ndarray, beta: float,
                    skip_start: int) -> tuple[float, float]:
    """The fall of `smoothed` that most exceeds its noise, and that noise (`suggest`)."""
    falls = np.maximum.accumulate(smoothed) - smoothed
    rounding = ROUNDING_ULPS * FLOAT32_EPS / (1 - beta) * np.maximum.accumulate(np.abs(smoothed))
    j = int(np.argmax(falls - rounding))
    q = _chance_fall(len(losses), beta, skip_start)
    return float(falls[j]), float(rounding[j] + q * _sigma(losses))


def _sigma(losses: np.ndarray) -> np.ndarray:
    """The noise of the losses (along the last axis) from their successive differences."""
    steps = np.diff(losses, axis=-1)
    deviations = np.abs(steps - np.median(steps, axis=-1, keepdims=True))
    return np.median(deviations, axis=-1) / (MAD_TO_STD * math.sqrt(2))


@functools.lru_cache(maxsize=16)
def _chance_fall(num_points: int, beta: float, skip_start: int) -> float:
    """The q of `suggest`: the fall, in units of `_sigma`, that independent N(0, 1) losses
    exceed in a fraction `CHANCE` of `SIMULATIONS` sweeps (a fixed seed: always the same q)."""
    rng = np.random.default_rng(0)
    block = max(1, min(SIMULATIONS, 2**21 // (skip_start + num_points)))  # <= 16 MB at a time
    ratios = []
    for done in range(0, SIMULATIONS, block):  # step i of every simulated sweep is row i
        losses = rng.standard_normal((skip_start + num_points, min(block, SIMULATIONS - done)))
        smoothed, average = np.empty_like(losses), 0.0
        for i, loss in enumerate(losses):
            average = beta * average + (1 - beta) * loss
            smoothed[i] = average / (1 - beta ** (i + 1))
        smoothed, losses = smoothed[skip_start:], losses[skip_start:]
        falls = np.max(np.maximum.accumulate(smoothed, axis=0) - smoothed, axis=0)
        ratios.append(falls / _sigma(losses.T))
    return float(np.quantile(np.concatenate(ratios), 1 - CHANCE))


def _steep(lrs: np.ndarray, losses: np.ndarray) -> tuple[float | None, str | None]:
    if len(lrs) < 2:  # linear mode, min_lr = 0 among the few usable points
        return None, f"only {len(lrs)} usable points with lr > 0."
    slopes = np.gradient(losses, np.log(lrs))
    i = int(np.argmin(slopes))
    if not slopes[i] < 0:
        return None, "the smoothed loss never falls over the usable points; lower min_lr."
    return float(lrs[i]), None


def _valley(lrs: np.ndarray, losses: np.ndarray) -> tuple[float | None, str | None]:
    # length[i]: the longest strictly decreasing subsequence ending at i, by patience sorting
    # (O(n log n); fastai's double loop is O(n^2)).
    values = losses.tolist()
    length: list[int] = []
    tails: list[float] = []  # tails[k]: the highest last value of a run of length k + 1
    for value in values:
        k = bisect.bisect_left(tails, -value)
        tails[k:k + 1] = [-value]
        length.append(k + 1)
    end = length.index(max(length))  # the first end of a longest run, as in fastai
    if length[end] < 2:
        return None, "the smoothed loss never falls over the usable points; lower min_lr."
    # Back from the end through the earliest predecessor each time (fastai's choice). Points
    # with the same length have non-decreasing losses (a higher earlier one would lengthen the
    # later one's run), so the earliest predecessor higher than the current point is found by
    # bisection in its length class.
    members: dict[int, list[int]] = {}
    for i, n in enumerate(length):
        members.setdefault(n, []).append(i)
    start = end
    while length[start] > 1:
        group = members[length[start] - 1]
        k = bisect.bisect_right([values[j] for j in group], values[start])
        start = group[k]
    third = (end - start) / 3
    return float(lrs[start + int(third) + int(third / 2)]), None


# ---------------------------------------------------------------------------------------------
# The sweep: the compiled chunks, their cache, and the loop that runs them
# ---------------------------------------------------------------------------------------------


class _State(NamedTuple):
    """What changes from one step of the sweep to the next."""

    params: Any
    opt_state: Any
    average: jax.Array  # the moving average before bias correction
    best: jax.Array  # the lowest smoothed loss so far (+inf before the first step)
    active: jax.Array  # False once the loss has diverged


class _Sweep(NamedTuple):
    """All a chunk needs besides the batches, on the device, passed from chunk to chunk."""

    state: _State
    start: jax.Array  # the index of the next chunk's first step
    lrs: jax.Array  # the whole grid, padded to a whole number of chunks
    num_steps: jax.Array
    smoothing: jax.Array
    threshold: jax.Array


def _grid(min_lr: float, max_lr: float, num_steps: int, mode: str) -> np.ndarray:
    """The learning rates, float64, with both ends exact."""
    if mode == "exp":
        ratio = np.arange(num_steps, dtype=np.float64) / (num_steps - 1)
        lrs = min_lr * (max_lr / min_lr) ** ratio
    else:
        lrs = np.linspace(min_lr, max_lr, num_steps, dtype=np.float64)
    lrs[0], lrs[-1] = min_lr, max_lr
    return lrs


def _lr_dtype(params: Any) -> Any:
    """float32, or float64 where x64 is enabled and the params hold float64 leaves."""
    if jax.config.read("jax_enable_x64"):
        for leaf in jax.tree_util.tree_leaves(params):
            if jnp.result_type(leaf) == jnp.float64:
                return jnp.float64
    return jnp.float32


def _batch(batches: Any, batch_fn: Callable[[jax.Array], Any] | None, i: jax.Array) -> Any:
    if batch_fn is not None:
        return batch_fn(i)
    return jax.tree_util.tree_map(lambda x: x[i], batches)


def _describe(tree: Any, dtypes: bool = True) -> str:
    """The structure, shapes and dtypes of a pytree (weak typing ignored), for messages."""
    def spec(x: Any) -> str:
        return f"{jnp.result_type(x).name if dtypes else ''}{list(np.shape(x))}"

    return str(jax.tree_util.tree_map(spec, tree))


def _check_step(train_step: TrainStep, params: Any, opt_state: Any, batch: Any,
                lr: jax.Array) -> tuple[Any, Any, Any]:
    """Traces `train_step` abstractly; what it returns, after checking it (else TypeError).

    The params must come back as they went in. The opt_state may change its dtypes once, at
    the first step (optax's Adam with float32 hyperparameters turns bfloat16 params' first
    moment into float32), but must then keep them.
    """
    out = jax.eval_shape(train_step, params, opt_state, batch, lr)
    if not (isinstance(out, tuple) and len(out) == 3):
        raise TypeError(
            "train_step must return a tuple (params, opt_state, loss), "
            f"got train_step(...) -> {_describe(out)}"
        )
    new_params, new_state, loss = out
    if _describe(params) != _describe(new_params):
        raise TypeError(
            "train_step must return params with the structure, shapes and dtypes it was "
            f"given, got {_describe(new_params)} for {_describe(params)}"
        )
    again = new_state
    if _describe(opt_state) != _describe(new_state):
        again = jax.eval_shape(train_step, params, new_state, batch, lr)[1]
    if (_describe(opt_state, False) != _describe(new_state, False)
            or _describe(again) != _describe(new_state)):
        raise TypeError(
            "train_step must return opt_state with the structure and shapes it was given, "
            "and with dtypes that stay the same from its second step on, got "
            f"{_describe(new_state)} for {_describe(opt_state)}, then {_describe(again)}"
        )
    if not hasattr(loss, "shape") or loss.shape != () or not (
        jnp.issubdtype(loss.dtype, jnp.floating) or jnp.issubdtype(loss.dtype, jnp.integer)
    ):
        raise TypeError(
            "train_step must return a real scalar loss, got a loss of "
            f"{_describe(loss)}; reduce it to a scalar (e.g. with .mean())"
        )
    return new_params, new_state, loss


def _start(train_step, batch_fn, params, opt_state, batches, lrs, num_steps, smoothing,
           threshold):
    """Checks what `train_step` returns (at trace time) and sets up the sweep on the device."""
    batch = _batch(batches, batch_fn, jnp.zeros((), jnp.int32))
    new_params, new_state, loss = _check_step(train_step, params, opt_state, batch, lrs[0])
    # The state takes the dtypes train_step returns (dropping weak types), so the two branches
    # of the `lax.cond` in `_chunk` agree.
    params, opt_state = jax.tree_util.tree_map(
        lambda x, o: jnp.asarray(x).astype(o.dtype), (params, opt_state), (new_params, new_state)
    )
    dtype = jnp.float64 if loss.dtype == jnp.float64 else jnp.float32  # smoothing precision
    state = _State(params, opt_state, jnp.zeros((), dtype), jnp.full((), jnp.inf, dtype),
                   jnp.ones((), jnp.bool_))
    return _Sweep(state, jnp.zeros((), jnp.int32), lrs, jnp.asarray(num_steps, jnp.int32),
                  jnp.asarray(smoothing).astype(dtype), jnp.asarray(threshold).astype(dtype))


def _chunk(train_step, batch_fn, sweep, batches, length):
    """Runs the next `length` steps; steps past `num_steps` or after divergence are skipped."""
    steps = sweep.start + jnp.arange(length, dtype=jnp.int32)
    lrs = lax.dynamic_slice_in_dim(sweep.lrs, sweep.start, length)
    beta = sweep.smoothing
    dtype = beta.dtype
    factor = sweep.threshold - 1
    zero = jnp.zeros((), dtype)

    if batch_fn is None:
        # The chunk's batches are gathered before the loop: a loop reading the whole `batches`
        # would make XLA copy all of it into the loop at every chunk.
        rows = jnp.minimum(steps, sweep.num_steps - 1)  # padding steps (skipped) reuse the last
        batches = jax.tree_util.tree_map(lambda x: x[rows], batches)

    def take(s: _State, i: jax.Array, lr: jax.Array, batch: Any) -> tuple[_State, tuple]:
        if batch_fn is not None:
            batch = batch_fn(i)
        params, opt_state, loss = train_step(s.params, s.opt_state, batch, lr)
        loss = jnp.asarray(loss).astype(dtype)
        average = beta * s.average + (1 - beta) * loss
        smoothed = average / (1 - beta ** (i + 1).astype(dtype))
        best = jnp.where(smoothed < s.best, smoothed, s.best)
        # fastai's test is `smoothed > threshold * best`; for best > 0 this is the same, and it
        # stays meaningful for negative losses (see `lr_find`).
        diverged = ~jnp.isfinite(smoothed) | (smoothed - best > factor * jnp.abs(best))
        return _State(params, opt_state, average, best, ~diverged), (loss, smoothed, s.active)

    def skip(s: _State, i: jax.Array, lr: jax.Array, batch: Any) -> tuple[_State, tuple]:
        return s, (zero, zero, jnp.zeros((), jnp.bool_))

    def body(s: _State, x: tuple) -> tuple[_State, tuple]:
        return lax.cond(s.active & (x[0] < sweep.num_steps), take, skip, s, *x)

    xs = (steps, lrs, None if batch_fn is not None else batches)
    state, outputs = lax.scan(body, sweep.state, xs)
    return sweep._replace(state=state, start=sweep.start + length), outputs


# The compiled (start, chunk) pair of each live (train_step, batch_fn), keyed by weak references
# to them: an entry, with its executables and the constants they captured, goes when either
# function does. A jit with the functions as static arguments would keep them all forever.
_COMPILED: dict[tuple, tuple[Callable, Callable]] = {}


def _forget(dead: weakref.ref) -> None:
    for key in tuple(_COMPILED.copy()):
        if any(ref is dead for ref in key):
            _COMPILED.pop(key, None)


def _no_batch_fn() -> None:
    return None


def _weak(fn: Callable | None) -> Callable[[], Any] | None:
    """A weak reference to `fn` (a bound method's: to its object), or None if it takes none."""
    if fn is None:
        return _no_batch_fn
    try:
        return (weakref.WeakMethod if inspect.ismethod(fn) else weakref.ref)(fn, _forget)
    except TypeError:  # e.g. a builtin, or an object with __slots__ and no __weakref__
        return None


def _compiled(train_step: TrainStep, batch_fn: Callable | None) -> tuple[Callable, Callable]:
    """The jitted `_start` and `_chunk` for these functions, compiled once while they live."""
    step_ref, batch_ref = _weak(train_step), _weak(batch_fn)
    if step_ref is None or batch_ref is None:  # not weakly referable: compiled for this call
        step_ref, batch_ref = (lambda: train_step), (lambda: batch_fn)
    key = (step_ref, batch_ref)
    try:
        return _COMPILED[key]
    except (KeyError, TypeError):  # new, or unhashable
        pass

    def start(*args: Any) -> _Sweep:
        return _start(step_ref(), batch_ref(), *args)

    def chunk(sweep: _Sweep, batches: Any, length: int) -> tuple[_Sweep, tuple]:
        return _chunk(step_ref(), batch_ref(), sweep, batches, length)

    compiled = jax.jit(start), jax.jit(chunk, static_argnames="length")
    if isinstance(step_ref, weakref.ref):
        try:
            _COMPILED[key] = compiled
        except TypeError:  # an unhashable callable
            pass
    return compiled


def _sweep(train_step: TrainStep, batch_fn: Callable | None, params: Any, opt_state: Any,
           batches: Any, grid: np.ndarray, settings: _Settings,
           report: Callable[[int, int], None] | None) -> tuple[np.ndarray, np.ndarray, bool]:
    """Runs the chunks until the grid is done or the loss diverged.

    Returns:
        The losses and smoothed losses of the steps taken, and whether the sweep was still
        active (had not diverged) at its end.
    """
    start, chunk = _compiled(train_step, batch_fn)
    num_steps = settings.num_steps
    length = -(-num_steps // settings.num_chunks)
    chunks = -(-num_steps // length)
    padded = np.full(chunks * length, grid[-1], dtype=_lr_dtype(params))
    padded[:num_steps] = grid
    sweep = start(params, opt_state, batches, padded, num_steps, settings.smoothing,
                  settings.threshold)
    # Each chunk is dispatched before the previous one is read back, so the host does not wait
    # between chunks; a chunk sent after a divergence skips all its steps.
    outputs, active = [], True
    for k in range(chunks + 1):
        previous = sweep.state.active
        if k < chunks:
            sweep, out = chunk(sweep, batches, length=length)
            outputs.append(out)
        if k > 0:
            active = bool(previous)
            if report is not None:
                report(min(k * length, num_steps), num_steps)
            if not active:
                break
    outputs = jax.device_get(outputs)  # one batched copy to the host
    losses, smoothed, taken = (np.concatenate([o[j] for o in outputs]) for j in range(3))
    computed = int(np.sum(taken))  # the steps taken form a prefix
    return losses[:computed], smoothed[:computed], active


# ---------------------------------------------------------------------------------------------
# lr_find: the checks, the sweep, the result
# ---------------------------------------------------------------------------------------------


class _Settings(NamedTuple):
    """lr_find's checked arguments."""

    min_lr: float
    max_lr: float
    num_steps: int
    mode: str
    smoothing: float
    threshold: float  # diverge_threshold, +inf for None
    num_chunks: int


def _check_settings(min_lr: Any, max_lr: Any, num_steps: Any, mode: Any, smoothing: Any,
                    diverge_threshold: Any, num_chunks: Any) -> _Settings:
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
    return _Settings(min_lr, max_lr, num_steps, mode, smoothing, threshold, num_chunks)


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
            settings: _Settings) -> LRFindResult:
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
        opt_state, is_leaf=lambda node: isinstance(node, _INJECT_STATES)
    ):
        if isinstance(node, _INJECT_STATES):
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
    grid = _grid(settings.min_lr, settings.max_lr, settings.num_steps, settings.mode)
    try:
        losses, smoothed, active = _sweep(train_step, batch_fn, params, opt_state, batches,
                                          grid, settings, report)
    finally:
        if bar is not None:
            bar.close()
    result = _result(grid, losses, smoothed, active, settings)
    _warn(result, _non_finite_note(losses, result, grid, opt_state))
    return result


# ---------------------------------------------------------------------------------------------
# A train step from a loss function and an optax optimizer
# ---------------------------------------------------------------------------------------------


def _set_hyperparam(opt_state: Any, name: str, value: jax.Array) -> Any:
    found = 0

    def replace(node: Any) -> Any:
        nonlocal found
        if not isinstance(node, _INJECT_STATES) or name not in node.hyperparams:
            return node
        if name in getattr(node, "hyperparams_states", {}):
            raise TypeError(
                f"hyperparam {name!r} is scheduled in this optimizer, so setting it has no "
                f"effect; build the optimizer with a number, e.g. "
                f"optax.inject_hyperparams(optax.adam)({name}=1e-3)"
            )
        found += 1
        old = node.hyperparams[name]
        hyperparams = {**node.hyperparams, name: jnp.asarray(value).astype(jnp.result_type(old))}
        return node._replace(hyperparams=hyperparams)

    new_state = jax.tree_util.tree_map(
        replace, opt_state, is_leaf=lambda node: isinstance(node, _INJECT_STATES)
    )
    if not found:
        raise TypeError(
            f"opt_state holds no hyperparameter {name!r} injected by optax.inject_hyperparams; "
            f"build the optimizer as e.g. optax.inject_hyperparams(optax.adam)({name}=1e-3) "
            "and pass its init(params) as opt_state"
        )
    return new_state


def make_train_step(
    loss_fn: Callable[..., Any],
    optimizer: optax.GradientTransformation,
    *,
    hyperparam: str = "learning_rate",
    has_aux: bool = False,
) -> TrainStep:
    """Builds the ``train_step(params, opt_state, batch, lr)`` that `lr_find` sweeps.

    The optimizer must carry its learning rate in its state, which is what
    `optax.inject_hyperparams` does: each step writes `lr` into the state's ``hyperparams``
    (every `optax.InjectHyperparamsState` in the state tree that has `hyperparam`, so the
    optimizer may sit inside an `optax.chain`), then computes the gradient of `loss_fn`, updates
    and applies them. The same optimizer trains the model afterwards, with the learning rate
    you pick.

    Args:
        loss_fn: ``loss_fn(params, batch) -> loss`` (a real scalar), or ``-> (loss, aux)``
            with ``has_aux=True`` (aux is dropped).
        optimizer: an optax optimizer built with `optax.inject_hyperparams`, e.g.
            ``optax.inject_hyperparams(optax.adamw)(learning_rate=1e-3, weight_decay=1e-4)``;
            `hyperparam` must be a number there, not a schedule.
        hyperparam: the name of the injected learning-rate hyperparameter.
        has_aux: whether `loss_fn` returns ``(loss, aux)``.

    Returns:
        ``train_step(params, opt_state, batch, lr) -> (params, opt_state, loss)``, where the
        loss is the one computed before the update. Call `make_train_step` once and reuse the
        result: `lr_find` compiles once per step function.

    Raises:
        TypeError: for an optimizer that is not an optax ``GradientTransformation`` (an
            optimizer factory such as ``optax.adam`` itself, say) and, when the step is first
            traced, for an `opt_state` without the injected `hyperparam`, or with it scheduled.

    Example:
        >>> import jax.numpy as jnp, optax
        >>> import jaxsched as js
        >>> def loss_fn(w, batch):
        ...     x, y = batch
        ...     return jnp.mean((x @ w - y) ** 2)
        >>> optimizer = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1)
        >>> train_step = js.make_train_step(loss_fn, optimizer)
        >>> w = jnp.zeros(2)
        >>> batch = (jnp.eye(2), jnp.ones(2))
        >>> w, state, loss = train_step(w, optimizer.init(w), batch, jnp.float32(0.5))
        >>> print(f"{loss:.2f}", [f"{v:.2f}" for v in w])
        1.00 ['0.50', '0.50']
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got loss_fn={loss_fn!r}")
    if not isinstance(optimizer, optax.GradientTransformation):
        hint = (
            " (an optimizer factory? wrap it: optax.inject_hyperparams(factory)("
            f"{hyperparam}=1e-3))" if callable(optimizer) else ""
        )
        raise TypeError(
            "optimizer must be an optax GradientTransformation built with "
            f"optax.inject_hyperparams, got optimizer={optimizer!r}{hint}"
        )
    if not isinstance(hyperparam, str):
        raise TypeError(f"hyperparam must be a string, got hyperparam={hyperparam!r}")
    has_aux = _checks.flag("has_aux", has_aux)
    value_and_grad = jax.value_and_grad(loss_fn, has_aux=has_aux)

    def train_step(params: Any, opt_state: Any, batch: Any, lr: jax.Array) -> tuple:
        value, grads = value_and_grad(params, batch)
        loss = value[0] if has_aux else value
        opt_state = _set_hyperparam(opt_state, hyperparam, lr)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return train_step

