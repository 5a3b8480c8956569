"""The one-cycle policy: `one_cycle` (the rate) and `one_cycle_momentum` (its momentum),
PyTorch's OneCycleLR phases with float phase ends kept exact.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks as check
from ._fields import field
from ._numerics import (
    complementary,
    quotient,
)
from ._ramps import anneal as ramp_anneal
from ._schedule import Schedule, as_count, as_float, float_dtype, register, renamed, step_count

__all__ = ["one_cycle", "one_cycle_momentum"]


# one_cycle's anneal -> the curve of `_ramps` it names.
_CURVES = {"cos": "cosine", "linear": "linear"}


def _phases(t: jax.Array, ends: list, values: list[jax.Array], anneal: str) -> jax.Array:
    """PyTorch OneCycleLR's phases: phase ``i`` anneals ``values[i] -> values[i+1]`` and ends at
    step ``ends[i]`` (a float, given by `_one_cycle_ends` as ``(floor, above, ceil, below)``:
    its floor, ``end - floor``, its ceiling and ``ceil - end``); a step belongs to the first phase
    whose end it does not pass. The final value holds after the last end.

    Membership is an integer comparison with the floor, and positions are integer differences
    plus the ends' fractions: ``t - start = (t - ceil(start)) + (ceil(start) - start)`` and
    ``end - t = (floor(end) - t) + (end - floor(end))``, each fraction taken in float64 on the
    host. So a step just past an end that lies a hair below an integer (``pct_start·N`` =
    29.999999999999996) starts the next phase with its tiny position intact, as in PyTorch, and
    positions stay exact for huge ``steps``, where a float32 step would be rounded to a
    multiple of 128.
    """
    dtype = float_dtype(t)
    clamped = jnp.minimum(t, as_count(ends[-1][0], t))
    out: Any = None
    for i in reversed(range(len(ends))):
        (_, _, start, start_below), (end, end_above, _, _) = (
            ends[i - 1] if i else (0, 0.0, 0, 0.0), ends[i])
        start, end = as_count(start, t), as_count(end, t)
        start_below, end_above = as_float(start_below, t), as_float(end_above, t)
        done = (clamped - start).astype(dtype) + start_below
        left = (end - clamped).astype(dtype) + end_above
        length = (end - start).astype(dtype) + start_below + end_above
        f, g = complementary(quotient(done, length), quotient(left, length))
        value = ramp_anneal(_CURVES[anneal], values[i], values[i + 1], f, g)
        out = value if out is None else jnp.where(clamped <= end, value, out)
    return out


def _one_cycle_ends(steps: Any, pct_start: Any, three_phase: bool) -> list:
    """PyTorch's phase ends, ``pct·N − 1`` (, ``2·pct·N − 2``) and ``N − 1``, each as
    ``(floor, end − floor, ceil, ceil − end)``: from float64 on the host when the arguments are
    concrete."""
    if check.is_traced(steps) or check.is_traced(pct_start):
        total = jnp.asarray(steps).astype(jnp.float32)
        up: Any = jnp.asarray(pct_start).astype(jnp.float32) * total
        ends = [up - 1, 2 * up - 2, total - 1] if three_phase else [up - 1, total - 1]
        return [(jnp.floor(e).astype(jnp.int32), e - jnp.floor(e),
                 jnp.ceil(e).astype(jnp.int32), jnp.ceil(e) - e) for e in ends]
    up = float(pct_start) * float(steps)
    ends = [up - 1, 2 * up - 2, steps - 1] if three_phase else [up - 1, steps - 1]
    return [(math.floor(e), e - math.floor(e), math.ceil(e), math.ceil(e) - e) for e in ends]


def _check_one_cycle(steps, pct_start, anneal, three_phase):
    steps = check.integer("steps", steps, low=2)
    pct_start = check.real("pct_start", pct_start, low=0.0, high=1.0, low_open=True,
                           high_open=True)
    anneal = check.choice("anneal", anneal, ("cos", "linear"))
    three_phase = check.flag("three_phase", three_phase)
    if not (check.is_traced(steps) or check.is_traced(pct_start)):
        up = float(pct_start) * float(steps)
        if up - 1 <= 0:
            raise ValueError(
                "pct_start must leave at least one step of warmup (pct_start * steps > 1), "
                f"got pct_start={pct_start!r}, steps={steps!r}")
        if three_phase and 2 * up - 2 >= steps - 1:
            raise ValueError(
                "pct_start must leave room for the third phase of three_phase=True (2 * pct_start "
                f"* steps < steps + 1), got pct_start={pct_start!r}, "
                f"steps={steps!r}")
    return steps, pct_start, anneal, three_phase


class _OneCyclePhases(Schedule):
    """PyTorch OneCycleLR's phases through the values that `_values` gives; over at N − 1."""

    if TYPE_CHECKING:  # fields of both subclasses, each of which declares them in its own order
        steps: ArrayLike
        pct_start: ArrayLike
        anneal: str
        three_phase: bool

    def _values(self, t: jax.Array) -> list[jax.Array]:
        raise NotImplementedError

    def _at(self, t: jax.Array) -> jax.Array:
        ends = _one_cycle_ends(self.steps, self.pct_start, self.three_phase)
        return _phases(t, ends, self._values(t), self.anneal)

    def _horizon(self) -> int | None:
        n = step_count(self.steps)
        return None if n is None else n - 1


class _OneCycle(_OneCyclePhases, kind="one_cycle"):
    peak_value: ArrayLike
    steps: ArrayLike
    pct_start: ArrayLike
    anneal: str = field(static=True)
    div_factor: ArrayLike
    final_div_factor: ArrayLike
    three_phase: bool = field(static=True)

    def _values(self, t):
        peak = as_float(self.peak_value, t)
        initial = peak / as_float(self.div_factor, t)
        final = initial / as_float(self.final_div_factor, t)
        return [initial, peak, initial, final] if self.three_phase else [initial, peak, final]


@register
@renamed(max_lr="peak_value", total_steps="steps")
def one_cycle(peak_value: ArrayLike, steps: ArrayLike, pct_start: ArrayLike = 0.3,
              anneal: str = "cos", div_factor: ArrayLike = 25.0, final_div_factor: ArrayLike = 1e4,
              three_phase: bool = False) -> Schedule:
    """The 1cycle policy: warm up to `peak_value`, then anneal far below the starting value.

    With ``η_0 = peak_value / div_factor`` and ``η_min = η_0 / final_div_factor``, the phases end at
    the (float) steps ``a = pct_start·N − 1`` and ``N − 1`` (three-phase: ``a``, ``2a − 1``… exactly
    ``2·pct_start·N − 2``, and ``N − 1``):

    * two phases: ``η_0 → peak_value`` on ``[0, a]``, ``peak_value → η_min`` on ``(a, N − 1]``;
    * three phases: ``η_0 → peak_value → η_0 → η_min``.

    Each phase anneals with ``anneal``: "cos", ``end + (start − end)(1 + cos(π·pct))/2``, or
    "linear". Matches ``torch.optim.lr_scheduler.OneCycleLR`` (``max_lr``, ``total_steps``) for
    ``t = 0 … N − 1``; from step
    ``N − 1`` on the value stays at ``η_min`` (PyTorch raises past ``N``).

    Args:
      peak_value: the peak value (torch's ``max_lr``).
      steps: ``N``, an integer >= 2.
      pct_start: fraction of the steps spent warming up, in (0, 1).
      anneal: "cos" or "linear".
      div_factor: ``peak_value / η_0``, > 0.
      final_div_factor: ``η_0 / η_min``, > 0.
      three_phase: come back down to ``η_0`` symmetrically before the final annealing.

    Returns:
      The schedule.

    References:
      Smith & Topin, Super-Convergence, arXiv:1708.07120.

    Example:
      >>> import jaxsched as js
      >>> s = js.one_cycle(1.0, steps=10, pct_start=0.3, div_factor=10.0)
      >>> [f"{float(s(t)):.3f}" for t in (0, 2, 9)]
      ['0.100', '1.000', '0.000']
    """
    steps, pct_start, anneal, three_phase = _check_one_cycle(
        steps, pct_start, anneal, three_phase)
    peak_value = check.nonnegative("peak_value", peak_value)
    div_factor = check.positive("div_factor", div_factor)
    final_div_factor = check.positive("final_div_factor", final_div_factor)
    if not any(check.is_traced(x) for x in (peak_value, div_factor, final_div_factor)):
        initial = np.asarray(peak_value, np.float64) / np.asarray(div_factor, np.float64)
        for name, value in (("div_factor", initial), ("final_div_factor",
                                                      initial / np.asarray(final_div_factor))):
            if not np.all(value <= 0.999 * check.FLOAT32_MAX):  # margin for rounding
                raise ValueError(
                    f"{name} must keep the starting and final values within float32's range, "
                    f"got peak_value={peak_value!r}, div_factor={div_factor!r}, "
                    f"final_div_factor={final_div_factor!r}")
    return _OneCycle(
        peak_value=peak_value,
        steps=steps,
        pct_start=pct_start,
        anneal=anneal,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        three_phase=three_phase,
    )


class _OneCycleMomentum(_OneCyclePhases, kind="one_cycle_momentum"):
    steps: ArrayLike
    pct_start: ArrayLike
    anneal: str = field(static=True)
    min_value: ArrayLike
    max_value: ArrayLike
    three_phase: bool = field(static=True)

    def _values(self, t):
        low, high = as_float(self.min_value, t), as_float(self.max_value, t)
        return [high, low, high, high] if self.three_phase else [high, low, high]


@register
@renamed(total_steps="steps", base_momentum="min_value", max_momentum="max_value")
def one_cycle_momentum(steps: ArrayLike, pct_start: ArrayLike = 0.3, anneal: str = "cos",
                       min_value: ArrayLike = 0.85, max_value: ArrayLike = 0.95,
                       three_phase: bool = False) -> Schedule:
    """The momentum that goes with `one_cycle`: down while the learning rate goes up, and back.

    Same phases as `one_cycle`: ``max_value → min_value → max_value`` (three-phase:
    ``… → max_value`` held in the last phase). Matches the momentum (or Adam's ``beta1``) that
    ``torch.optim.lr_scheduler.OneCycleLR`` sets with ``cycle_momentum=True``. Feed it to an
    optimizer through ``optax.inject_hyperparams``.

    Args:
      steps: ``N``, an integer >= 2.
      pct_start: fraction of the steps spent warming up, in (0, 1).
      anneal: "cos" or "linear".
      min_value: the lowest momentum, reached at the learning-rate peak (torch's
        ``base_momentum``).
      max_value: the momentum at the start and the end, >= `min_value` (``max_momentum``).
      three_phase: as in `one_cycle`.

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> m = js.one_cycle_momentum(steps=10, pct_start=0.3)
      >>> [f"{float(m(t)):.3f}" for t in (0, 2, 9)]
      ['0.950', '0.850', '0.950']
    """
    steps, pct_start, anneal, three_phase = _check_one_cycle(
        steps, pct_start, anneal, three_phase)
    min_value = check.real("min_value", min_value)
    max_value = check.real("max_value", max_value)
    check.ordered(min_value, max_value, "min_value", "max_value")
    return _OneCycleMomentum(
        steps=steps, pct_start=pct_start, anneal=anneal,
        min_value=min_value, max_value=max_value, three_phase=three_phase,
    )
