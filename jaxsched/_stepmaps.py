"""What a schedule sees of the step: `hold` (clamp the step) and `interleave` (absolute steps).

Codebases written before composable schedules clamp or offset the step inside each schedule
(``max(step, 1)`` so that a power law stays finite at step 0, ``min(step, decay_end)`` to stop
a decay, ``step + 1`` for a one-based counter) and switch between schedules by the position in a
repeating pattern (praxis's ``CycleSchedule``). These combinators say so in the expression,
traced like every other schedule (under `jax.jit`, `jax.vmap` and `stack`): no eager call to
read a value at a step, which a traced schedule cannot answer. Offsets are `shift`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks as check
from ._combinators import _child, _children
from ._schedule import Schedule, as_count, register, step_count

__all__ = ["hold", "interleave"]


# -- hold -----------------------------------------------------------------------------------------


class _Hold(Schedule, kind="hold"):
    schedule: Schedule
    start: ArrayLike
    end: ArrayLike | None

    def _at(self, t: jax.Array) -> jax.Array:
        u = jnp.maximum(t, as_count(self.start, t))
        if self.end is not None:
            u = jnp.minimum(u, as_count(self.end, t))
        return self.schedule._at(u)

    def _horizon(self) -> int | None:
        inner, start = self.schedule.horizon, step_count(self.start)
        if self.end is not None:
            end = step_count(self.end)
            inner = end if inner is None else (None if end is None else min(inner, end))
        if inner is None or start is None:
            return None
        return 0 if inner <= start else inner


@register
def hold(schedule: Schedule, start: ArrayLike = 0, end: ArrayLike | None = None) -> Schedule:
    """Hold a schedule's value before `start` and from `end` on: the step clamped to a range.

    .. math:: \\eta_t = \\mathrm{schedule}\\big(\\min(\\max(t, s), e)\\big)

    ``hold(s, start=1)`` is ``s(max(t, 1))``, the clamp that TF Model Garden's power decays and
    praxis's ``LinearRampupSqrtDecay`` put on the step; ``hold(s, end=n)`` stops a schedule at
    step ``n`` and holds ``s(n)`` after it (praxis's ``decay_end``; and a decay frozen at the step
    a linear tail starts, as OLMo-core's ``PowerLR`` and ``CosWithWarmupAndLinearDecay`` do:
    ``cooldown(hold(s, end=n), start=n, steps=d)`` anneals linearly from ``s(n)``). Unlike
    reading ``s(n)`` eagerly and building a constant, it stays a function of the hyperparameters,
    so it works on traced schedules (`jax.vmap`, `stack`) and `end` may itself be traced. The
    horizon is the schedule's, cut at `end` (0 when the held range is a single value).

    Args:
      schedule: the schedule to clamp.
      start: ``s``, an integer >= 0: steps before it see ``s``.
      end: ``e``, an integer >= `start`, or None (no upper clamp): steps after it see ``e``.

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.hold(js.linear(0.0, 1.0, steps=10), start=2, end=5)
      >>> [f"{float(s(t)):.1f}" for t in (0, 1, 2, 3, 5, 8)]
      ['0.2', '0.2', '0.2', '0.3', '0.5', '0.5']
    """
    schedule = _child("schedule", schedule)
    start = check.integer("start", start)
    if end is not None:
        end = check.integer("end", end)
        check.ordered(start, end, "start", "end")
    return _Hold(schedule=schedule, start=start, end=end)


# -- interleave -----------------------------------------------------------------------------------


class _Interleave(Schedule, kind="interleave"):
    schedules: tuple[Schedule, ...]
    boundaries: Any
    period: ArrayLike

    def _at(self, t: jax.Array) -> jax.Array:
        position = jnp.mod(t, as_count(self.period, t))
        boundaries = as_count(self.boundaries, t)
        value = self.schedules[0]._at(t)
        for i, piece in enumerate(self.schedules[1:]):
            value = jnp.where(position >= boundaries[i], piece._at(t), value)
        return value

    def _horizon(self) -> int | None:
        return self.schedules[0].horizon if len(self.schedules) == 1 else None


@register
def interleave(schedules: Sequence[Schedule], boundaries: Sequence[int] | ArrayLike,
               period: ArrayLike) -> Schedule:
    """Switch between schedules by the position in a repeating pattern; each sees the step itself.

    With ``r = t mod P`` and ``b_0 = 0``, schedule ``i`` is active where ``b_i <= r < b_{i+1}``
    (the last up to ``P``), and it is evaluated at the absolute step ``t``, not at a step counted
    from its slot (that is `join`, or `repeat` of a `join`):

    .. math:: \\eta_t = s_i(t), \\quad i = \\#\\{j \\ge 1 : b_j \\le t \\bmod P\\}

    praxis's ``CycleSchedule(schedules, steps=[n_0, n_1, ...])`` is
    ``interleave(schedules, boundaries=[n_0, n_0 + n_1, ...], period=sum(steps))``: two
    schedules alternating in blocks (e.g. a high and a low rate for alternating tasks), both
    running on the global clock. Every schedule is evaluated at each step (their number is
    small); periodic, so no horizon (unless there is one schedule).

    Args:
      schedules: a non-empty sequence of schedules.
      boundaries: ``len(schedules) - 1`` non-decreasing integer positions in ``[0, P]``.
      period: ``P``, a positive integer, the length of the pattern.

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.interleave([js.linear(1.0, 0.0, 10), js.constant(-1.0)], [2], period=3)
      >>> [f"{float(s(t)):.1f}" for t in range(7)]
      ['1.0', '0.9', '-1.0', '0.7', '0.6', '-1.0', '0.4']
    """
    schedules = _children(schedules)
    period = check.integer("period", period, low=1)
    boundaries = check.int_sequence("boundaries", boundaries)
    if np.shape(boundaries)[0] != len(schedules) - 1:
        raise ValueError(
            f"boundaries must hold len(schedules) - 1 = {len(schedules) - 1} positions, got "
            f"{np.shape(boundaries)[0]}: boundaries={np.asarray(boundaries).tolist()!r}")
    if not (check.is_traced(boundaries) or check.is_traced(period)) and \
            np.any(np.asarray(boundaries) > np.asarray(period)):
        raise ValueError(f"boundaries must be positions within the period (at most period="
                         f"{period!r}), got boundaries={np.asarray(boundaries).tolist()!r}")
    return _Interleave(schedules=schedules, boundaries=boundaries, period=period)
