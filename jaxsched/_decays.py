"""Decays: constant, linear (rising or falling), step, multistep, exponential, polynomial,
inverse-time and inverse-sqrt (the log and tanh anneals are `_anneals`', warmup-stable-decay
`_wsd`'s).

Step ``t`` counts optimizer updates from 0; the value at ``t`` equals the PyTorch learning rate
after ``t`` calls of ``scheduler.step()``. Steps below 0 act as step 0. Integer steps are divided
and compared as integers; only then are positions turned into float fractions (see `_numerics`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks as check
from ._fields import field
from ._numerics import (
    divmod_steps,
    fractions,
    log_of,
    masked_at_zero,
    mix,
    one_minus_power,
    power,
    progress,
    promote_step,
)
from ._registry import moved
from ._schedule import Schedule, as_count, as_float, float_dtype, register, renamed, step_count

__all__ = [
    "constant",
    "exponential_decay",
    "inverse_sqrt",
    "inverse_time_decay",
    "linear",
    "multistep_decay",
    "polynomial_decay",
    "step_decay",
]


# -- constant and linear --------------------------------------------------------------------------


class _Constant(Schedule, kind="constant"):
    value: ArrayLike

    def _at(self, t: jax.Array) -> jax.Array:
        value = as_float(self.value, t)
        return jnp.broadcast_to(value, jnp.broadcast_shapes(t.shape, value.shape))

    def _horizon(self) -> int | None:
        return 0


@register
def constant(value: ArrayLike) -> Schedule:
    """A constant learning rate.

    .. math:: \\eta_t = v

    Args:
      value: the learning rate (a finite number).

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> f"{float(js.constant(0.1)(1000)):.4f}"
      '0.1000'
    """
    return _Constant(value=check.real("value", value))


class _Linear(Schedule, kind="linear"):
    init_value: ArrayLike
    end_value: ArrayLike
    steps: ArrayLike

    def _at(self, t: jax.Array) -> jax.Array:
        t = promote_step(t, self.steps)
        done, remaining = progress(t, self.steps)
        return mix(as_float(self.init_value, t), as_float(self.end_value, t), (remaining, done))

    def _horizon(self) -> int | None:
        return step_count(self.steps)


@register
def linear(init_value: ArrayLike, end_value: ArrayLike, steps: ArrayLike) -> Schedule:
    """Linear interpolation from `init_value` to `end_value` over `steps` steps, then `end_value`.

    .. math:: \\eta_t = v_0 + (v_1 - v_0) \\cdot \\min(t, n) / n

    Matches ``torch.optim.lr_scheduler.LinearLR`` (with ``init = base·start_factor`` and
    ``end = base·end_factor``, ``total_iters = steps``) and ``optax.linear_schedule``. Both ends are
    exact. With ``steps=0`` the ramp is over before it starts: `end_value` from step 0 on
    (``optax.linear_schedule`` with ``transition_steps=0`` holds its *init* value instead).

    Args:
      init_value: value at step 0.
      end_value: value from step `steps` on.
      steps: length of the ramp, >= 0: an integer (exact), or a non-integral float (positions
        then in float arithmetic).

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.linear(0.0, 1.0, steps=4)
      >>> [f"{float(s(t)):.2f}" for t in range(6)]
      ['0.00', '0.25', '0.50', '0.75', '1.00', '1.00']
    """
    return _Linear(
        init_value=check.real("init_value", init_value),
        end_value=check.real("end_value", end_value),
        steps=check.length("steps", steps),
    )


# -- step decays ----------------------------------------------------------------------------------


class _StepDecay(Schedule, kind="step_decay"):
    init_value: ArrayLike
    every: ArrayLike
    gamma: ArrayLike

    def _at(self, t: jax.Array) -> jax.Array:
        t = promote_step(t, self.every)
        k, _ = divmod_steps(t, self.every)
        return as_float(self.init_value, t) * power(self.gamma, k, t)


@register
@renamed(step_size="every")
def step_decay(init_value: ArrayLike, every: ArrayLike, gamma: ArrayLike = 0.1) -> Schedule:
    """Multiply the value by `gamma` every `every` steps.

    .. math:: \\eta_t = v_0 \\cdot \\gamma^{\\lfloor t / s \\rfloor}

    Matches ``torch.optim.lr_scheduler.StepLR`` and MXNet's ``FactorScheduler``. It is a
    staircased exponential decay, ``staircase(exponential_decay(v0, gamma, transition_steps=s),
    s)``, and ``per_epoch(exponential_decay(v0, gamma), s)``. It decays forever: no horizon.

    Args:
      init_value: value at step 0.
      every: ``s``, steps between decays, >= 1 (an integer, or a non-integral float: then
        ``⌊t / s⌋`` is taken in float arithmetic).
      gamma: the factor, in (0, 1] (a growing step schedule would overflow; use
        `multistep_decay` for a bounded number of increases).

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.step_decay(0.1, every=30, gamma=0.1)
      >>> [f"{float(s(t)):.4f}" for t in (0, 29, 30, 60)]
      ['0.1000', '0.1000', '0.0100', '0.0010']
    """
    return _StepDecay(
        init_value=check.real("init_value", init_value),
        every=check.length("every", every, low=1),
        gamma=check.real("gamma", gamma, low=0.0, low_open=True, high=1.0),
    )


class _MultistepDecay(Schedule, kind="multistep_decay"):
    init_value: ArrayLike
    boundaries: Any
    gamma: ArrayLike

    def _at(self, t: jax.Array) -> jax.Array:
        boundaries = as_count(self.boundaries, t)
        passed = jnp.searchsorted(boundaries, t, side="right")  # boundaries <= t
        return as_float(self.init_value, t) * power(self.gamma, passed, t)

    def _horizon(self) -> int | None:
        return step_count(self.boundaries) if np.size(self.boundaries) else 0


@register
@renamed(milestones="boundaries")
def multistep_decay(init_value: ArrayLike, boundaries: Sequence[int] | ArrayLike,
                    gamma: ArrayLike = 0.1) -> Schedule:
    """Multiply the value by `gamma` at each boundary.

    .. math:: \\eta_t = v_0 \\cdot \\gamma^{\\#\\{i : b_i \\le t\\}}

    A boundary listed twice counts twice. Matches ``torch.optim.lr_scheduler.MultiStepLR`` (its
    ``milestones``). timm's ``MultiStepLRScheduler`` decays one step earlier: its milestone ``m``
    is our boundary ``m - 1``.

    Args:
      init_value: value at step 0.
      boundaries: non-decreasing, non-negative integer steps.
      gamma: the factor, > 0.

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.multistep_decay(1.0, boundaries=[2, 4, 4], gamma=0.5)
      >>> [f"{float(s(t)):.3f}" for t in range(6)]
      ['1.000', '1.000', '0.500', '0.500', '0.125', '0.125']
    """
    init_value = check.real("init_value", init_value)
    boundaries = check.int_sequence("boundaries", boundaries)
    gamma = check.positive("gamma", gamma)
    if not any(check.is_traced(x) for x in (init_value, boundaries, gamma)):
        # gamma**n is computed first, then multiplied by init_value: both must be finite.
        growth = np.max(np.maximum(np.asarray(gamma, np.float64), 1.0) ** np.size(boundaries))
        largest = growth * max(np.max(np.abs(init_value)), 1.0)
        if not largest <= 0.999 * check.FLOAT32_MAX:  # a margin for float32's rounding
            raise ValueError(
                f"gamma must keep the value within float32's range after the last boundary "
                f"(max(|init_value|, 1) * gamma**{np.size(boundaries)} = {largest:.4g}), got "
                f"gamma={gamma!r}")
    return _MultistepDecay(init_value=init_value, boundaries=boundaries, gamma=gamma)


# -- smooth decays --------------------------------------------------------------------------------


class _ExponentialDecay(Schedule, kind="exponential_decay"):
    init_value: ArrayLike
    gamma: ArrayLike
    transition_steps: ArrayLike
    staircase: bool = field(static=True)
    transition_begin: ArrayLike
    end_value: ArrayLike | None

    def _at(self, t: jax.Array) -> jax.Array:
        t = promote_step(t, self.transition_steps, self.transition_begin)
        begin = as_count(self.transition_begin, t)
        elapsed = jnp.maximum(t - begin, jnp.zeros((), t.dtype))
        q, r = divmod_steps(elapsed, self.transition_steps)
        exponent = q.astype(float_dtype(t))
        if not self.staircase:
            exponent = exponent + fractions(r, as_count(self.transition_steps, t), t)[0]
        init = as_float(self.init_value, t)
        lr = init * power(self.gamma, exponent, t)
        if self.end_value is not None:
            end = as_float(self.end_value, t)
            # A growth factor overflows to inf after enough steps: inf is then bounded by
            # end_value, but 0 * inf would be NaN.
            lr = jnp.where(init == 0, jnp.zeros_like(lr), lr)
            # Decay or growth, from ln(gamma) (float64 when gamma is concrete): a gamma just
            # below 1 is 1.0 in float32. gamma = 1 is bounded from above, as optax does.
            decays = log_of(self.gamma, t) < 0
            lr = jnp.where(decays, jnp.maximum(lr, end), jnp.minimum(lr, end))
        return lr


@register
def exponential_decay(init_value: ArrayLike, gamma: ArrayLike, transition_steps: ArrayLike = 1,
                      staircase: bool = False, transition_begin: ArrayLike = 0,
                      end_value: ArrayLike | None = None) -> Schedule:
    """Exponential decay: multiply by `gamma` every `transition_steps` steps, continuously.

    .. math:: \\eta_t = v_0 \\cdot \\gamma^{p}, \\quad p = \\max(t - b, 0) / n

    with ``p`` floored when `staircase`, and the result bounded by `end_value` (from below when
    ``gamma < 1``, from above when ``gamma >= 1``, as optax does: ``gamma = 1`` with an
    `end_value` below `init_value` is `end_value` from step 0). No horizon (asymptotic).
    Matches ``torch.optim.lr_scheduler.ExponentialLR``
    (``transition_steps=1``), ``optax.exponential_decay`` (whose ``decay_rate`` is our `gamma`) and
    Keras's ``ExponentialDecay`` (``decay_steps`` is `transition_steps`). ``p`` is computed as an
    exact integer quotient plus a remainder fraction, so huge steps lose nothing, and ``gamma**p``
    is ``exp(p·ln gamma)`` with ``ln gamma`` taken in float64: its float32 error is about
    ``|ln(gamma**p)|·1.2e-7`` relative. (A traced `gamma`, e.g. under ``vmap`` over
    hyperparameters, is a float32 number: ``0.9999**1e5`` is then off by 1.7e-3 relative.)

    Args:
      init_value: value up to step `transition_begin`.
      gamma: factor per `transition_steps` steps, > 0; a growth factor (> 1) needs `end_value`,
        which bounds it (otherwise the value would overflow to inf), and ``init_value >= 0``.
      transition_steps: steps per factor of `gamma`, >= 1 (an integer, or a non-integral float).
      staircase: decay in discrete jumps.
      transition_begin: steps before the decay starts, >= 0 (an integer, or a float).
      end_value: optional bound on the value.

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.exponential_decay(1.0, gamma=0.5, transition_steps=10)
      >>> [f"{float(s(t)):.4f}" for t in (0, 5, 10, 20)]
      ['1.0000', '0.7071', '0.5000', '0.2500']
    """
    gamma = check.positive("gamma", gamma)
    init_value = check.real("init_value", init_value)
    if not check.is_traced(gamma) and np.any(np.asarray(gamma) > 1):
        if end_value is None:
            raise ValueError(
                f"gamma > 1 needs an end_value to bound the growth, got gamma={gamma!r}")
        if not check.is_traced(init_value) and np.any(np.asarray(init_value) < 0):
            raise ValueError(f"gamma > 1 grows the value towards end_value, so init_value must "
                             f"be >= 0, got init_value={init_value!r}, gamma={gamma!r}")
    return _ExponentialDecay(
        init_value=init_value,
        gamma=gamma,
        transition_steps=check.length("transition_steps", transition_steps, low=1),
        staircase=check.flag("staircase", staircase),
        transition_begin=check.length("transition_begin", transition_begin),
        end_value=None if end_value is None else check.real("end_value", end_value),
    )


class _PolynomialDecay(Schedule, kind="polynomial_decay"):
    init_value: ArrayLike
    steps: ArrayLike
    power: ArrayLike
    end_value: ArrayLike

    def _at(self, t: jax.Array) -> jax.Array:
        t = promote_step(t, self.steps)
        done, remaining = progress(t, self.steps)
        p = as_float(self.power, t)
        # Two weights, each precise where it is small (so a rise from 0 keeps its relative
        # precision), and no difference of the two values (which could overflow): exactly
        # `init` at 0 and `end` at T.
        weights = masked_at_zero(lambda x: x**p, remaining), one_minus_power(done, remaining, p)
        return mix(as_float(self.init_value, t), as_float(self.end_value, t), weights)

    def _horizon(self) -> int | None:
        return step_count(self.steps)


@register
@renamed(max_update="steps")
def polynomial_decay(init_value: ArrayLike, steps: ArrayLike, power: ArrayLike = 1.0,
                     end_value: ArrayLike = 0.0) -> Schedule:
    """Polynomial decay to `end_value` at step `steps`, then held there.

    .. math:: \\eta_t = (v_0 - v_1)\\,(1 - \\min(t, T)/T)^{p} + v_1

    Matches ``torch.optim.lr_scheduler.PolynomialLR`` (``total_iters = steps``,
    ``end_value = 0``), MXNet's ``PolyScheduler`` and ``optax.polynomial_schedule``. The value at
    `steps` is exactly `end_value`: ``1 - t/T`` is computed as ``(T - t)/T`` from integers, and
    the value as ``v_0 (1 - f)^p + v_1 (1 - (1 - f)^p)``, finite for any finite ends.

    Args:
      init_value: value at step 0.
      steps: ``T``, steps until `end_value`, >= 0 (0: `end_value` from step 0; a non-integral
        float is computed in float arithmetic).
      power: exponent of the polynomial, > 0.
      end_value: final value.

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.polynomial_decay(1.0, steps=4, power=2.0)
      >>> [f"{float(s(t)):.4f}" for t in range(6)]
      ['1.0000', '0.5625', '0.2500', '0.0625', '0.0000', '0.0000']
    """
    return _PolynomialDecay(
        init_value=check.real("init_value", init_value),
        steps=check.length("steps", steps),
        power=check.positive("power", power),
        end_value=check.real("end_value", end_value),
    )


class _InverseTimeDecay(Schedule, kind="inverse_time_decay"):
    init_value: ArrayLike
    decay_rate: ArrayLike
    transition_steps: ArrayLike
    staircase: bool = field(static=True)

    def _at(self, t: jax.Array) -> jax.Array:
        t = promote_step(t, self.transition_steps)
        q, r = divmod_steps(t, self.transition_steps)
        p = q.astype(float_dtype(t))
        if not self.staircase:
            p = p + fractions(r, as_count(self.transition_steps, t), t)[0]
        return as_float(self.init_value, t) / (1 + as_float(self.decay_rate, t) * p)


@register
@renamed(decay_steps="transition_steps")
def inverse_time_decay(init_value: ArrayLike, decay_rate: ArrayLike,
                       transition_steps: ArrayLike = 1, staircase: bool = False) -> Schedule:
    """Inverse time decay.

    .. math:: \\eta_t = \\frac{v_0}{1 + r \\cdot t / n}

    with ``t / n`` floored when `staircase`. Matches Keras's ``InverseTimeDecay`` (its
    ``decay_steps`` is our `transition_steps`). No horizon (asymptotic).

    Args:
      init_value: value at step 0.
      decay_rate: the rate ``r``, >= 0.
      transition_steps: the time scale ``n``, >= 1 (an integer, or a non-integral float).
      staircase: decay in discrete jumps.

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.inverse_time_decay(1.0, decay_rate=1.0, transition_steps=10)
      >>> [f"{float(s(t)):.4f}" for t in (0, 10, 30)]
      ['1.0000', '0.5000', '0.2500']
    """
    return _InverseTimeDecay(
        init_value=check.real("init_value", init_value),
        decay_rate=check.nonnegative("decay_rate", decay_rate),
        transition_steps=check.length("transition_steps", transition_steps, low=1),
        staircase=check.flag("staircase", staircase),
    )


class _InverseSqrt(Schedule, kind="inverse_sqrt"):
    init_value: ArrayLike
    warmup_steps: ArrayLike
    timescale: ArrayLike | None

    def _at(self, t: jax.Array) -> jax.Array:
        t = promote_step(t, self.warmup_steps, self.timescale)
        dtype = float_dtype(t)
        w = as_count(self.warmup_steps, t)
        if self.timescale is None:  # transformers' default: the warmup, or 10,000 without one
            scale = jnp.where(w > 0, w, jnp.full((), 10_000, t.dtype))
        else:
            scale = as_count(self.timescale, t)
        ramp, _ = progress(t, self.warmup_steps)
        since = jnp.maximum(t - w, jnp.zeros((), t.dtype)).astype(dtype)
        decay = jnp.sqrt(scale.astype(dtype) / (since + scale.astype(dtype)))
        return as_float(self.init_value, t) * jnp.where(t < w, ramp, decay)


@register
def inverse_sqrt(init_value: ArrayLike, warmup_steps: ArrayLike = 0,
                 timescale: ArrayLike | None = None) -> Schedule:
    """Linear warmup, then decay proportional to the inverse square root of the step.

    .. math::
       \\eta_t = v_0 \\cdot \\begin{cases} t / w & t < w \\\\
       \\sqrt{\\tau / (t - w + \\tau)} & t \\ge w \\end{cases}

    Matches ``transformers.get_inverse_sqrt_schedule``: ``timescale`` defaults to `warmup_steps`,
    or 10,000 when there is no warmup; the value is exactly `init_value` at ``t = w``.

    Args:
      init_value: the peak value, reached at step `warmup_steps`.
      warmup_steps: length of the linear warmup, >= 0 (an integer, or a non-integral float).
      timescale: ``tau``, >= 1 (default: see above). No horizon (asymptotic).

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.inverse_sqrt(1.0, warmup_steps=4)
      >>> [f"{float(s(t)):.4f}" for t in (0, 2, 4, 8, 16)]
      ['0.0000', '0.5000', '1.0000', '0.7071', '0.5000']
    """
    return _InverseSqrt(
        init_value=check.real("init_value", init_value),
        warmup_steps=check.length("warmup_steps", warmup_steps),
        timescale=None if timescale is None else check.length("timescale", timescale, low=1),
    )


if not TYPE_CHECKING:  # 1.0 pickles name these classes jaxsched._decays._TanhDecay, ...
    __getattr__ = moved(__name__, {"_WarmupStableDecay": "._wsd", "_LogAnnealing": "._anneals",
                                   "_TanhDecay": "._anneals"})
