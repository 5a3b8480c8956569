"""Changing the plan: `cooldown`, `shift`, `extend`, `noise`, and WSD in cycles (`wsd_cycles`).

Combinators for runs whose length is not fixed up front: anneal any schedule to an end
value from a step chosen late (`cooldown`, also with a traced ``start``, so that one compiled
program evaluates several branch points under `jax.vmap`), continue a schedule in a run whose step
counter restarted (`shift`), stretch what is left of a plan to a new horizon (`extend`), and timm's
learning-rate noise as a pure function of the step (`noise`).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks as check
from ._combinators import _child, join
from ._decays import constant
from ._fields import field
from ._numerics import fractions, promote_step
from ._ramps import anneal, check_power, check_shape
from ._schedule import Schedule, as_count, as_float, float_dtype, register, step_count
from ._wrappers import warmup

__all__ = ["cooldown", "extend", "noise", "shift", "wsd_cycles"]



def _concrete(*values: Any) -> bool:
    return not any(check.is_traced(v) for v in values)


# -- cooldown -------------------------------------------------------------------------------------


class _Cooldown(Schedule, kind="cooldown"):
    schedule: Schedule
    start: ArrayLike
    steps: ArrayLike
    shape: str = field(static=True)
    end_value: ArrayLike

    def _exponent(self) -> ArrayLike | None:
        """The exponent of shape "power" (a field of `_PowerCooldown`), else None."""
        return None

    def _at(self, t: jax.Array) -> jax.Array:
        value = self.schedule._at(t)
        end = as_float(self.end_value, t)
        u = promote_step(t, self.steps)  # float positions for a fractional length
        start, n = as_count(self.start, u), as_count(self.steps, u)
        done = jnp.clip(u - start, jnp.zeros((), u.dtype), n)
        f, g = fractions(done, n, u)
        if self.shape == "exponential":  # geometric: from the value, floored at end_value > 0
            above = value > end
            annealed = jnp.where(above, anneal(self.shape, jnp.where(above, value, 1), end, f, g),
                                 end)
        else:
            annealed = anneal(self.shape, value, end, f, g, self._exponent())
        return jnp.where(u < start, value, jnp.where(u - start >= n, end, annealed))

    def _horizon(self) -> int | None:
        start, n = step_count(self.start), step_count(self.steps)
        return None if start is None or n is None else start + n


class _PowerCooldown(_Cooldown):
    """A cooldown of shape "power": the same, with the exponent as one more hyperparameter."""

    power: ArrayLike

    def _exponent(self) -> ArrayLike | None:
        return self.power


@register
def cooldown(schedule: Schedule, start: ArrayLike, steps: ArrayLike, shape: str = "linear",
             end_value: ArrayLike = 0.0, power: ArrayLike | None = None) -> Schedule:
    """From step `start`, anneal any schedule to `end_value` over `steps` steps.

    With ``s = start``, ``n = steps``, ``f = (t - s)/n`` and the curve ``D`` of `shape`:

    .. math:: \\eta_t = \\begin{cases} \\mathrm{schedule}(t) & t < s \\\\
              e + (\\mathrm{schedule}(t) - e)\\,D(f) & s \\le t < s + n \\\\
              e & t \\ge s + n \\end{cases}

    The schedule keeps running under the anneal (a cosine cut short stays a cosine, multiplied
    down). On a constant it is warmup-stable-decay (WSD); ``shape="sqrt"`` is the ``1 - √f``
    cooldown that Hägele et al. 2024 (arXiv:2405.18392) found best; on an inverse square root with
    ``shape="linear"`` it is big_vision's rsqrt schedule with a cooldown. Exactly
    ``schedule(start)`` at `start` and exactly `end_value` from ``start + steps`` on (the
    horizon); ``steps=0`` jumps to `end_value` at `start`.

    `start` may be a traced integer: ``jax.vmap`` over several branch points evaluates every
    cooldown in one compiled program (its horizon is then None).

    Args:
      schedule: the schedule to anneal.
      start: the first step of the cooldown, an integer >= 0 (may be traced).
      steps: its length ``n`` >= 0: an integer, or a non-integral float (``0.2 * total``),
        whose positions are then computed in float arithmetic.
      shape: the curve, one of "linear", "cosine", "sqrt", "square", "mirror_cosine",
        "exponential" (geometric, from ``max(schedule(t), end_value)``: needs
        ``end_value > 0`` and ``schedule(start) > 0``, checked when built), "power"
        ``D(f) = (1 − f)^p`` (needs `power`).
      end_value: the value reached at ``start + steps`` and held after it.
      power: ``p`` > 0, the exponent of shape "power" (and of no other shape).

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.cooldown(js.constant(1.0), start=2, steps=4, shape="sqrt")
      >>> [f"{float(s(t)):.4f}" for t in range(7)]
      ['1.0000', '1.0000', '1.0000', '0.5000', '0.2929', '0.1340', '0.0000']
    """
    schedule = _child("schedule", schedule)
    shape = check_shape(shape)
    power = check_power(shape, power)
    if shape == "exponential":
        end_value = check.positive("end_value", end_value)
    else:
        end_value = check.real("end_value", end_value)
    start, steps = check.integer("start", start), check.length("steps", steps)
    if shape == "exponential" and schedule._is_concrete() and not check.is_traced(start):
        with jax.ensure_compile_time_eval():
            first = np.asarray(schedule._evaluate(start))
        if not np.all(first > 0):
            raise ValueError(f"shape='exponential' anneals geometrically from schedule({start}), "
                             f"which must be > 0, got schedule({start})={first.tolist()!r} for "
                             f"schedule={schedule!r}")
    if power is not None:
        return _PowerCooldown(schedule=schedule, start=start, steps=steps, shape=shape,
                              end_value=end_value, power=power)
    return _Cooldown(schedule=schedule, start=start, steps=steps, shape=shape, end_value=end_value)


# -- shift ----------------------------------------------------------------------------------------


class _Shift(Schedule, kind="shift"):
    schedule: Schedule
    steps: ArrayLike

    def _at(self, t: jax.Array) -> jax.Array:
        k = as_count(self.steps, t)
        zero = jnp.zeros((), t.dtype)
        if jnp.issubdtype(t.dtype, jnp.integer):  # saturate instead of wrapping around
            largest = jnp.asarray(np.iinfo(np.dtype(t.dtype)).max, t.dtype)
            moved = jnp.where(t > largest - jnp.maximum(k, zero), largest, t + k)
        else:
            moved = t + k
        return self.schedule._at(jnp.maximum(moved, zero))

    def _horizon(self) -> int | None:
        h = self.schedule.horizon
        if h is None or check.is_traced(self.steps):
            return None
        k = int(np.min(np.asarray(self.steps)))  # stacked: the run moved least ends last
        return max(h - k, 0)


@register
def shift(schedule: Schedule, steps: ArrayLike) -> Schedule:
    """Move a schedule in time: ``schedule(t + steps)``.

    .. math:: \\eta_t = \\mathrm{schedule}(\\max(t + k, 0))

    A positive ``k`` starts the schedule part-way: a run resumed with its step counter restarted
    at 0 (a new optimizer state, a fine-tuning stage) continues the plan where it was,
    ``shift(plan, steps_done)``. A negative ``k`` delays it, holding ``schedule(0)`` for ``-k``
    steps. Integer steps saturate at the largest step instead of wrapping around. The horizon
    moves with it: ``max(schedule.horizon - k, 0)``.

    Args:
      schedule: the schedule to move.
      steps: ``k``, an integer of any sign.

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> plan = js.linear(1.0, 0.0, 4)
      >>> [f"{float(js.shift(plan, 2)(t)):.2f}" for t in range(4)]
      ['0.50', '0.25', '0.00', '0.00']
      >>> [f"{float(js.shift(plan, -2)(t)):.2f}" for t in range(4)]
      ['1.00', '1.00', '1.00', '0.75']
    """
    return _Shift(schedule=_child("schedule", schedule),
                  steps=check.integer("steps", steps, low=-check.INT32_MAX))


# -- extend ---------------------------------------------------------------------------------------


def _stretch(at: Any, new: Any, old: Any, t: jax.Array) -> jax.Array:
    """``(old - at) / (new - at)`` in the value dtype, from float64 when all three are concrete."""
    a: Any
    h_new: Any
    h_old: Any
    if _concrete(at, new, old):
        a, h_new, h_old = (np.float64(np.asarray(x)) for x in (at, new, old))
        return as_float((h_old - a) / (h_new - a), t)
    a, h_new, h_old = (as_float(x, t) for x in (at, new, old))
    return (h_old - a) / (h_new - a)


class _Extend(Schedule, kind="extend"):
    schedule: Schedule
    at: ArrayLike
    # The argument `horizon` is stored as `new_horizon`, so that `Schedule.horizon` stays the
    # property: an int, or None where the argument is traced (under `jax.vmap` or `jax.jit`).
    new_horizon: ArrayLike = field(alias="horizon")
    planned_horizon: ArrayLike

    def _horizon(self) -> int | None:
        return step_count(self.new_horizon)

    def _at(self, t: jax.Array) -> jax.Array:
        # One evaluation of the schedule (so nested extends grow the program linearly, not by
        # doubling it), at a float step: `t` itself before `at` (exact up to 2**24, or 2**53 for
        # 64-bit steps), the stretched position after it.
        u = t.astype(jnp.float64 if t.dtype.itemsize == 8 else jnp.float32)
        at, new, old = (as_count(x, t) for x in (self.at, self.new_horizon, self.planned_horizon))
        zero = jnp.zeros((), t.dtype)
        stretch = _stretch(self.at, self.new_horizon, self.planned_horizon, u)
        # The stretched position, exact at `at` and at the new horizon (where it is the old one).
        inside = at.astype(u.dtype) + jnp.maximum(t - at, zero).astype(u.dtype) * stretch
        inside = jnp.where(t >= new, old.astype(u.dtype), jnp.minimum(inside, old.astype(u.dtype)))
        value = self.schedule._at(jnp.where(t < at, u, inside))
        return value.astype(float_dtype(t))


@register
def extend(schedule: Schedule, at: int | jax.Array, horizon: int | jax.Array,
           planned_horizon: int | jax.Array | None = None) -> Schedule:
    """Continue a plan to a new horizon without a jump: the rest of it, stretched in time.

    With ``a = at``, the planned horizon ``H`` (``schedule.horizon``) and the new one ``H'``:

    .. math:: \\eta_t = \\begin{cases} \\mathrm{schedule}(t) & t < a \\\\
              \\mathrm{schedule}(a + (t - a)\\,\\tfrac{H - a}{H' - a}) & a \\le t < H' \\\\
              \\mathrm{schedule}(H) & t \\ge H' \\end{cases}

    For a run resumed at step `at` that is to train until `horizon` instead of the planned ``H``
    (transformers#27749): continuous at `at` (the value there is ``schedule(at)``), and what the
    plan reached at ``H`` (its end value) is reached at the new horizon, exactly. A new horizon
    before ``H`` compresses the rest instead. The stretched part evaluates the schedule at
    fractional steps (in float32: the position is exact at `at` and at the new horizon, and
    within a float32 rounding in between). To end a run sooner from where it is, a `cooldown` is
    usually what is wanted; to continue a plan whose step counter restarted, `shift`.

    Args:
      schedule: the planned schedule; it needs a horizon (or pass `planned_horizon`).
      at: the step from which the plan changes, an integer >= 0, before the planned horizon.
      horizon: the new horizon ``H'``, an integer > `at`.
      planned_horizon: ``H``, by default ``schedule.horizon``. Give it for a schedule whose
        horizon cannot be derived (a function lifted with `jaxsched.schedule`). Written to
        configs.

    Returns:
      The schedule; its horizon is `horizon`.

    Example:
      >>> import jaxsched as js
      >>> plan = js.cooldown(js.constant(1.0), start=2, steps=4)  # WSD, planned: 6 steps
      >>> s = js.extend(plan, at=4, horizon=10)  # at step 4: train until step 10 instead
      >>> [f"{float(s(t)):.3f}" for t in range(3, 12)]
      ['0.750', '0.500', '0.417', '0.333', '0.250', '0.167', '0.083', '0.000', '0.000']
    """
    schedule = _child("schedule", schedule)
    if planned_horizon is None:
        planned_horizon = schedule.horizon
        if planned_horizon is None:
            raise ValueError(f"extend needs a schedule with a horizon (or planned_horizon=), got "
                             f"schedule.horizon=None for schedule={schedule!r}")
    planned_horizon = check.integer("planned_horizon", planned_horizon)
    at = check.integer("at", at)
    horizon = check.integer("horizon", horizon)
    if _concrete(at, planned_horizon) and not at < planned_horizon:
        raise ValueError(f"at must be before the planned horizon {planned_horizon} (the plan "
                         f"is over from there: nothing is left to stretch), got at={at!r}")
    if _concrete(at, horizon) and not horizon > at:
        raise ValueError(f"horizon must be > at={at!r}, got horizon={horizon!r}")
    return _Extend(schedule=schedule, at=at, horizon=horizon, planned_horizon=planned_horizon)


# -- noise ----------------------------------------------------------------------------------------


def _as_key(key: Any) -> jax.Array:
    """A typed PRNG key from an int seed or from raw key data (uint32[2])."""
    if jnp.ndim(key) == 0:
        return jax.random.key(key)
    return jax.random.wrap_key_data(jnp.asarray(key, jnp.uint32))


def _check_key(key: Any) -> Any:
    """An int seed in [0, 2**31), or a key: typed keys are stored as their raw data."""
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        impl = str(jax.random.key_impl(key))
        if "threefry" not in impl:  # the schedule stores the raw data of a threefry key
            raise ValueError(f"key must be an int seed or a threefry jax.random key, got a key of "
                             f"impl {impl!r}: key={key!r}")
        data = jax.random.key_data(key)
        return data if check.is_traced(data) else np.asarray(data)
    if check.is_traced(key):
        return key
    if np.ndim(key) == 0:
        return check.integer("key", key)
    array = np.asarray(key)
    if array.shape != (2,) or array.dtype.kind not in "iu" or np.any(array < 0) or np.any(
            array > np.iinfo(np.uint32).max):
        raise ValueError(f"key must be an int seed or a jax.random key (typed, or raw uint32[2] "
                         f"data), got key={key!r}")
    return array.astype(np.uint32)


def _epsilon(kind: str, key: jax.Array, std: jax.Array, limit: jax.Array,
             dtype: Any) -> jax.Array:
    """One draw of ε: std·N(0, 1) truncated to |ε| < limit, or a uniform of that std, clipped."""
    if kind == "normal":
        bound = limit / std
        return std * jax.random.truncated_normal(key, -bound, bound, (), dtype)
    half = jnp.minimum(std * np.sqrt(3.0), limit)
    return jax.random.uniform(key, (), dtype, -half, half)


class _Noise(Schedule, kind="noise"):
    schedule: Schedule
    key: Any
    std: ArrayLike
    start: ArrayLike
    end: ArrayLike | None
    # The argument `kind` is stored as `distribution` (Schedule.kind is the constructor's
    # name), and configs write it under that name (a config's "kind" is the constructor's).
    distribution: str = field(static=True, alias="kind")
    limit: ArrayLike

    def _at(self, t: jax.Array) -> jax.Array:
        value = self.schedule._at(t)
        dtype = float_dtype(t)
        # Drawn in float32 for every step type, so that a float step draws what the integer
        # step of its integer part draws (under x64 too), then made the value's dtype.
        std, limit = (jnp.asarray(x).astype(jnp.float32) for x in (self.std, self.limit))
        key = _as_key(self.key)
        whole = t if jnp.issubdtype(t.dtype, jnp.integer) else jnp.floor(t)
        index = whole.astype(jnp.uint32)

        def draw(i):
            return _epsilon(self.distribution, jax.random.fold_in(key, i), std, limit,
                            jnp.float32).astype(dtype)

        eps = draw(index) if t.ndim == 0 else jax.vmap(draw)(index.reshape(-1)).reshape(t.shape)
        active = t >= as_count(self.start, t)
        if self.end is not None:
            active &= t < as_count(self.end, t)
        return jnp.where(active, value * (1 + eps), value)

    def _horizon(self) -> int | None:
        h, end = self.schedule.horizon, step_count(self.end)
        return None if h is None or end is None else max(h, end)


@register
def noise(schedule: Schedule, key: ArrayLike, std: ArrayLike, start: int | jax.Array = 0,
          end: int | jax.Array | None = None, kind: str = "normal",
          limit: ArrayLike = 0.67) -> Schedule:
    """Multiply a schedule by ``1 + ε_t``, with ε_t a random draw fixed by the key and the step.

    .. math:: \\eta_t = \\mathrm{schedule}(t)\\,(1 + \\varepsilon_t) \\text{ for }
              \\mathrm{start} \\le t < \\mathrm{end}, \\qquad
              \\varepsilon_t \\sim \\mathcal{D}(\\mathrm{fold\\_in}(\\mathrm{key}, t))

    timm's learning-rate noise (``noise_range_t``, ``noise_std``, ``noise_pct``, ``noise_type``)
    as a pure function of the step: ε_t comes from ``jax.random.fold_in(key, t)``, so the same
    key and step give the same value under `jit`, eagerly, under `vmap`, on every device and after
    a restart. "normal": ``ε = std·z`` with ``z`` standard normal, conditioned on
    ``|ε| < limit`` (timm resamples until it is: a truncated normal); "uniform": uniform with
    standard deviation `std`, on ``(-min(√3·std, limit), min(√3·std, limit))``. timm's
    ``noise_pct`` is `limit` (its default 0.67 is ours); its uniform noise is ``std >= limit/√3``.
    Float steps draw for their integer part (and int64 steps past ``2**32``, under x64, repeat
    the draws of ``t mod 2**32``). Outside ``[start, end)`` the schedule is unchanged.
    The random numbers are JAX's, not PyTorch's: the distribution is timm's, not the draws.

    Args:
      schedule: the schedule to perturb.
      key: an int seed in ``[0, 2**31)`` (what configs store), or a `jax.random` key (typed,
        or raw uint32[2] data).
      std: the standard deviation of ε before the clip, > 0.
      start: the first step with noise, an integer >= 0 (timm's ``noise_range_t[0]``).
      end: the first step without noise again, an integer >= start, or None (noise forever).
      kind: "normal" or "uniform" (timm's ``noise_type``).
      limit: ``|ε| < limit``, in (0, 1], so that the value keeps its sign (timm's ``noise_pct``).

    Returns:
      The schedule; its horizon is the later of the schedule's and `end` (None without `end`).

    Example:
      >>> import jaxsched as js
      >>> s = js.noise(js.constant(1.0), key=0, std=0.1, start=2, end=4)
      >>> [float(s(t)) == 1.0 for t in range(6)]
      [True, True, False, False, True, True]
      >>> bool(abs(float(s(2)) - 1.0) < 0.67)
      True
    """
    schedule = _child("schedule", schedule)
    kind = check.choice("kind", kind, ("normal", "uniform"))
    start = check.integer("start", start)
    if end is not None:
        end = check.integer("end", end)
        if _concrete(start, end) and not end >= start:
            raise ValueError(f"end must be >= start={start!r}, got end={end!r}")
    return _Noise(schedule=schedule, key=_check_key(key), std=check.positive("std", std),
                  start=start, end=end, kind=kind,
                  limit=check.real("limit", limit, low=0.0, low_open=True, high=1.0))


# -- WSD in cycles --------------------------------------------------------------------------------


def _per_cycle(name: str, value: Any, n: int) -> list[Any]:
    """A number for every cycle, or one per cycle: a list of `n`."""
    if np.ndim(value) == 0:
        return [value] * n
    if check.is_traced(value):
        return [value[i] for i in range(n)]
    values = list(value)
    if len(values) != n:
        raise ValueError(f"{name} must be a number or one per cycle ({n}), got {name}={value!r}")
    return values


def wsd_cycles(peak_value: ArrayLike, cycle_steps: ArrayLike, decay_steps: ArrayLike,
               warmup_steps: ArrayLike = 0, rewarmup_steps: ArrayLike = 0,
               init_value: ArrayLike = 0.0, end_value: ArrayLike = 0.0,
               shape: str = "linear") -> Schedule:
    """Warmup–stable–decay in cycles: WSD-S, and cycles that re-warm from where the last ended.

    Cycle ``i`` lasts ``cycle_steps[i]``: a linear warmup (``warmup_steps`` from `init_value` in
    the first cycle; ``rewarmup_steps`` from `end_value`, where the previous cycle ended, in the
    others), its peak held, then a `cooldown` of ``decay_steps`` to `end_value`. It is the
    composition, one `join` of ``warmup(cooldown(constant(peak), ...), ...)``:

    .. math:: \\eta_t = c_i(t - b_i), \\quad b_i = \\textstyle\\sum_{j<i} L_j, \\qquad
              c_i = \\mathrm{warmup}(\\mathrm{cooldown}(\\mathrm{constant}(P_i),
              L_i - W_i - D_i, D_i), W_i)

    With ``rewarmup_steps=0`` the later cycles jump back to their peak: WSD-S (Wen et al. 2024,
    arXiv:2410.05192). With re-warmups it is levanter's ``cycles`` / ``rewarmup`` (and the same
    values, `tests/test_golden_horizon.py`). OLMo-core's ``WSDS`` starts each later period one
    step after its boundary; ``docs/horizon.md`` writes it with `join` and `shift`.

    Args:
      peak_value: ``P_i``: a number, or one per cycle.
      cycle_steps: ``L_i``, the cycles' lengths (positive integers; the first includes its
        warmup).
      decay_steps: ``D_i``, the cooldown's length: a number, or one per cycle (integers >= 0).
      warmup_steps: the first cycle's warmup, an integer >= 0.
      rewarmup_steps: every later cycle's warmup, an integer >= 0 (0: a jump to the peak).
      init_value: the value at step 0.
      end_value: the value each cooldown reaches (and the later cycles' warmups start from).
      shape: the cooldowns' curve, as `cooldown`'s.

    Returns:
      The schedule (a `join`; its config is the composition's). Its horizon is the sum of the
      lengths.

    Example:
      >>> import jaxsched as js
      >>> s = js.wsd_cycles([1.0, 0.5], cycle_steps=[6, 4], decay_steps=2, warmup_steps=2)
      >>> [f"{float(s(t)):.2f}" for t in range(11)]
      ['0.00', '0.50', '1.00', '1.00', '1.00', '0.50', '0.50', '0.50', '0.50', '0.25', '0.00']
    """
    lengths = check.int_sequence("cycle_steps", cycle_steps, low=1, sorted_=False)
    if check.is_traced(lengths) or not np.shape(lengths)[0]:
        raise ValueError(f"cycle_steps must be a non-empty list of concrete lengths, got "
                         f"cycle_steps={cycle_steps!r}")
    n = int(np.shape(lengths)[0])
    peaks = _per_cycle("peak_value", peak_value, n)
    decays = [check.integer("decay_steps", d) for d in _per_cycle("decay_steps", decay_steps, n)]
    ramps = [check.integer("warmup_steps", warmup_steps)]
    ramps += [check.integer("rewarmup_steps", rewarmup_steps)] * (n - 1)
    cycles = []
    for i, (length, peak, decay, ramp) in enumerate(zip(lengths.tolist(), peaks, decays, ramps)):
        if not ramp + decay <= length:
            raise ValueError(f"cycle_steps[{i}] must hold its warmup ({ramp}) and decay "
                             f"({decay}) steps, got cycle_steps[{i}]={length}")
        held = cooldown(constant(peak), length - ramp - decay, decay, shape=shape,
                        end_value=end_value)
        cycles.append(warmup(held, ramp, init_value=init_value if i == 0 else end_value))
    return join(cycles, boundaries=np.cumsum(lengths)[:-1])
