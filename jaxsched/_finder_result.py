"""`LRFindResult`: the curve `lr_find` recorded, the learning rates suggested from it, a plot."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np

from . import _checks
from ._finder_rules import MIN_POINTS, SUGGESTION_METHODS, fall_and_noise, steep, valley

# What each suggestion is, as `LRFindResult.plot`'s legend says it.
_LABELS = {"steep": "steep (steepest fall)", "valley": "valley",
           "minimum": "minimum / 10 (fastai's rule)"}

__all__ = ["LRFindResult"]


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
        fall, noise = fall_and_noise(self.losses[skip_start:stop], smoothed, self.smoothing,
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
            return steep(lrs[keep], smoothed[keep])
        if method == "valley":
            return valley(lrs, smoothed)
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
        dashed vertical line labelled with what it is and its value ("minimum" is the lr of the
        lowest smoothed loss divided by 10, and says so). The y range is cut at the highest
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
                ax.axvline(lr, color=f"C{k + 1}", linestyle="--",
                           label=f"{_LABELS.get(method, method)}: {lr:.2e}")
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
