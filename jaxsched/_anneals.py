"""Anneals from `init_value` to `end_value` over `steps` steps along a fixed curve:
logarithmic (`log_annealing`) and hyperbolic-tangent (`tanh_decay`).

Step ``t`` counts optimizer updates from 0; steps below 0 act as step 0. Positions are counted
in the step's dtype before they become fractions (see `_numerics`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks as check
from ._numerics import (
    mix,
    progress,
    promote_step,
    quotient,
)
from ._schedule import Schedule, as_count, as_float, float_dtype, register, renamed, step_count

__all__ = ["log_annealing", "tanh_decay"]


class _LogAnnealing(Schedule, kind="log_annealing"):
    init_value: ArrayLike
    steps: ArrayLike
    end_value: ArrayLike

    def _at(self, t: jax.Array) -> jax.Array:
        t = promote_step(t, self.steps)
        dtype = float_dtype(t)
        n = as_count(self.steps, t)
        done = jnp.minimum(t, n)
        left, scale = n - done, jnp.log1p(n.astype(dtype))
        # w = log((n+1)/(t+1)) / log(n+1) = log1p((n-t)/(t+1)) / log1p(n) and 1 - w =
        # log1p(t) / log1p(n), each precise; exactly 1 and 0 at the ends (and (0, 1) for n = 0).
        w = jnp.where(left == 0, jnp.zeros((), dtype), jnp.where(
            done == 0, jnp.ones((), dtype),
            quotient(jnp.log1p(left.astype(dtype) / (done.astype(dtype) + 1)), scale)))
        w_low = jnp.where(left == 0, jnp.ones((), dtype),
                          quotient(jnp.log1p(done.astype(dtype)), scale))
        return mix(as_float(self.init_value, t), as_float(self.end_value, t), (w, w_low))

    def _horizon(self) -> int | None:
        return step_count(self.steps)


@register
@renamed(max_lr="init_value", min_lr="end_value")
def log_annealing(init_value: ArrayLike, steps: ArrayLike, end_value: ArrayLike = 0.0) -> Schedule:
    """Logarithmic annealing, the seed's custom ``log(1/x)`` schedule, then `end_value`.

    .. math:: \\eta_t = v_1 + (v_0 - v_1)\\,
              \\frac{\\log\\big((n + 1) / (\\min(t, n) + 1)\\big)}{\\log(n + 1)}

    Falls fast at first and slowly later. The ratio is computed as
    ``log1p((n − t)/(t + 1))`` so the end is exact and precise.

    Args:
      init_value: ``v_0``, value at step 0.
      steps: ``n``, >= 0 (0: `end_value` from step 0; a non-integral float is computed in float
        arithmetic).
      end_value: ``v_1``, value from step ``n`` on, <= `init_value`.

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.log_annealing(1.0, steps=99)
      >>> [f"{float(s(t)):.3f}" for t in (0, 9, 99)]
      ['1.000', '0.500', '0.000']
    """
    init_value = check.real("init_value", init_value)
    end_value = check.real("end_value", end_value)
    check.ordered(end_value, init_value, "end_value", "init_value")
    return _LogAnnealing(init_value=init_value, steps=check.length("steps", steps),
                         end_value=end_value)


class _TanhDecay(Schedule, kind="tanh_decay"):
    init_value: ArrayLike
    steps: ArrayLike
    end_value: ArrayLike
    lower: ArrayLike
    upper: ArrayLike

    def _at(self, t: jax.Array) -> jax.Array:
        t = promote_step(t, self.steps)
        f, g = progress(t, self.steps)
        x = as_float(self.lower, t) * g + as_float(self.upper, t) * f
        # (1 - tanh x)/2 = sigmoid(-2x) and (1 + tanh x)/2 = sigmoid(2x): each precise.
        weights = jax.nn.sigmoid(-2 * x), jax.nn.sigmoid(2 * x)
        value = mix(as_float(self.init_value, t), as_float(self.end_value, t), weights)
        return jnp.where(t < as_count(self.steps, t), value, as_float(self.end_value, t))

    def _horizon(self) -> int | None:
        return step_count(self.steps)


@register
def tanh_decay(init_value: ArrayLike, steps: ArrayLike, end_value: ArrayLike = 0.0,
               lower: ArrayLike = -7.0, upper: ArrayLike = 3.0) -> Schedule:
    """Hyperbolic-tangent decay (timm's ``TanhLRScheduler``, one cycle), then `end_value`.

    With ``f = t / n`` for ``t < n``:

    .. math:: \\eta_t = v_1 + (v_0 - v_1)\\,\\frac{1 - \\tanh\\big(l\\,(1 - f) + u\\,f\\big)}{2}

    and `end_value` from step ``n`` on. As in timm, the curve starts just below `init_value`
    (``(1 + tanh 7)/2 = 1 − 8e-7`` of the way with the default bounds) and ends just above
    `end_value` (``(1 − tanh 3)/2 = 0.25%`` of the way), then drops to `end_value` at ``n``.
    Matches timm's ``TanhLRScheduler(t_initial=n, lb=l, ub=u, lr_min=v_1)`` with
    ``cycle_limit=1`` and no warmup (add one with `warmup`).

    Args:
      init_value: ``v_0``, the scale of the start.
      steps: ``n``, the length of the decay, >= 0 (an integer, or a non-integral float).
      end_value: ``v_1``, the value from step ``n`` on.
      lower: ``l``, the tanh argument at the start, < `upper`.
      upper: ``u``, the tanh argument at the end.

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.tanh_decay(1.0, steps=10)
      >>> [f"{float(s(t)):.4f}" for t in (0, 5, 9, 10)]
      ['1.0000', '0.9820', '0.0180', '0.0000']
    """
    lower = check.real("lower", lower)
    upper = check.real("upper", upper)
    if not (check.is_traced(lower) or check.is_traced(upper)) and not np.all(
            np.asarray(upper) > np.asarray(lower)):
        raise ValueError(f"upper must be > lower, got upper={upper!r}, lower={lower!r}")
    return _TanhDecay(init_value=check.real("init_value", init_value),
                      steps=check.length("steps", steps),
                      end_value=check.real("end_value", end_value), lower=lower, upper=upper)
