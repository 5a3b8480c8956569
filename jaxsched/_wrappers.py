"""Combinators of one schedule: a `warmup` before or over it, the "frequency" of its steps
(`staircase`, `repeat`, `per_epoch`), bounds (`clip`), and a function lifted into a schedule
(`schedule`).

Each calls its schedule through ``schedule._at(u)`` with a prepared step ``u`` (see
`_combinators`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks as check
from ._combinators import _child
from ._fields import field
from ._numerics import (
    decimal_fraction,
    divmod_steps,
    exact_divmod,
    power,
    progress,
    promote_step,
)
from ._ramps import check_power, check_shape, rise
from ._schedule import Schedule, as_count, as_float, float_dtype, register, step_count

__all__ = ["clip", "per_epoch", "repeat", "schedule", "staircase", "warmup"]


# -- warmup ---------------------------------------------------------------------------------------


class _Warmup(Schedule, kind="warmup"):
    schedule: Schedule
    steps: ArrayLike
    init_value: ArrayLike
    shape: str = field(static=True)
    prefix: bool = field(static=True)

    def _exponent(self) -> ArrayLike | None:
        """The exponent of shape "power" (a field of `_PowerWarmup`), else None."""
        return None

    def _at(self, t: jax.Array) -> jax.Array:
        t = promote_step(t, self.steps)
        n = as_count(self.steps, t)
        zero = jnp.zeros((), t.dtype)
        # One evaluation of the schedule, at the step where the ramp ends while ramping (so the
        # cost stays linear in the depth of nested warmups): schedule(0) or schedule(n).
        if self.prefix:
            value = self.schedule._at(jnp.maximum(t - n, zero))
        else:
            value = self.schedule._at(jnp.maximum(t, n))
        ramp = rise(self.shape, as_float(self.init_value, t), value, *progress(t, self.steps),
                    self._exponent())
        return jnp.where(t < n, ramp, value)

    def _horizon(self) -> int | None:
        inner, n = self.schedule.horizon, step_count(self.steps)
        if inner is None or n is None:
            return None
        return inner + n if self.prefix else max(inner, n)


class _PowerWarmup(_Warmup):
    """A warmup of shape "power": the same, with the exponent as one more hyperparameter."""

    power: ArrayLike

    def _exponent(self) -> ArrayLike | None:
        return self.power


def _check_positive_target(schedule: Schedule, steps: Any, prefix: bool) -> None:
    """An exponential ramp ends at the schedule's value where the warmup ends, which must be > 0
    (else the ramp is NaN)."""
    if not schedule._is_concrete() or check.is_traced(steps):
        return
    at = 0 if prefix else steps
    with jax.ensure_compile_time_eval():
        target = np.asarray(schedule._evaluate(at))
    if not np.all(target > 0):
        raise ValueError(f"shape='exponential' ramps up to schedule({at}), which must be > 0, got "
                         f"schedule({at})={target.tolist()!r} for schedule={schedule!r}")


@register
def warmup(schedule: Schedule, steps: ArrayLike, init_value: ArrayLike = 0.0, shape: str = "linear",
           prefix: bool = True, power: ArrayLike | None = None) -> Schedule:
    """Ramp from `init_value` up to the schedule, then run the schedule.

    With ``n = steps``, ``f = t / n`` and a ramp curve ``R`` of the given `shape` (the anneal
    curve ``D`` of `cooldown` run backwards, ``R(f) = D(1 − f)``):

    .. math:: \\eta_t = \\begin{cases} v_0 + (v - v_0)\\,R(f) & t < n \\\\
              \\mathrm{schedule}(t - n) \\text{ or } \\mathrm{schedule}(t) & t \\ge n
              \\end{cases}

    * ``prefix=True`` (transformers, optax): the ramp goes to ``v = schedule(0)`` and the schedule
      starts after it, at ``schedule(t − n)``: every milestone moves ``n`` steps later.
      ``warmup(cosine_annealing(peak, T - n, end), n, init)`` equals
      ``optax.warmup_cosine_decay_schedule(init, peak, n, T, end)``.
    * ``prefix=False`` (big_vision; timm's default keeps the schedule in place too): the warmup
      overlaps the schedule, which is not delayed — the ramp goes to ``v = schedule(n)`` and then
      ``schedule(t)`` runs, so ``warmup(piecewise_constant([30000, 60000], ...), 1000,
      prefix=False)`` keeps its milestones where they were written. (timm's
      ``warmup_prefix=False`` ramps to the base value ``schedule(0)`` instead and jumps to
      ``schedule(n)`` at the end of the warmup; ``join([linear(v0, schedule(0), n),
      shift(schedule, n)], [n])`` is that exactly.)

    Shapes: "linear" ``R(f) = f``, "cosine" ``(1 − cos πf)/2``, "sqrt" ``1 − √(1 − f)``,
    "square" ``1 − (1 − f)²``, "mirror_cosine", "exponential" ``v_0 (v / v_0)^f`` (needs
    ``init_value > 0`` and ``v > 0``), "power" ``f^p`` with ``p = power`` (praxis's
    ``Polynomial(origin="start")`` and TF Model Garden's ``PolynomialWarmUp``; ``p = 2`` is
    slow at first, where "square" is fast). ``steps=0`` is no warmup. The horizon is the schedule's
    plus ``n`` (prefix) or the larger of the two.

    Args:
      schedule: the schedule to warm up.
      steps: ``n``, length of the ramp, >= 0 (an integer, or a non-integral float).
      init_value: ``v_0``, value at step 0 (> 0 for "exponential").
      shape: the ramp's curve (see above).
      prefix: whether the warmup comes before the schedule (True) or overlaps its start (False).
      power: ``p`` > 0, the exponent of shape "power" (and of no other shape).

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.warmup(js.cosine_annealing(1.0, 4), steps=2)
      >>> [f"{float(s(t)):.4f}" for t in range(7)]
      ['0.0000', '0.5000', '1.0000', '0.8536', '0.5000', '0.1464', '0.0000']
      >>> s = js.warmup(js.piecewise_constant([3], [1.0, 0.1]), steps=2, prefix=False)
      >>> [f"{float(s(t)):.2f}" for t in range(5)]
      ['0.00', '0.50', '1.00', '0.10', '0.10']
      >>> s = js.warmup(js.constant(1.0), steps=4, shape="power", power=2.0)
      >>> [f"{float(s(t)):.4f}" for t in range(5)]
      ['0.0000', '0.0625', '0.2500', '0.5625', '1.0000']
    """
    schedule = _child("schedule", schedule)
    shape = check_shape(shape)
    power = check_power(shape, power)
    prefix = check.flag("prefix", prefix)
    steps = check.length("steps", steps)
    if shape == "exponential":
        init_value = check.positive("init_value", init_value)
        _check_positive_target(schedule, steps, prefix)
    else:
        init_value = check.real("init_value", init_value)
    if power is not None:
        return _PowerWarmup(schedule=schedule, steps=steps, init_value=init_value, shape=shape,
                            prefix=prefix, power=power)
    return _Warmup(schedule=schedule, steps=steps, init_value=init_value, shape=shape,
                   prefix=prefix)


# -- frequency: staircase, repeat, per_epoch ------------------------------------------------------


def _periods(t: jax.Array, period: Any) -> tuple[jax.Array, jax.Array]:
    """``(⌊t/p⌋, t mod p)``: exact for integer steps and a concrete non-integral `period` (read
    as a decimal: see `exact_divmod`), where float32 steps would be rounded (2**31 − 2 is 2**31);
    else `divmod_steps` of the promoted step. The remainder is a float step for a fractional
    period."""
    exact = exact_divmod(t, [period]) if isinstance(period, float) else None
    u = promote_step(t, period)
    if exact is None:
        return divmod_steps(u, period)
    q, r, _ = exact
    return q, r.astype(u.dtype) * (1 / u.dtype.type(decimal_fraction(period).denominator))


class _Staircase(Schedule, kind="staircase"):
    schedule: Schedule
    every: ArrayLike

    def _at(self, t: jax.Array) -> jax.Array:
        q, _ = _periods(t, self.every)
        t = promote_step(t, self.every)
        return self.schedule._at(q.astype(t.dtype) * as_count(self.every, t))

    def _horizon(self) -> int | None:
        inner = self.schedule.horizon
        if inner is None or check.is_traced(self.every):
            return None
        every = np.asarray(self.every, np.float64)  # stacked: each run's, the latest counts
        return step_count(np.ceil(inner / every) * every)


@register
def staircase(schedule: Schedule, every: ArrayLike) -> Schedule:
    """Hold each value of a schedule for `every` steps.

    .. math:: \\eta_t = \\mathrm{schedule}(k \\lfloor t / k \\rfloor)

    The step keeps its units (compare `per_epoch`, which counts in units of `every`): step decay
    is a staircased exponential, ``staircase(exponential_decay(v, g, transition_steps=k), k)``
    equals ``step_decay(v, k, g)``.

    Args:
      schedule: the schedule to sample.
      every: ``k`` >= 1 (an integer, or a non-integral float computed in float arithmetic).

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.staircase(js.linear(0.0, 1.0, steps=4), every=2)
      >>> [f"{float(s(t)):.2f}" for t in range(6)]
      ['0.00', '0.00', '0.50', '0.50', '1.00', '1.00']
    """
    return _Staircase(schedule=_child("schedule", schedule),
                      every=check.length("every", every, low=1))


class _Repeat(Schedule, kind="repeat"):
    schedule: Schedule
    period: ArrayLike
    decay: ArrayLike

    def _at(self, t: jax.Array) -> jax.Array:
        k, r = _periods(t, self.period)
        return self.schedule._at(r) * power(self.decay, k, promote_step(t, self.period))


@register
def repeat(schedule: Schedule, period: ArrayLike, decay: ArrayLike = 1.0) -> Schedule:
    """Restart a schedule every `period` steps; repetition ``k`` is scaled by ``decay**k``.

    .. math:: \\eta_t = d^{\\lfloor t / p \\rfloor} \\cdot \\mathrm{schedule}(t \\bmod p)

    Periodic forever. Warm restarts with a warmup in every cycle and decaying peaks read as
    ``repeat(warmup(cosine_annealing(1.0, 900), 100), 1000, decay=0.8)``.

    Args:
      schedule: the schedule of one repetition (it runs on steps ``0 … p - 1``).
      period: ``p`` >= 1 (an integer, or a non-integral float). Periodic forever: no horizon.
      decay: ``d``, the factor per repetition, in (0, 1] (a growing factor would overflow to
        inf after enough repetitions).

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.repeat(js.linear(1.0, 0.0, steps=2), period=2, decay=0.5)
      >>> [f"{float(s(t)):.2f}" for t in range(6)]
      ['1.00', '0.50', '0.50', '0.25', '0.25', '0.12']
    """
    return _Repeat(schedule=_child("schedule", schedule),
                   period=check.length("period", period, low=1),
                   decay=check.real("decay", decay, low=0.0, low_open=True, high=1.0))


class _PerEpoch(Schedule, kind="per_epoch"):
    schedule: Schedule
    steps_per_epoch: ArrayLike

    def _at(self, t: jax.Array) -> jax.Array:
        epoch, _ = _periods(t, self.steps_per_epoch)
        return self.schedule._at(epoch.astype(promote_step(t, self.steps_per_epoch).dtype))

    def _horizon(self) -> int | None:
        inner = self.schedule.horizon
        if inner is None or check.is_traced(self.steps_per_epoch):
            return None
        return step_count(inner * np.asarray(self.steps_per_epoch, np.float64))


@register
def per_epoch(schedule: Schedule, steps_per_epoch: ArrayLike) -> Schedule:
    """Run an epoch-indexed schedule from the step count.

    .. math:: \\eta_t = \\mathrm{schedule}(\\lfloor t / E \\rfloor)

    For schedules written in epochs, as PyTorch schedulers stepped once per epoch are. Also
    ``per_epoch(exponential_decay(v, g), k)`` equals ``step_decay(v, k, g)``.

    Args:
      schedule: a schedule whose step counts epochs.
      steps_per_epoch: ``E`` >= 1 (an integer, or a non-integral float: epochs are then
        ``⌊t / E⌋`` in float arithmetic).

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.per_epoch(js.step_decay(1.0, every=2, gamma=0.5), steps_per_epoch=10)
      >>> [f"{float(s(t)):.2f}" for t in (0, 19, 20, 40)]
      ['1.00', '1.00', '0.50', '0.25']
    """
    return _PerEpoch(schedule=_child("schedule", schedule),
                     steps_per_epoch=check.length("steps_per_epoch", steps_per_epoch, low=1))


# -- clip -----------------------------------------------------------------------------------------


class _Clip(Schedule, kind="clip"):
    schedule: Schedule
    min_value: ArrayLike | None
    max_value: ArrayLike | None

    def _at(self, t: jax.Array) -> jax.Array:
        value = self.schedule._at(t)
        if self.min_value is not None:
            value = jnp.maximum(value, as_float(self.min_value, t))
        if self.max_value is not None:
            value = jnp.minimum(value, as_float(self.max_value, t))
        return value

    def _horizon(self) -> int | None:
        return self.schedule.horizon


@register
def clip(schedule: Schedule, min_value: ArrayLike | None = None,
         max_value: ArrayLike | None = None) -> Schedule:
    """Bound the value of a schedule.

    .. math:: \\eta_t = \\min(\\max(\\mathrm{schedule}(t), m), M)

    Args:
      schedule: the schedule to bound.
      min_value: the lower bound ``m``, or None.
      max_value: the upper bound ``M``, or None; ``>= min_value`` when both are given.

    Returns:
      The schedule (with neither bound, the same values as `schedule`).

    Example:
      >>> import jaxsched as js
      >>> s = js.clip(js.linear(0.0, 1.0, steps=4), min_value=0.1, max_value=0.6)
      >>> [f"{float(s(t)):.2f}" for t in range(5)]
      ['0.10', '0.25', '0.50', '0.60', '0.60']
    """
    schedule = _child("schedule", schedule)
    if min_value is not None:
        min_value = check.real("min_value", min_value)
    if max_value is not None:
        max_value = check.real("max_value", max_value)
    if min_value is not None and max_value is not None and not (
            check.is_traced(min_value) or check.is_traced(max_value)):
        if not np.all(np.asarray(max_value) >= np.asarray(min_value)):
            raise ValueError(f"max_value must be >= min_value, got max_value={max_value!r}, "
                             f"min_value={min_value!r}")
    return _Clip(schedule=schedule, min_value=min_value, max_value=max_value)


# -- lifted functions -----------------------------------------------------------------------------


class _Lifted(Schedule, kind="schedule"):
    fn: Callable[..., Any] = field(static=True)
    no_config = ("a function lifted with jaxsched.schedule has no config; build it in code, or "
                 "from built-in schedules and combinators")

    def _at(self, t: jax.Array) -> jax.Array:
        value = jnp.asarray(self.fn(t))
        return jnp.broadcast_to(value.astype(float_dtype(t)), t.shape)

    def __repr__(self) -> str:
        return f"schedule({_name(self.fn)})"


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def schedule(fn: Callable[[jax.Array], Any]) -> Schedule:
    """Lift a pure function ``t -> lr`` into a `Schedule`, so combinators and arithmetic apply.

    `fn` is called with the prepared step: a JAX array, non-negative (steps below 0 act as 0),
    an integer array for integer steps (float for float steps), of any shape. It must be
    jittable (``jnp`` operations, no Python branching on the step); its result is converted to
    the schedule's float dtype and broadcast to the step's shape. Usable as a decorator. A lifted
    function has no config: `to_config` refuses it.

    Args:
      fn: the function.

    Returns:
      The schedule.

    Example:
      >>> import jax.numpy as jnp
      >>> import jaxsched as js
      >>> @js.schedule
      ... def inverse(t):
      ...     return 1.0 / (1.0 + t.astype(jnp.float32))
      >>> s = js.warmup(inverse, steps=2)
      >>> [f"{float(s(t)):.2f}" for t in range(5)]
      ['0.00', '0.50', '1.00', '0.50', '0.33']
    """
    if isinstance(fn, Schedule):
        return fn
    if not callable(fn):
        raise ValueError(f"fn must be a callable t -> lr, got fn={fn!r}")
    return _Lifted(fn=fn)

