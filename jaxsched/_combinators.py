"""Combinators of pieces in time: `join`, `piecewise_constant` and `piecewise_linear`.

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

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks as check
from ._checks import _ndim
from ._numerics import (
    fractions,
    mix,
    search,
)
from ._registry import moved
from ._schedule import Schedule, as_count, as_float, register, step_count

__all__ = ["join", "piecewise_constant", "piecewise_linear"]


# -- helpers --------------------------------------------------------------------------------------


def _child(name: str, value: Any) -> Schedule:
    """A sub-schedule argument: a `Schedule`, or a ValueError naming the argument."""
    if not isinstance(value, Schedule):
        hint = ("use jaxsched.constant(v) for a number" if isinstance(value, (int, float))
                else "lift a function t -> lr with jaxsched.schedule(fn)")
        raise ValueError(f"{name} must be a Schedule ({hint}), got {name}={value!r}")
    return value


def _children(schedules: Any) -> tuple[Schedule, ...]:
    """A list-of-schedules argument (`join`, `interleave`): a non-empty tuple of schedules, or a
    ValueError naming the argument."""
    if isinstance(schedules, Schedule) or not isinstance(schedules, Sequence) or \
            isinstance(schedules, str):
        raise ValueError(f"schedules must be a list of schedules, got schedules={schedules!r}")
    if not schedules:
        raise ValueError("schedules must hold at least one schedule, got schedules=[]")
    return tuple(_child(f"schedules[{i}]", s) for i, s in enumerate(schedules))


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


class _Join(Schedule, kind="join"):
    schedules: tuple[Schedule, ...]
    boundaries: Any

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

    def _at(self, t: jax.Array) -> jax.Array:
        groups = self._groups()
        index = search(self.boundaries, t)
        local = t - _take(_starts(self.boundaries, t), index)  # >= 0: the piece's own step
        out: Any = None
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

    def _horizon(self) -> int | None:
        last = self.schedules[-1].horizon
        if last is None or check.is_traced(self.boundaries):
            return None
        start = step_count(self.boundaries) if np.size(self.boundaries) else 0
        return None if start is None else start + last


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
    schedules = _children(schedules)
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


class _PiecewiseConstant(Schedule, kind="piecewise_constant"):
    boundaries: Any
    values: Any

    def _at(self, t: jax.Array) -> jax.Array:
        return _take(as_float(self.values, t), search(self.boundaries, t))

    def _horizon(self) -> int | None:
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


class _PiecewiseLinear(Schedule, kind="piecewise_linear"):
    boundaries: Any
    values: Any

    def _at(self, t: jax.Array) -> jax.Array:
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

    def _horizon(self) -> int | None:
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


# The one-schedule combinators live in _wrappers; 1.0 pickles name their classes here.
if not TYPE_CHECKING:
    __getattr__ = moved(__name__, {name: "._wrappers" for name in (
        "_Warmup", "_Staircase", "_Repeat", "_PerEpoch", "_Clip", "_Lifted")})
