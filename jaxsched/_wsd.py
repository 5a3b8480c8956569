"""Warmup-stable-decay (WSD): a linear warmup, a long flat stretch, then a short decay.

The decay's curve is any of the anneals of `_ramps` ("linear", "cosine", "sqrt", ...);
`wsd_cycles` (in `_plans`) repeats the plan as a composition of `warmup`, `cooldown` and `join`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks as check
from ._fields import field
from ._numerics import progress, promote_step
from ._ramps import anneal, check_power, check_shape, rise
from ._schedule import Schedule, as_count, as_float, register, renamed, step_count

__all__ = ["warmup_stable_decay"]


class _WarmupStableDecay(Schedule, kind="warmup_stable_decay"):
    peak_value: ArrayLike
    warmup_steps: ArrayLike
    stable_steps: ArrayLike
    decay_steps: ArrayLike
    init_value: ArrayLike
    end_value: ArrayLike
    shape: str = field(static=True)

    def _exponent(self) -> ArrayLike | None:
        """The exponent of shape "power" (a field of `_PowerWarmupStableDecay`), else None."""
        return None

    def _at(self, t: jax.Array) -> jax.Array:
        t = promote_step(t, self.warmup_steps, self.stable_steps, self.decay_steps)
        warm = as_count(self.warmup_steps, t)
        stable_end = warm + as_count(self.stable_steps, t)
        peak, end = as_float(self.peak_value, t), as_float(self.end_value, t)
        ramp = rise("linear", as_float(self.init_value, t), peak, *progress(t, self.warmup_steps))
        decayed = progress(jnp.maximum(t - stable_end, jnp.zeros((), t.dtype)), self.decay_steps)
        decay = anneal(self.shape, peak, end, *decayed, self._exponent())
        return jnp.where(t < warm, ramp, jnp.where(t < stable_end, peak, decay))

    def _horizon(self) -> int | None:
        lengths = (self.warmup_steps, self.stable_steps, self.decay_steps)
        if any(check.is_traced(n) for n in lengths):
            return None
        return step_count(sum(np.asarray(n, np.float64) for n in lengths))


class _PowerWarmupStableDecay(_WarmupStableDecay):
    """WSD with a decay of shape "power": the exponent is one more hyperparameter."""

    power: ArrayLike

    def _exponent(self) -> ArrayLike | None:
        return self.power


@register
@renamed(decay="shape")
def warmup_stable_decay(peak_value: ArrayLike, warmup_steps: ArrayLike, stable_steps: ArrayLike,
                        decay_steps: ArrayLike, init_value: ArrayLike = 0.0,
                        end_value: ArrayLike = 0.0, shape: str = "linear",
                        power: ArrayLike | None = None) -> Schedule:
    """Warmup-stable-decay (WSD): linear warmup, a long flat stretch, then a short decay.

    With ``w``, ``s``, ``d`` the three lengths and ``f = (t − w − s)/d`` in the decay phase:

    .. math::
       \\eta_t = \\begin{cases} \\eta_0 + (P - \\eta_0)\\,t/w & t < w \\\\ P & t < w + s \\\\
       \\eta_1 + (P - \\eta_1)\\,D(\\min(f, 1)) & \\text{after} \\end{cases}

    with ``D`` the decay curve `shape` (any of `cooldown`'s shapes): "linear" ``1 − f``,
    "cosine" ``(1 + cos πf)/2``, "sqrt" ``1 − √f``, "square" ``1 − f²``, "mirror_cosine",
    "exponential" (geometric; `peak_value` and `end_value` > 0), "power" ``(1 − f)^p``
    (``p = power``). Matches
    ``transformers.get_wsd_schedule`` (its "1-sqrt" is our "sqrt"; it starts the warmup at
    ``min_lr_ratio·P``, i.e. ``init_value = end_value``). Holds `end_value` after the decay; a
    phase of 0 steps is skipped.

    Args:
      peak_value: ``P``, the value of the stable phase.
      warmup_steps: ``w`` >= 0 (lengths: integers, or non-integral floats computed in float
        arithmetic).
      stable_steps: ``s`` >= 0.
      decay_steps: ``d`` >= 0.
      init_value: value at step 0.
      end_value: value at the end of the decay and after.
      shape: the decay curve.
      power: ``p`` > 0, the exponent of shape "power" (and of no other shape).

    Returns:
      The schedule.

    References:
      Hu et al., MiniCPM, arXiv:2404.06395; Hägele et al., Scaling Laws and Compute-Optimal
      Training beyond Fixed Training Durations, arXiv:2405.18392.

    Example:
      >>> import jaxsched as js
      >>> s = js.warmup_stable_decay(1.0, warmup_steps=2, stable_steps=3, decay_steps=4)
      >>> [f"{float(s(t)):.2f}" for t in range(10)]
      ['0.00', '0.50', '1.00', '1.00', '1.00', '1.00', '0.75', '0.50', '0.25', '0.00']
    """
    lengths = {name: check.length(name, n) for name, n in (
        ("warmup_steps", warmup_steps), ("stable_steps", stable_steps),
        ("decay_steps", decay_steps))}
    if not any(check.is_traced(x) for x in lengths.values()) and \
            sum(float(np.max(n)) for n in lengths.values()) > 2**31 - 1:
        shown = ", ".join(f"{k}={v!r}" for k, v in lengths.items())
        raise ValueError(f"warmup_steps + stable_steps + decay_steps must be at most 2**31 - 1, "
                         f"got {shown}")
    shape = check_shape(shape)
    power = check_power(shape, power)
    peak_value, end_value = check.real("peak_value", peak_value), check.real("end_value", end_value)
    if shape == "exponential":
        check.positive("peak_value", peak_value)
        check.positive("end_value", end_value)
    init_value = check.real("init_value", init_value)
    if power is not None:
        return _PowerWarmupStableDecay(peak_value=peak_value, **lengths, init_value=init_value,
                                       end_value=end_value, shape=shape, power=power)
    return _WarmupStableDecay(peak_value=peak_value, **lengths, init_value=init_value,
                              end_value=end_value, shape=shape)
