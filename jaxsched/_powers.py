"""Power-law decay with an offset and any exponent: `power_decay`.

The inverse-square-root and inverse-time schedules are its special cases (``power = 1/2`` and
``power = 1``); the JAX and TensorFlow training stacks write the general law in several ways
(TF Model Garden's ``DirectPowerDecay`` ``lr·step^p``, praxis's ``SqrtDecay``, OLMo-core's and
levanter's power schedulers ``lr·(t / w)^b``). One shape, with the step composed by `shift`,
`hold` or `join` as each upstream writes it, covers them (see docs/migration.md).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks as check
from ._numerics import divmod_steps, fractions, promote_step
from ._schedule import Schedule, as_count, as_float, float_dtype, register

__all__ = ["power_decay"]


class _PowerDecay(Schedule, kind="power_decay"):
    init_value: ArrayLike
    power: ArrayLike
    timescale: ArrayLike

    def _at(self, t: jax.Array) -> jax.Array:
        t = promote_step(t, self.timescale)
        q, r = divmod_steps(t, self.timescale)
        # t / tau as an exact quotient plus the remainder's fraction: huge steps lose nothing.
        x = q.astype(float_dtype(t)) + fractions(r, as_count(self.timescale, t), t)[0]
        factor = jnp.exp(-as_float(self.power, t) * jnp.log1p(x))
        return as_float(self.init_value, t) * factor

    def _horizon(self) -> int | None:
        if check.is_traced(self.power) or np.any(np.asarray(self.power) != 0):
            return None
        return 0


@register
def power_decay(init_value: ArrayLike, power: ArrayLike, timescale: ArrayLike = 1) -> Schedule:
    """Power-law decay: the value falls as a power of the step, offset by `timescale`.

    .. math:: \\eta_t = v_0 \\cdot (1 + t / \\tau)^{-p} = v_0 \\cdot \\Big(\\frac{t + \\tau}{\\tau}
              \\Big)^{-p}

    Exactly `init_value` at step 0. ``power=0.5`` is `inverse_sqrt` without a warmup (its
    ``timescale``), ``power=1`` is `inverse_time_decay` with ``decay_rate = 1`` and
    ``transition_steps = τ``; any other exponent is the general law. Upstreams that write
    ``v · t^{-p}`` with a clamped or offset step are this shape with the step moved:
    TF Model Garden's ``DirectPowerDecay(lr, power=q)``, ``lr · max(t, 1)^q``, is
    ``shift(power_decay(lr, -q), -1)``; ``lr · (t / w)^{-p}`` from step ``w`` on (OLMo-core's
    ``PowerLR``) is ``power_decay(lr, p, timescale=w)`` started at ``w`` with `join`. A negative
    `power` grows the value (as TF's default ``power=1.0`` does); it must stay finite in float32
    up to step 2**31 - 1. No horizon (asymptotic), unless ``power = 0``.

    ``t / τ`` is an exact integer quotient plus the remainder's fraction, and the power is
    ``exp(−p·log1p(t/τ))``: a float32 error of about ``|p·log(1 + t/τ)|·1.2e-7`` relative.

    Args:
      init_value: ``v_0``, the value at step 0.
      power: ``p``, the exponent (> 0 decays; any finite number).
      timescale: ``τ`` >= 1, the offset: the value at step ``τ`` is ``v_0·2^{−p}`` (an
        integer, or a non-integral float).

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.power_decay(1.0, power=0.5, timescale=10)
      >>> [f"{float(s(t)):.4f}" for t in (0, 10, 30, 90)]
      ['1.0000', '0.7071', '0.5000', '0.3162']
    """
    init_value = check.real("init_value", init_value)
    power = check.real("power", power)
    timescale = check.length("timescale", timescale, low=1)
    if not any(check.is_traced(x) for x in (init_value, power, timescale)) and \
            np.any(np.asarray(power) < 0):
        with np.errstate(over="ignore"):
            last = 1 + check.INT32_MAX / np.asarray(timescale, np.float64)  # 1 + t/tau, last t
            largest = np.max(np.abs(np.asarray(init_value, np.float64))
                             * last ** -np.asarray(power, float))
        if not largest <= 0.999 * check.FLOAT32_MAX:
            raise ValueError(f"a negative power grows the value, which must stay finite in float32 "
                             f"up to step 2**31 - 1 (|init_value| * (1 + (2**31 - 1) / timescale)"
                             f"**-power = {largest:.4g}), got power={power!r}")
    return _PowerDecay(init_value=init_value, power=power, timescale=timescale)
