"""Combinators: the "frequency" of a schedule (when it changes), and composition.

A combinator wraps one or more schedules and calls them through ``child._at(u)`` with a prepared
step ``u``: non-negative, of the same dtype as the outer step (integer for integer steps), so
cycle and boundary arithmetic stays exact all the way down. Branches that are masked out by
``jnp.where`` still see a valid step, so their values and gradients are finite.

The cost of `join` and `piecewise_constant` does not grow with the number of pieces: the active
piece is found by a search over the boundaries (see `search`), pieces of the same structure have
their hyperparameters stacked and gathered by piece index, and only the gathered piece is
computed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks as check
from ._checks import _ndim
from ._numerics import (
    decimal_fraction,
    divmod_steps,
    exact_divmod,
    fractions,
    mix,
    power,
    progress,
    promote_step,
    search,
)
from ._ramps import check_power, check_shape, rise
from ._schedule import Schedule, as_count, as_float, float_dtype, register, step_count

__all__ = [
    "clip",
    "join",
    "per_epoch",
    "piecewise_constant",
    "piecewise_linear",
    "repeat",
    "schedule",
    "staircase",
    "warmup",
]


# -- helpers --------------------------------------------------------------------------------------


def _child(name: str, value: Any) -> Schedule:
    """A sub-schedule argument: a `Schedule`, or a ValueError naming the argument."""
    if not isinstance(value, Schedule):
        hint = ("use jaxsched.constant(v) for a number" if isinstance(value, (int, float))
                else "lift a function t -> lr with jaxsched.schedule(fn)")
        raise ValueError(f"{name} must be a Schedule ({hint}), got {name}={value!r}")
    return value


def _take(table: Any, index: jax.Array) -> jax.Array:
    """``table[index]`` along the first axis, for indices known to be in range.

    Plain indexing: a scalar index (also inside `vmap`) becomes a dynamic slice, which XLA's CPU
    backend runs 2-4x faster over a million steps than the gather of ``jnp.take`` (`search`
    keeps the gather, the faster of the two there). ``jnp.asarray`` first: a NumPy table handed
    to a jitted jnp function is mis-lowered when x64 is toggled between calls (jax 0.10).
    """
    return jnp.asarray(table)[index]


def _starts(boundaries: Any, t: jax.Array) -> jax.Array:
    """``[0, *boundaries]`` in the dtype of the step: where each piece starts."""
    if isinstance(boundaries, np.ndarray):
        return as_count(np.concatenate([np.zeros(1, boundaries.dtype), boundaries]), t)
    return jnp.concatenate([jnp.zeros(1, t.dtype), as_count(boundaries, t)])


def _stack(leaves: list[Any]) -> tuple[Any, bool]:
    """Stacks one hyperparameter of every piece in a group: ``(array, varies)``.

    Concrete values are stacked with NumPy (one constant in the jaxpr); when they are all equal
    the value itself is returned with ``varies=False``, and nothing is gathered. Traced values
    (a schedule passed through `jit`, `vmap` or `grad`) are stacked with `jnp.stack` in their
    common dtype.
    """
    if not any(check.is_traced(x) for x in leaves):
        stacked = np.stack([np.asarray(x) for x in leaves])
        if np.all(stacked == stacked[:1]):
            return leaves[0], False
        return stacked, True
    arrays = [jnp.asarray(x) for x in leaves]
    dtype = np.result_type(*[a.dtype for a in arrays])
    return jnp.stack([a.astype(dtype) for a in arrays]), True


# -- join -----------------------------------------------------------------------------------------


class _Join(Schedule):
    kind = "join"
    params = ("schedules", "boundaries")

    def _groups(self) -> list[tuple[Any, list[int], list[tuple[Any, bool]]]]:
        """Pieces grouped by structure: ``(treedef, piece indices, stacked leaves)`` per group.

        Two pieces share a group when they have the same pytree structure (class and static
        fields, e.g. `exponential_decay`'s `staircase`) and leaves of the same shapes. Cached on
        the schedule when its hyperparameters are concrete.
        """
        cached = self.__dict__.get("_cached_groups")
        if cached is not None:
            return cached
        keyed: dict[Any, tuple[Any, list[int], list[list[Any]]]] = {}
        for i, piece in enumerate(self.schedules):
            leaves, treedef = jax.tree_util.tree_flatten(piece)
            key = (treedef, tuple(np.shape(x) for x in leaves))
            if key not in keyed:
                keyed[key] = (treedef, [], [[] for _ in leaves])
            _, members, columns = keyed[key]
            members.append(i)
            for column, x in zip(columns, leaves):
                column.append(x)
        groups = [(treedef, members, [_stack(column) for column in columns])
                  for treedef, members, columns in keyed.values()]
        if self._is_concrete():
            object.__setattr__(self, "_cached_groups", groups)
        return groups

    def _at(self, t):
        groups = self._groups()
        index = search(self.boundaries, t)
        local = t - _take(_starts(self.boundaries, t), index)  # >= 0: the piece's own step
        out = None
        for treedef, members, stacked in groups:
            if len(groups) == 1:
                position = index
            else:
                where_in_group = np.zeros(len(self.schedules), np.int32)
                where_in_group[members] = np.arange(len(members), dtype=np.int32)
                position = _take(jnp.asarray(where_in_group), index)
            value = _evaluate_gathered(treedef, stacked, position, local)
            if out is None:
                out = value
            else:
                group_of = np.zeros(len(self.schedules), np.int32)
                group_of[members] = 1
                out = jnp.where(_take(jnp.asarray(group_of), index) == 1, value, out)
        return out

    def _horizon(self):
        last = self.schedules[-1].horizon
        if last is None or check.is_traced(self.boundaries):
            return None
        start = step_count(self.boundaries) if np.size(self.boundaries) else 0
        return start + last


def _evaluate_gathered(treedef: Any, stacked: list[tuple[Any, bool]], position: jax.Array,
                       local: jax.Array) -> jax.Array:
    """Rebuilds, for each step, the piece at `position` of a group, and evaluates it there.

    Schedules assume scalar hyperparameters, so for an array of steps the gathered piece is
    evaluated under `jax.vmap` over the flattened steps.
    """

    def one(p, u):
        leaves = [_take(x, p) if varies else x for x, varies in stacked]
        return jax.tree_util.tree_unflatten(treedef, leaves)._at(u)

    if local.ndim == 0:
        return one(position, local)
    flat = jax.vmap(one)(position.reshape(-1), local.reshape(-1))
    return flat.reshape(local.shape + flat.shape[1:])


@register
def join(schedules: Sequence[Schedule], boundaries: Sequence[int] | ArrayLike) -> Schedule:
    """Run schedules one after another, each from its own step 0.

    With boundaries ``b_1 <= … <= b_{n-1}`` (and ``b_0 = 0``), piece ``i`` is active on
    ``[b_i, b_{i+1})`` and sees the step counted from its start:

    .. math:: \\eta_t = s_i(t - b_i), \\quad i = \\#\\{j \\ge 1 : b_j \\le t\\}

    The semantics of ``optax.join_schedules`` (at equal boundaries the later piece wins). Unlike
    optax, only the active piece is computed: it is found by a search over the boundaries
    (O(log n)), and pieces with the same structure (same constructor and static arguments; each
    distinct lifted function is a structure of its own) have their hyperparameters stacked and
    gathered by piece index. A call costs one search plus one evaluation per *kind* of piece, and
    the jaxpr does not grow with the number of pieces. (Gathered hyperparameters are float32 arrays,
    like traced ones: a power ``gamma**p`` of pieces whose ``gamma`` differ is then computed from
    float32 ``gamma``, a relative error up to ``p·6e-8`` instead of ``|ln(gamma**p)|·1.2e-7``.)

    Args:
      schedules: a non-empty sequence of schedules.
      boundaries: ``len(schedules) - 1`` non-decreasing, non-negative integer steps.

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.join([js.linear(0.0, 1.0, steps=2), js.cosine_annealing(1.0, 4)], boundaries=[2])
      >>> [f"{float(s(t)):.4f}" for t in range(7)]
      ['0.0000', '0.5000', '1.0000', '0.8536', '0.5000', '0.1464', '0.0000']
    """
    if isinstance(schedules, Schedule) or not isinstance(schedules, Sequence) or \
            isinstance(schedules, str):
        raise ValueError(f"schedules must be a list of schedules, got schedules={schedules!r}")
    if not schedules:
        raise ValueError("schedules must hold at least one schedule, got schedules=[]")
    schedules = tuple(_child(f"schedules[{i}]", s) for i, s in enumerate(schedules))
    boundaries = check.int_sequence("boundaries", boundaries)
    if np.shape(boundaries)[0] != len(schedules) - 1:
        raise ValueError(
            f"boundaries must hold len(schedules) - 1 = {len(schedules) - 1} steps, got "
            f"{np.shape(boundaries)[0]}: boundaries={np.asarray(boundaries).tolist()!r}")
    return _Join(schedules=schedules, boundaries=boundaries)


# -- piecewise ------------------------------------------------------------------------------------


def _float_values(name: str, values: Any) -> Any:
    """A 1-D sequence of finite numbers, as a float64 NumPy array (kept as is when traced)."""
    if check.is_traced(values):
        return values
    if isinstance(values, (str, bytes)) or _ndim(values) != 1:
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got {name}={values!r}")
    if any(check.is_traced(v) for v in values):
        return jnp.stack([jnp.asarray(v) for v in values])
    array = np.asarray(values)
    if array.size:
        check.real(name, array)
    return array.astype(np.float64)


class _PiecewiseConstant(Schedule):
    kind = "piecewise_constant"
    params = ("boundaries", "values")

    def _at(self, t):
        return _take(as_float(self.values, t), search(self.boundaries, t))

    def _horizon(self):
        if check.is_traced(self.boundaries):
            return None
        return step_count(self.boundaries) if np.size(self.boundaries) else 0


@register
def piecewise_constant(boundaries: Sequence[int] | ArrayLike,
                       values: Sequence[float] | ArrayLike) -> Schedule:
    """A constant value between boundaries.

    .. math:: \\eta_t = v_i, \\quad i = \\#\\{j : b_j \\le t\\}

    The new value applies from the boundary step itself, as in ``torch``'s ``MultiStepLR`` and
    ``optax.piecewise_constant_schedule`` (whose multiplicative scales are the ratios
    ``v_i / v_{i-1}``); Keras's ``PiecewiseConstantDecay`` switches one step later. One
    search (O(log n)) and one gather per step, and a jaxpr whose size does not depend on ``n``.

    Args:
      boundaries: non-decreasing, non-negative integer steps.
      values: ``len(boundaries) + 1`` values; ``values[0]`` applies before the first boundary.

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.piecewise_constant(boundaries=[2, 4], values=[1.0, 0.5, 0.1])
      >>> [f"{float(s(t)):.2f}" for t in range(6)]
      ['1.00', '1.00', '0.50', '0.50', '0.10', '0.10']
    """
    boundaries = check.int_sequence("boundaries", boundaries)
    values = _float_values("values", values)
    n, m = np.shape(boundaries)[0], np.shape(values)[0]
    if m != n + 1:
        raise ValueError(f"values must hold len(boundaries) + 1 = {n + 1} values, got {m}")
    return _PiecewiseConstant(boundaries=boundaries, values=values)


class _PiecewiseLinear(Schedule):
    kind = "piecewise_linear"
    params = ("boundaries", "values")

    def _at(self, t):
        values = as_float(self.values, t)
        n = np.shape(values)[0]
        if n == 1:
            return jnp.broadcast_to(values[0], t.shape)
        knots = as_count(self.boundaries, t)
        index = search(self.boundaries, t)  # knots[index - 1] <= t < knots[index]
        left = jnp.clip(index - 1, 0, n - 2)
        start, end = _take(knots, left), _take(knots, left + 1)
        length = end - start
        done = jnp.clip(t - start, jnp.zeros((), t.dtype), length)
        passed, remaining = fractions(done, length, t)
        inside = mix(_take(values, left), _take(values, left + 1), (remaining, passed))
        return jnp.where(index >= n, values[n - 1], inside)

    def _horizon(self):
        return None if check.is_traced(self.boundaries) else step_count(self.boundaries)


@register
def piecewise_linear(boundaries: Sequence[int] | ArrayLike,
                     values: Sequence[float] | ArrayLike) -> Schedule:
    """Linear interpolation between knots ``(boundaries[i], values[i])``, flat outside.

    .. math:: \\eta_t = v_i + (v_{i+1} - v_i)\\,\\frac{t - b_i}{b_{i+1} - b_i},
              \\quad b_i \\le t < b_{i+1}

    ``values[0]`` holds before the first knot and ``values[-1]`` from the last one on; at every
    knot the value is exactly ``values[i]``. A repeated knot is a jump: the later value applies
    from that step. The segment is found by the same binary search as `piecewise_constant`.

    Args:
      boundaries: the knots' steps, non-decreasing, non-negative integers (at least one).
      values: the knots' values, as many as `boundaries`.

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.piecewise_linear(boundaries=[2, 6], values=[1.0, 0.0])
      >>> [f"{float(s(t)):.2f}" for t in range(0, 9, 2)]
      ['1.00', '1.00', '0.50', '0.00', '0.00']
    """
    boundaries = check.int_sequence("boundaries", boundaries)
    values = _float_values("values", values)
    n, m = np.shape(boundaries)[0], np.shape(values)[0]
    if n == 0:
        raise ValueError("boundaries must hold at least one knot, got boundaries=[]")
    if m != n:
        raise ValueError(f"values must hold len(boundaries) = {n} values, got {m}")
    return _PiecewiseLinear(boundaries=boundaries, values=values)


# -- warmup ---------------------------------------------------------------------------------------


class _Warmup(Schedule):
    kind = "warmup"
    params = ("schedule", "steps", "init_value", "shape", "prefix")
    static = frozenset({"shape", "prefix"})
    power = None  # the exponent of shape "power" (`_PowerWarmup`)

    def _at(self, t):
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
                    self.power)
        return jnp.where(t < n, ramp, value)

    def _horizon(self):
        inner, n = self.schedule.horizon, step_count(self.steps)
        if inner is None or n is None:
            return None
        return inner + n if self.prefix else max(inner, n)


class _PowerWarmup(_Warmup):
    """A warmup of shape "power": the same, with the exponent as one more hyperparameter."""

    params = (*_Warmup.params, "power")  # type: ignore[assignment]


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


class _Staircase(Schedule):
    kind = "staircase"
    params = ("schedule", "every")

    def _at(self, t):
        q, _ = _periods(t, self.every)
        t = promote_step(t, self.every)
        return self.schedule._at(q.astype(t.dtype) * as_count(self.every, t))

    def _horizon(self):
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


class _Repeat(Schedule):
    kind = "repeat"
    params = ("schedule", "period", "decay")

    def _at(self, t):
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


class _PerEpoch(Schedule):
    kind = "per_epoch"
    params = ("schedule", "steps_per_epoch")

    def _at(self, t):
        epoch, _ = _periods(t, self.steps_per_epoch)
        return self.schedule._at(epoch.astype(promote_step(t, self.steps_per_epoch).dtype))

    def _horizon(self):
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


class _Clip(Schedule):
    kind = "clip"
    params = ("schedule", "min_value", "max_value")

    def _at(self, t):
        value = self.schedule._at(t)
        if self.min_value is not None:
            value = jnp.maximum(value, as_float(self.min_value, t))
        if self.max_value is not None:
            value = jnp.minimum(value, as_float(self.max_value, t))
        return value

    def _horizon(self):
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


class _Lifted(Schedule):
    kind = "schedule"
    params = ("fn",)
    static = frozenset({"fn"})
    no_config = ("a function lifted with jaxsched.schedule has no config; build it in code, or "
                 "from built-in schedules and combinators")

    def _at(self, t):
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

