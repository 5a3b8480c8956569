"""Schedule shapes: the "quantity" of a schedule (how the learning rate changes).

Step ``t`` counts optimizer updates from 0; the value at ``t`` equals the PyTorch learning rate
after ``t`` calls of ``scheduler.step()``. Steps below 0 act as step 0. Integer steps are divided
and compared as integers; only then are positions turned into float fractions (see `_numerics`).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks as check
from ._numerics import (
    complementary,
    cos_weights,
    fractions,
    half_cosine,
    log_of,
    mix,
    one_minus_power,
    power,
    quotient,
)
from ._schedule import Schedule, as_count, as_float, float_dtype, register

__all__ = [
    "constant",
    "cosine_annealing",
    "cyclic",
    "exponential_decay",
    "inverse_sqrt",
    "inverse_time_decay",
    "linear",
    "log_annealing",
    "multistep_decay",
    "one_cycle",
    "one_cycle_momentum",
    "polynomial_decay",
    "sgdr",
    "step_decay",
    "warmup_stable_decay",
]


def _divmod(t: jax.Array, n: Any) -> tuple[jax.Array, jax.Array]:
    """Exact ``(t // n, t % n)`` for integer steps; floor-based for float steps."""
    n = jnp.maximum(as_count(n, t), jnp.ones((), t.dtype))
    return jnp.floor_divide(t, n), jnp.remainder(t, n)


# -- constant and linear --------------------------------------------------------------------------


class _Constant(Schedule):
    kind = "constant"
    params = ("value",)

    def _at(self, t):
        return jnp.broadcast_to(as_float(self.value, t), t.shape)


@register
def constant(value: Any) -> Schedule:
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


class _Linear(Schedule):
    kind = "linear"
    params = ("init_value", "end_value", "steps")

    def _at(self, t):
        n = as_count(self.steps, t)
        done, remaining = fractions(jnp.minimum(t, n), n, t)
        return mix(as_float(self.init_value, t), as_float(self.end_value, t), (remaining, done))


@register
def linear(init_value: Any, end_value: Any, steps: Any) -> Schedule:
    """Linear interpolation from `init_value` to `end_value` over `steps` steps, then `end_value`.

    .. math:: \\eta_t = v_0 + (v_1 - v_0) \\cdot \\min(t, n) / n

    Matches ``torch.optim.lr_scheduler.LinearLR`` (with ``init = base·start_factor`` and
    ``end = base·end_factor``, ``total_iters = steps``) and ``optax.linear_schedule``. Both ends are
    exact.

    Args:
      init_value: value at step 0.
      end_value: value from step `steps` on.
      steps: length of the ramp, a positive integer.

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
        steps=check.positive_int("steps", steps),
    )


# -- step decays ----------------------------------------------------------------------------------


class _StepDecay(Schedule):
    kind = "step_decay"
    params = ("init_value", "step_size", "gamma")

    def _at(self, t):
        k, _ = _divmod(t, self.step_size)
        return as_float(self.init_value, t) * power(self.gamma, k, t)


@register
def step_decay(init_value: Any, step_size: Any, gamma: Any = 0.1) -> Schedule:
    """Multiply the learning rate by `gamma` every `step_size` steps.

    .. math:: \\eta_t = v_0 \\cdot \\gamma^{\\lfloor t / s \\rfloor}

    Matches ``torch.optim.lr_scheduler.StepLR`` and MXNet's ``FactorScheduler``. It is a
    staircased exponential decay, ``staircase(exponential_decay(v0, gamma, transition_steps=s),
    s)``, and ``per_epoch(exponential_decay(v0, gamma), s)``.

    Args:
      init_value: value at step 0.
      step_size: steps between decays, a positive integer.
      gamma: the factor, in (0, 1] (a growing step schedule would overflow; use
        `multistep_decay` for a bounded number of increases).

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.step_decay(0.1, step_size=30, gamma=0.1)
      >>> [f"{float(s(t)):.4f}" for t in (0, 29, 30, 60)]
      ['0.1000', '0.1000', '0.0100', '0.0010']
    """
    return _StepDecay(
        init_value=check.real("init_value", init_value),
        step_size=check.positive_int("step_size", step_size),
        gamma=check.real("gamma", gamma, low=0.0, low_open=True, high=1.0),
    )


class _MultistepDecay(Schedule):
    kind = "multistep_decay"
    params = ("init_value", "milestones", "gamma")

    def _at(self, t):
        milestones = as_count(self.milestones, t)
        passed = jnp.searchsorted(milestones, t, side="right")  # milestones <= t
        return as_float(self.init_value, t) * power(self.gamma, passed, t)


@register
def multistep_decay(init_value: Any, milestones: Any, gamma: Any = 0.1) -> Schedule:
    """Multiply the learning rate by `gamma` at each milestone.

    .. math:: \\eta_t = v_0 \\cdot \\gamma^{\\#\\{i : m_i \\le t\\}}

    A milestone listed twice counts twice. Matches ``torch.optim.lr_scheduler.MultiStepLR``.

    Args:
      init_value: value at step 0.
      milestones: non-decreasing, non-negative integer steps.
      gamma: the factor, > 0.

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.multistep_decay(1.0, milestones=[2, 4, 4], gamma=0.5)
      >>> [f"{float(s(t)):.3f}" for t in range(6)]
      ['1.000', '1.000', '0.500', '0.500', '0.125', '0.125']
    """
    init_value = check.real("init_value", init_value)
    milestones = check.int_sequence("milestones", milestones)
    gamma = check.positive("gamma", gamma)
    if not any(check.is_traced(x) for x in (init_value, milestones, gamma)):
        # gamma**n is computed first, then multiplied by init_value: both must be finite.
        growth = np.max(np.maximum(np.asarray(gamma, np.float64), 1.0) ** len(milestones))
        largest = growth * max(np.max(np.abs(init_value)), 1.0)
        if not largest <= 0.999 * check.FLOAT32_MAX:  # a margin for float32's rounding
            raise ValueError(
                f"gamma must keep the value within float32's range after the last milestone "
                f"(max(|init_value|, 1) * gamma**{len(milestones)} = {largest:.4g}), got "
                f"gamma={gamma!r}")
    return _MultistepDecay(init_value=init_value, milestones=milestones, gamma=gamma)


# -- smooth decays --------------------------------------------------------------------------------


class _ExponentialDecay(Schedule):
    kind = "exponential_decay"
    params = ("init_value", "gamma", "transition_steps", "staircase", "transition_begin",
              "end_value")
    static = frozenset({"staircase"})

    def _at(self, t):
        begin = as_count(self.transition_begin, t)
        elapsed = jnp.maximum(t - begin, jnp.zeros((), t.dtype))
        q, r = _divmod(elapsed, self.transition_steps)
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
            # below 1 is 1.0 in float32.
            decays = log_of(self.gamma, t) <= 0
            lr = jnp.where(decays, jnp.maximum(lr, end), jnp.minimum(lr, end))
        return lr


@register
def exponential_decay(init_value: Any, gamma: Any, transition_steps: Any = 1,
                      staircase: bool = False, transition_begin: Any = 0,
                      end_value: Any = None) -> Schedule:
    """Exponential decay: multiply by `gamma` every `transition_steps` steps, continuously.

    .. math:: \\eta_t = v_0 \\cdot \\gamma^{p}, \\quad p = \\max(t - b, 0) / n

    with ``p`` floored when `staircase`, and the result bounded by `end_value` (from below when
    ``gamma < 1``, from above otherwise). Matches ``torch.optim.lr_scheduler.ExponentialLR``
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
      transition_steps: steps per factor of `gamma`, a positive integer.
      staircase: decay in discrete jumps.
      transition_begin: steps before the decay starts, an integer >= 0.
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
        transition_steps=check.positive_int("transition_steps", transition_steps),
        staircase=check.flag("staircase", staircase),
        transition_begin=check.integer("transition_begin", transition_begin),
        end_value=None if end_value is None else check.real("end_value", end_value),
    )


class _PolynomialDecay(Schedule):
    kind = "polynomial_decay"
    params = ("init_value", "max_update", "power", "end_value")

    def _at(self, t):
        n = as_count(self.max_update, t)
        done, remaining = fractions(jnp.minimum(t, n), n, t)
        p = as_float(self.power, t)
        init, end = as_float(self.init_value, t), as_float(self.end_value, t)
        # From the end whose weight is small, so that the value keeps its relative precision
        # near both ends (a rise from 0 included); exactly `init` at 0 and `end` at T.
        rise = one_minus_power(done, remaining, p)
        return jnp.where(done <= remaining, init + (end - init) * rise,
                         end + (init - end) * remaining**p)


@register
def polynomial_decay(init_value: Any, max_update: Any, power: Any = 1.0,
                     end_value: Any = 0.0) -> Schedule:
    """Polynomial decay to `end_value` at step `max_update`, then held there.

    .. math:: \\eta_t = (v_0 - v_1)\\,(1 - \\min(t, T)/T)^{p} + v_1

    Matches ``torch.optim.lr_scheduler.PolynomialLR`` (``total_iters = max_update``,
    ``end_value = 0``), MXNet's ``PolyScheduler`` and ``optax.polynomial_schedule``. The value at
    `max_update` is exactly `end_value`: ``1 - t/T`` is computed as ``(T - t)/T`` from integers.

    Args:
      init_value: value at step 0.
      max_update: steps until `end_value`, a positive integer.
      power: exponent of the polynomial, > 0.
      end_value: final value.

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.polynomial_decay(1.0, max_update=4, power=2.0)
      >>> [f"{float(s(t)):.4f}" for t in range(6)]
      ['1.0000', '0.5625', '0.2500', '0.0625', '0.0000', '0.0000']
    """
    return _PolynomialDecay(
        init_value=check.real("init_value", init_value),
        max_update=check.positive_int("max_update", max_update),
        power=check.positive("power", power),
        end_value=check.real("end_value", end_value),
    )


class _InverseTimeDecay(Schedule):
    kind = "inverse_time_decay"
    params = ("init_value", "decay_rate", "decay_steps", "staircase")
    static = frozenset({"staircase"})

    def _at(self, t):
        q, r = _divmod(t, self.decay_steps)
        p = q.astype(float_dtype(t))
        if not self.staircase:
            p = p + fractions(r, as_count(self.decay_steps, t), t)[0]
        return as_float(self.init_value, t) / (1 + as_float(self.decay_rate, t) * p)


@register
def inverse_time_decay(init_value: Any, decay_rate: Any, decay_steps: Any,
                       staircase: bool = False) -> Schedule:
    """Inverse time decay.

    .. math:: \\eta_t = \\frac{v_0}{1 + r \\cdot t / n}

    with ``t / n`` floored when `staircase`. Matches Keras's ``InverseTimeDecay``.

    Args:
      init_value: value at step 0.
      decay_rate: the rate ``r``, >= 0.
      decay_steps: the time scale ``n``, a positive integer.
      staircase: decay in discrete jumps.

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.inverse_time_decay(1.0, decay_rate=1.0, decay_steps=10)
      >>> [f"{float(s(t)):.4f}" for t in (0, 10, 30)]
      ['1.0000', '0.5000', '0.2500']
    """
    return _InverseTimeDecay(
        init_value=check.real("init_value", init_value),
        decay_rate=check.nonnegative("decay_rate", decay_rate),
        decay_steps=check.positive_int("decay_steps", decay_steps),
        staircase=check.flag("staircase", staircase),
    )


class _InverseSqrt(Schedule):
    kind = "inverse_sqrt"
    params = ("init_value", "warmup_steps", "timescale")

    def _at(self, t):
        dtype = float_dtype(t)
        w = as_count(self.warmup_steps, t)
        if self.timescale is None:  # transformers' default: the warmup, or 10,000 without one
            scale = jnp.where(w > 0, w, jnp.full((), 10_000, t.dtype))
        else:
            scale = as_count(self.timescale, t)
        ramp, _ = fractions(jnp.minimum(t, w), w, t)
        since = jnp.maximum(t - w, jnp.zeros((), t.dtype)).astype(dtype)
        decay = jnp.sqrt(scale.astype(dtype) / (since + scale.astype(dtype)))
        return as_float(self.init_value, t) * jnp.where(t < w, ramp, decay)


@register
def inverse_sqrt(init_value: Any, warmup_steps: Any = 0, timescale: Any = None) -> Schedule:
    """Linear warmup, then decay proportional to the inverse square root of the step.

    .. math::
       \\eta_t = v_0 \\cdot \\begin{cases} t / w & t < w \\\\
       \\sqrt{\\tau / (t - w + \\tau)} & t \\ge w \\end{cases}

    Matches ``transformers.get_inverse_sqrt_schedule``: ``timescale`` defaults to `warmup_steps`,
    or 10,000 when there is no warmup; the value is exactly `init_value` at ``t = w``.

    Args:
      init_value: the peak value, reached at step `warmup_steps`.
      warmup_steps: length of the linear warmup, an integer >= 0.
      timescale: ``tau``, a positive integer (default: see above).

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
        warmup_steps=check.integer("warmup_steps", warmup_steps),
        timescale=None if timescale is None else check.positive_int("timescale", timescale),
    )


# -- cosines ---------------------------------------------------------------------------------------


class _CosineAnnealing(Schedule):
    kind = "cosine_annealing"
    params = ("max_lr", "cycle_length", "min_lr")

    def _at(self, t):
        n = as_count(self.cycle_length, t)
        weights = cos_weights(jnp.minimum(t, n), n, t)
        return mix(as_float(self.max_lr, t), as_float(self.min_lr, t), weights)


def _check_range(min_lr: Any, max_lr: Any, low_name: str = "min_lr",
                 high_name: str = "max_lr") -> None:
    if check.is_traced(min_lr) or check.is_traced(max_lr):
        return
    if not np.all(np.asarray(max_lr) >= np.asarray(min_lr)):
        raise ValueError(
            f"{high_name} must be >= {low_name}, got {high_name}={max_lr!r}, {low_name}={min_lr!r}"
        )


@register
def cosine_annealing(max_lr: Any, cycle_length: Any, min_lr: Any = 0.0) -> Schedule:
    """Cosine annealing from `max_lr` to `min_lr` over `cycle_length` steps, then `min_lr`.

    .. math:: \\eta_t = \\eta_{min} + (\\eta_{max} - \\eta_{min})\\,
              \\frac{1 + \\cos(\\pi \\min(t, T) / T)}{2}

    The closed form of ``torch.optim.lr_scheduler.CosineAnnealingLR`` for ``t <= T`` (PyTorch
    continues periodically past ``T``; this holds `min_lr`, as ``optax.cosine_decay_schedule``
    does; use `sgdr` for restarts). Both ends are exact.

    Args:
      max_lr: value at step 0.
      cycle_length: ``T``, a positive integer.
      min_lr: value from step ``T`` on, <= `max_lr`.

    Returns:
      The schedule.

    References:
      Loshchilov & Hutter, SGDR: Stochastic Gradient Descent with Warm Restarts,
      arXiv:1608.03983.

    Example:
      >>> import jaxsched as js
      >>> s = js.cosine_annealing(1.0, cycle_length=4)
      >>> [f"{float(s(t)):.4f}" for t in range(6)]
      ['1.0000', '0.8536', '0.5000', '0.1464', '0.0000', '0.0000']
    """
    max_lr = check.real("max_lr", max_lr)
    min_lr = check.real("min_lr", min_lr)
    _check_range(min_lr, max_lr)
    return _CosineAnnealing(
        max_lr=max_lr, cycle_length=check.positive_int("cycle_length", cycle_length),
        min_lr=min_lr,
    )


def _restart_tables(m: jax.Array, t: jax.Array):
    """Cycle starts for cycle lengths ``n, n·m, n·m², …`` in units of ``n`` (``m >= 2``, scalar).

    Returns ``(starts, powers, powers_f)``: ``starts[k] = 1 + m + … + m**(k-1)`` and
    ``powers[k] = m**k`` for as many ``k`` as the step's integer type has bits (more cycles than
    can start within its range). For integer steps both are unsigned integers, exact wherever they
    fit; a float32 estimate replaces the starts that do not fit by the largest unsigned value, so
    they never compare as reached. For float steps the tables are floats.
    """
    if jnp.issubdtype(t.dtype, jnp.floating):
        powers = jnp.cumprod(jnp.full(64, m, t.dtype).at[0].set(1))
        return jnp.cumsum(powers) - powers, powers, powers
    bits = jnp.iinfo(t.dtype).bits
    unsigned = jnp.uint64 if bits == 64 else jnp.uint32
    powers = jnp.cumprod(jnp.full(bits, m, unsigned).at[0].set(1))
    powers_f = jnp.cumprod(jnp.full(bits, m, jnp.float32).at[0].set(1))
    starts_f = jnp.cumsum(powers_f) - powers_f
    starts = jnp.where(starts_f < 1.5 * float(jnp.iinfo(t.dtype).max),
                       jnp.cumsum(powers) - powers, jnp.array(jnp.iinfo(unsigned).max, unsigned))
    return starts, powers, powers_f


class _SGDR(Schedule):
    kind = "sgdr"
    params = ("max_lr", "cycle_length", "min_lr", "cycle_mult", "cycle_decay")

    def _at(self, t):
        dtype = float_dtype(t)
        n = as_count(self.cycle_length, t)
        m = as_count(self.cycle_mult, t)
        q, r = _divmod(t, n)
        # Geometric cycles (m >= 2): find the cycle by searching the table of starts.
        starts, powers, powers_f = _restart_tables(jnp.maximum(m, 2), t)
        k = jnp.searchsorted(starts, q.astype(starts.dtype), side="right",
                             method="compare_all") - 1
        geometric = m > 1
        i = jnp.where(geometric, k.astype(t.dtype), q)
        done = jnp.where(geometric, t - starts[k].astype(t.dtype) * n, r)  # g·n <= t: exact
        # Length of cycle i: exact when it fits the tables' unsigned type, float32 beyond.
        length_f = n.astype(dtype) * jnp.where(geometric, powers_f[k].astype(dtype), 1)
        if jnp.issubdtype(t.dtype, jnp.floating):
            weights = cos_weights(done, length_f.astype(t.dtype), t)
        else:
            # Lengths are exact in the unsigned type of the tables (up to 2**32 for int32 steps:
            # a cycle that starts within int32 may end beyond it), with a margin for the
            # float32 estimate that decides whether they fit.
            unsigned = powers.dtype
            fits = ~geometric | (length_f < 0.99 * float(jnp.iinfo(unsigned).max))
            length = jnp.where(fits, n.astype(unsigned) * jnp.where(geometric, powers[k], 1), 1)
            exact = cos_weights(done.astype(unsigned), length, t)
            estimate = cos_weights(done.astype(dtype), length_f, t)
            weights = tuple(jnp.where(fits, a, b) for a, b in zip(exact, estimate))
        low = as_float(self.min_lr, t)
        peak = as_float(self.max_lr, t) * power(self.cycle_decay, i, t)
        return mix(jnp.maximum(peak, low), low, weights)


@register
def sgdr(max_lr: Any, cycle_length: Any, min_lr: Any = 0.0, cycle_mult: Any = 1,
         cycle_decay: Any = 1.0) -> Schedule:
    """Cosine annealing with warm restarts (SGDR), in closed form.

    Cycle ``i`` has length ``T_i = T·m^i`` and peak ``P_i = max(max_lr·d^i, min_lr)``. With
    ``t_i`` the step where cycle ``i`` starts and ``t_cur = t - t_i``:

    .. math:: \\eta_t = \\eta_{min} + (P_i - \\eta_{min})\\,\\frac{1 + \\cos(\\pi t_{cur}/T_i)}{2}

    The cycle is found without iterating over cycles: ``t // T`` for ``m = 1``; for ``m >= 2``
    every candidate cycle start (at most 32 fit in int32) is tested at once, in exact integer
    arithmetic. The work and the jaxpr are the same size for 10 cycles or 10 million.

    Matches ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`` (``T_0``, ``T_mult``,
    ``eta_min``) and, with `cycle_decay`, timm's ``CosineLRScheduler`` (its ``cycle_mul``,
    ``cycle_decay``). Keras's ``CosineDecayRestarts`` with ``alpha = 0`` is the same schedule
    (with ``alpha > 0`` Keras decays ``max - min`` rather than the peak). Periodic forever.

    Args:
      max_lr: peak of the first cycle.
      cycle_length: ``T``, the first cycle's length, a positive integer.
      min_lr: the floor, <= `max_lr`.
      cycle_mult: ``m``, growth factor of cycle lengths, an integer >= 1 (as PyTorch's
        ``T_mult``).
      cycle_decay: ``d``, the factor applied to the peak at each restart, in (0, 1].

    Returns:
      The schedule.

    References:
      Loshchilov & Hutter, SGDR: Stochastic Gradient Descent with Warm Restarts,
      arXiv:1608.03983.

    Example:
      >>> import jaxsched as js
      >>> s = js.sgdr(1.0, cycle_length=2, cycle_mult=2)
      >>> [f"{float(s(t)):.2f}" for t in range(8)]
      ['1.00', '0.50', '1.00', '0.85', '0.50', '0.15', '1.00', '0.96']
    """
    max_lr = check.real("max_lr", max_lr)
    min_lr = check.real("min_lr", min_lr)
    _check_range(min_lr, max_lr)
    return _SGDR(
        max_lr=max_lr,
        cycle_length=check.positive_int("cycle_length", cycle_length),
        min_lr=min_lr,
        cycle_mult=check.positive_int("cycle_mult", cycle_mult),
        cycle_decay=check.real("cycle_decay", cycle_decay, low=0.0, low_open=True, high=1.0),
    )


class _Cyclic(Schedule):
    kind = "cyclic"
    params = ("base_lr", "max_lr", "step_size_up", "step_size_down", "mode", "gamma")
    static = frozenset({"mode"})

    def _at(self, t):
        up = as_count(self.step_size_up, t)
        down = as_count(self.step_size_up if self.step_size_down is None else self.step_size_down,
                        t)
        cycle, p = _divmod(t, up + down)
        rising = fractions(p, up, t)  # p / up and its complement
        fallen, falling = fractions(p - up, down, t)  # (up + down - p) / down is `falling`
        on_the_way_up = p <= up
        weights = (jnp.where(on_the_way_up, rising[0], falling),
                   jnp.where(on_the_way_up, rising[1], fallen))
        base, high = as_float(self.base_lr, t), as_float(self.max_lr, t)
        if self.mode != "triangular":  # the amplitude shrinks: the top is base + (high - base) s
            s = power(0.5, cycle, t) if self.mode == "triangular2" else power(self.gamma, t, t)
            high = mix(high, base, (s, 1 - s))
        return mix(high, base, weights)


@register
def cyclic(base_lr: Any, max_lr: Any, step_size_up: Any, step_size_down: Any = None,
           mode: str = "triangular", gamma: Any = 1.0) -> Schedule:
    """Cyclical learning rate: up from `base_lr` to `max_lr` and back down, repeatedly.

    With ``u`` steps up, ``d`` steps down, cycle ``c = ⌊t/(u+d)⌋`` and position
    ``p = t mod (u+d)``:

    .. math:: \\eta_t = b + (M - b)\\, s \\cdot \\begin{cases} p/u & p \\le u \\\\
              (u + d - p)/d & p > u \\end{cases}

    where the amplitude scale ``s`` is 1 ("triangular"), ``2^{-c}`` ("triangular2") or
    ``gamma^t`` ("exp_range"). Matches ``torch.optim.lr_scheduler.CyclicLR``. Periodic forever.

    Args:
      base_lr: the lower bound.
      max_lr: the upper bound of the first cycle, >= `base_lr`.
      step_size_up: steps from `base_lr` to `max_lr`, a positive integer.
      step_size_down: steps back down, an integer >= 0 (default: `step_size_up`); a whole cycle
        is at most 2**31 - 1 steps.
      mode: "triangular", "triangular2" or "exp_range".
      gamma: the per-step amplitude factor of "exp_range", in (0, 1].

    Returns:
      The schedule.

    References:
      Smith, Cyclical Learning Rates for Training Neural Networks, arXiv:1506.01186.

    Example:
      >>> import jaxsched as js
      >>> s = js.cyclic(0.0, 1.0, step_size_up=2, mode="triangular2")
      >>> [f"{float(s(t)):.2f}" for t in range(9)]
      ['0.00', '0.50', '1.00', '0.50', '0.00', '0.25', '0.50', '0.25', '0.00']
    """
    base_lr = check.real("base_lr", base_lr)
    max_lr = check.real("max_lr", max_lr)
    _check_range(base_lr, max_lr, "base_lr")
    step_size_up = check.positive_int("step_size_up", step_size_up)
    if step_size_down is not None:
        step_size_down = check.integer("step_size_down", step_size_down)
    down = step_size_up if step_size_down is None else step_size_down
    if not (check.is_traced(step_size_up) or check.is_traced(down)) and \
            int(step_size_up) + int(down) > 2**31 - 1:
        raise ValueError(
            "step_size_up + step_size_down (a cycle) must be at most 2**31 - 1, got "
            f"step_size_up={step_size_up!r}, step_size_down={step_size_down!r}")
    return _Cyclic(
        base_lr=base_lr,
        max_lr=max_lr,
        step_size_up=step_size_up,
        step_size_down=step_size_down,
        mode=check.choice("mode", mode, ("triangular", "triangular2", "exp_range")),
        gamma=check.real("gamma", gamma, low=0.0, low_open=True, high=1.0),
    )


# -- one-cycle ------------------------------------------------------------------------------------


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
    positions stay exact for huge ``total_steps``, where a float32 step would be rounded to a
    multiple of 128.
    """
    dtype = float_dtype(t)
    clamped = jnp.minimum(t, as_count(ends[-1][0], t))
    out = None
    for i in reversed(range(len(ends))):
        (_, _, start, start_below), (end, end_above, _, _) = (
            ends[i - 1] if i else (0, 0.0, 0, 0.0), ends[i])
        start, end = as_count(start, t), as_count(end, t)
        start_below, end_above = as_float(start_below, t), as_float(end_above, t)
        done = (clamped - start).astype(dtype) + start_below
        left = (end - clamped).astype(dtype) + end_above
        length = (end - start).astype(dtype) + start_below + end_above
        f, g = complementary(quotient(done, length), quotient(left, length))
        weights = (half_cosine(f, g), half_cosine(g, f)) if anneal == "cos" else (g, f)
        value = mix(values[i], values[i + 1], weights)
        out = value if out is None else jnp.where(clamped <= end, value, out)
    return out


def _one_cycle_ends(total_steps: Any, pct_start: Any, three_phase: bool) -> list:
    """PyTorch's phase ends, ``pct·N − 1`` (, ``2·pct·N − 2``) and ``N − 1``, each as
    ``(floor, end − floor, ceil, ceil − end)``: from float64 on the host when the arguments are
    concrete."""
    if check.is_traced(total_steps) or check.is_traced(pct_start):
        total = jnp.asarray(total_steps).astype(jnp.float32)
        up = jnp.asarray(pct_start).astype(jnp.float32) * total
        ends = [up - 1, 2 * up - 2, total - 1] if three_phase else [up - 1, total - 1]
        return [(jnp.floor(e).astype(jnp.int32), e - jnp.floor(e),
                 jnp.ceil(e).astype(jnp.int32), jnp.ceil(e) - e) for e in ends]
    up = float(pct_start) * float(total_steps)
    ends = [up - 1, 2 * up - 2, total_steps - 1] if three_phase else [up - 1, total_steps - 1]
    return [(math.floor(e), e - math.floor(e), math.ceil(e), math.ceil(e) - e) for e in ends]


def _check_one_cycle(total_steps, pct_start, anneal, three_phase):
    total_steps = check.integer("total_steps", total_steps, low=2)
    pct_start = check.real("pct_start", pct_start, low=0.0, high=1.0, low_open=True,
                           high_open=True)
    anneal = check.choice("anneal", anneal, ("cos", "linear"))
    three_phase = check.flag("three_phase", three_phase)
    if not (check.is_traced(total_steps) or check.is_traced(pct_start)):
        up = float(pct_start) * float(total_steps)
        if up - 1 <= 0:
            raise ValueError(
                "pct_start must leave at least one step of warmup (pct_start * total_steps > 1), "
                f"got pct_start={pct_start!r}, total_steps={total_steps!r}")
        if three_phase and 2 * up - 2 >= total_steps - 1:
            raise ValueError(
                "pct_start must leave room for the third phase of three_phase=True (2 * pct_start "
                f"* total_steps < total_steps + 1), got pct_start={pct_start!r}, "
                f"total_steps={total_steps!r}")
    return total_steps, pct_start, anneal, three_phase


class _OneCycle(Schedule):
    kind = "one_cycle"
    params = ("max_lr", "total_steps", "pct_start", "anneal", "div_factor", "final_div_factor",
              "three_phase")
    static = frozenset({"anneal", "three_phase"})

    def _at(self, t):
        peak = as_float(self.max_lr, t)
        initial = peak / as_float(self.div_factor, t)
        final = initial / as_float(self.final_div_factor, t)
        values = [initial, peak, initial, final] if self.three_phase else [initial, peak, final]
        ends = _one_cycle_ends(self.total_steps, self.pct_start, self.three_phase)
        return _phases(t, ends, values, self.anneal)


@register
def one_cycle(max_lr: Any, total_steps: Any, pct_start: Any = 0.3, anneal: str = "cos",
              div_factor: Any = 25.0, final_div_factor: Any = 1e4,
              three_phase: bool = False) -> Schedule:
    """The 1cycle policy: warm up to `max_lr`, then anneal far below the starting value.

    With ``η_0 = max_lr / div_factor`` and ``η_min = η_0 / final_div_factor``, the phases end at
    the (float) steps ``a = pct_start·N − 1`` and ``N − 1`` (three-phase: ``a``, ``2a − 1``… exactly
    ``2·pct_start·N − 2``, and ``N − 1``):

    * two phases: ``η_0 → max_lr`` on ``[0, a]``, ``max_lr → η_min`` on ``(a, N − 1]``;
    * three phases: ``η_0 → max_lr → η_0 → η_min``.

    Each phase anneals with ``anneal``: "cos", ``end + (start − end)(1 + cos(π·pct))/2``, or
    "linear". Matches ``torch.optim.lr_scheduler.OneCycleLR`` for ``t = 0 … N − 1``; from step
    ``N − 1`` on the value stays at ``η_min`` (PyTorch raises past ``N``).

    Args:
      max_lr: the peak value.
      total_steps: ``N``, an integer >= 2.
      pct_start: fraction of the steps spent warming up, in (0, 1).
      anneal: "cos" or "linear".
      div_factor: ``max_lr / η_0``, > 0.
      final_div_factor: ``η_0 / η_min``, > 0.
      three_phase: come back down to ``η_0`` symmetrically before the final annealing.

    Returns:
      The schedule.

    References:
      Smith & Topin, Super-Convergence, arXiv:1708.07120.

    Example:
      >>> import jaxsched as js
      >>> s = js.one_cycle(1.0, total_steps=10, pct_start=0.3, div_factor=10.0)
      >>> [f"{float(s(t)):.3f}" for t in (0, 2, 9)]
      ['0.100', '1.000', '0.000']
    """
    total_steps, pct_start, anneal, three_phase = _check_one_cycle(
        total_steps, pct_start, anneal, three_phase)
    max_lr = check.nonnegative("max_lr", max_lr)
    div_factor = check.positive("div_factor", div_factor)
    final_div_factor = check.positive("final_div_factor", final_div_factor)
    if not any(check.is_traced(x) for x in (max_lr, div_factor, final_div_factor)):
        initial = np.asarray(max_lr, np.float64) / np.asarray(div_factor, np.float64)
        for name, value in (("div_factor", initial), ("final_div_factor",
                                                      initial / np.asarray(final_div_factor))):
            if not np.all(value <= 0.999 * check.FLOAT32_MAX):  # margin for rounding
                raise ValueError(
                    f"{name} must keep the starting and final values within float32's range, "
                    f"got max_lr={max_lr!r}, div_factor={div_factor!r}, "
                    f"final_div_factor={final_div_factor!r}")
    return _OneCycle(
        max_lr=max_lr,
        total_steps=total_steps,
        pct_start=pct_start,
        anneal=anneal,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        three_phase=three_phase,
    )


class _OneCycleMomentum(Schedule):
    kind = "one_cycle_momentum"
    params = ("total_steps", "pct_start", "anneal", "base_momentum", "max_momentum",
              "three_phase")
    static = frozenset({"anneal", "three_phase"})

    def _at(self, t):
        low, high = as_float(self.base_momentum, t), as_float(self.max_momentum, t)
        values = [high, low, high, high] if self.three_phase else [high, low, high]
        ends = _one_cycle_ends(self.total_steps, self.pct_start, self.three_phase)
        return _phases(t, ends, values, self.anneal)


@register
def one_cycle_momentum(total_steps: Any, pct_start: Any = 0.3, anneal: str = "cos",
                       base_momentum: Any = 0.85, max_momentum: Any = 0.95,
                       three_phase: bool = False) -> Schedule:
    """The momentum that goes with `one_cycle`: down while the learning rate goes up, and back.

    Same phases as `one_cycle`: ``max_momentum → base_momentum → max_momentum`` (three-phase:
    ``… → max_momentum`` held in the last phase). Matches the momentum (or Adam's ``beta1``) that
    ``torch.optim.lr_scheduler.OneCycleLR`` sets with ``cycle_momentum=True``. Feed it to an
    optimizer through ``optax.inject_hyperparams``.

    Args:
      total_steps: ``N``, an integer >= 2.
      pct_start: fraction of the steps spent warming up, in (0, 1).
      anneal: "cos" or "linear".
      base_momentum: the lowest momentum, reached at the learning-rate peak.
      max_momentum: the momentum at the start and the end, >= `base_momentum`.
      three_phase: as in `one_cycle`.

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> m = js.one_cycle_momentum(total_steps=10, pct_start=0.3)
      >>> [f"{float(m(t)):.3f}" for t in (0, 2, 9)]
      ['0.950', '0.850', '0.950']
    """
    total_steps, pct_start, anneal, three_phase = _check_one_cycle(
        total_steps, pct_start, anneal, three_phase)
    base_momentum = check.real("base_momentum", base_momentum)
    max_momentum = check.real("max_momentum", max_momentum)
    _check_range(base_momentum, max_momentum, "base_momentum", "max_momentum")
    return _OneCycleMomentum(
        total_steps=total_steps, pct_start=pct_start, anneal=anneal,
        base_momentum=base_momentum, max_momentum=max_momentum, three_phase=three_phase,
    )


# -- log annealing and warmup-stable-decay --------------------------------------------------------


class _LogAnnealing(Schedule):
    kind = "log_annealing"
    params = ("max_lr", "steps", "min_lr")

    def _at(self, t):
        dtype = float_dtype(t)
        n = as_count(self.steps, t)
        done = jnp.minimum(t, n)
        left, scale = n - done, jnp.log1p(n.astype(dtype))
        # w = log((n+1)/(t+1)) / log(n+1) = log1p((n-t)/(t+1)) / log1p(n) and 1 - w =
        # log1p(t) / log1p(n), each precise; exactly 1 and 0 at the ends.
        w = jnp.where(done == 0, jnp.ones((), dtype),
                      quotient(jnp.log1p(left.astype(dtype) / (done.astype(dtype) + 1)), scale))
        w_low = jnp.where(left == 0, jnp.ones((), dtype),
                          quotient(jnp.log1p(done.astype(dtype)), scale))
        return mix(as_float(self.max_lr, t), as_float(self.min_lr, t), (w, w_low))


@register
def log_annealing(max_lr: Any, steps: Any, min_lr: Any = 0.0) -> Schedule:
    """Logarithmic annealing, the seed's custom ``log(1/x)`` schedule, then `min_lr`.

    .. math:: \\eta_t = \\eta_{min} + (\\eta_{max} - \\eta_{min})\\,
              \\frac{\\log\\big((n + 1) / (\\min(t, n) + 1)\\big)}{\\log(n + 1)}

    Falls fast at first and slowly later. The ratio is computed as
    ``log1p((n − t)/(t + 1))`` so the end is exact and precise.

    Args:
      max_lr: value at step 0.
      steps: ``n``, a positive integer.
      min_lr: value from step ``n`` on, <= `max_lr`.

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.log_annealing(1.0, steps=99)
      >>> [f"{float(s(t)):.3f}" for t in (0, 9, 99)]
      ['1.000', '0.500', '0.000']
    """
    max_lr = check.real("max_lr", max_lr)
    min_lr = check.real("min_lr", min_lr)
    _check_range(min_lr, max_lr)
    return _LogAnnealing(max_lr=max_lr, steps=check.positive_int("steps", steps), min_lr=min_lr)


class _WarmupStableDecay(Schedule):
    kind = "warmup_stable_decay"
    params = ("peak_value", "warmup_steps", "stable_steps", "decay_steps", "init_value",
              "end_value", "decay")
    static = frozenset({"decay"})

    def _at(self, t):
        warm = as_count(self.warmup_steps, t)
        stable_end = warm + as_count(self.stable_steps, t)
        n = as_count(self.decay_steps, t)
        peak = as_float(self.peak_value, t)
        ramp = fractions(jnp.minimum(t, warm), warm, t)
        done = jnp.clip(t - stable_end, jnp.zeros((), t.dtype), n)
        f, g = fractions(done, n, t)
        if self.decay == "linear":
            weights = g, f
        elif self.decay == "cosine":
            weights = half_cosine(f, g), half_cosine(g, f)
        else:  # "sqrt": 1 - sqrt(f), written so that it stays precise near f = 1
            root = jnp.sqrt(f)
            weights = g / (1 + root), root
        return jnp.where(
            t < warm,
            mix(peak, as_float(self.init_value, t), ramp),
            jnp.where(t < stable_end, peak, mix(peak, as_float(self.end_value, t), weights)),
        )


@register
def warmup_stable_decay(peak_value: Any, warmup_steps: Any, stable_steps: Any, decay_steps: Any,
                        init_value: Any = 0.0, end_value: Any = 0.0,
                        decay: str = "linear") -> Schedule:
    """Warmup-stable-decay (WSD): linear warmup, a long flat stretch, then a short decay.

    With ``w``, ``s``, ``d`` the three lengths and ``f = (t − w − s)/d`` in the decay phase:

    .. math::
       \\eta_t = \\begin{cases} \\eta_0 + (P - \\eta_0)\\,t/w & t < w \\\\ P & t < w + s \\\\
       \\eta_1 + (P - \\eta_1)\\,D(\\min(f, 1)) & \\text{after} \\end{cases}

    with ``D(f) = 1 − f`` ("linear"), ``(1 + cos πf)/2`` ("cosine") or ``1 − √f`` ("sqrt").
    Matches ``transformers.get_wsd_schedule`` (its "1-sqrt" is our "sqrt"; it starts the warmup
    at ``min_lr_ratio·P``, i.e. ``init_value = end_value``). Holds `end_value` after the decay.

    Args:
      peak_value: ``P``, the value of the stable phase.
      warmup_steps: an integer >= 0.
      stable_steps: an integer >= 0.
      decay_steps: a positive integer.
      init_value: value at step 0.
      end_value: value at the end of the decay and after.
      decay: "linear", "cosine" or "sqrt".

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
    warmup_steps = check.integer("warmup_steps", warmup_steps)
    stable_steps = check.integer("stable_steps", stable_steps)
    decay_steps = check.positive_int("decay_steps", decay_steps)
    lengths = (warmup_steps, stable_steps, decay_steps)
    if not any(check.is_traced(x) for x in lengths) and sum(map(int, lengths)) > 2**31 - 1:
        raise ValueError(
            "warmup_steps + stable_steps + decay_steps must be at most 2**31 - 1, got "
            f"warmup_steps={warmup_steps}, stable_steps={stable_steps}, decay_steps={decay_steps}")
    return _WarmupStableDecay(
        peak_value=check.real("peak_value", peak_value),
        warmup_steps=warmup_steps,
        stable_steps=stable_steps,
        decay_steps=decay_steps,
        init_value=check.real("init_value", init_value),
        end_value=check.real("end_value", end_value),
        decay=check.choice("decay", decay, ("linear", "cosine", "sqrt")),
    )
