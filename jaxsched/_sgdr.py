"""SGDR: cosine annealing with warm restarts (`sgdr`), cycles that may grow by `cycle_mult`.

Cycle starts are exact: integers for integer lengths and multipliers, and for fractional ones
the decimals they print as, read as fractions, so a whole-step start restarts at that step.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks as check
from ._cycles import _is_float
from ._numerics import (
    complementary,
    cos_weights,
    cosine_pair,
    decimal_fraction,
    divmod_steps,
    exact_divmod,
    mix,
    power,
    promote_step,
    quotient,
    search,
)
from ._schedule import Schedule, as_count, as_float, float_dtype, register, renamed, step_count

__all__ = ["sgdr"]


def _restart_tables(m: jax.Array, t: jax.Array) -> tuple[jax.Array, ...]:
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


class _SGDR(Schedule, kind="sgdr"):
    init_value: ArrayLike
    cycle_steps: ArrayLike
    end_value: ArrayLike
    cycle_mult: ArrayLike
    cycle_decay: ArrayLike
    cycles: ArrayLike | None

    def _at(self, t: jax.Array) -> jax.Array:
        n, m = self.cycle_steps, self.cycle_mult
        # `_float_cycles` keeps integer steps integers (its tables are exact); the value's dtype
        # is that of the promoted step.
        i, weights = _float_cycles(t, n, m) if _is_float(n) or _is_float(m) else \
            _integer_cycles(promote_step(t, n), n, m)
        t = promote_step(t, n)
        low = as_float(self.end_value, t)
        peak = as_float(self.init_value, t) * power(self.cycle_decay, i, t)
        value = mix(jnp.maximum(peak, low), low, weights)
        if self.cycles is None:
            return value
        return jnp.where(i < as_count(self.cycles, t).astype(i.dtype), value, low)

    def _horizon(self) -> int | None:
        if self.cycles is None or any(check.is_traced(x) for x in (
                self.cycle_steps, self.cycle_mult, self.cycles)):
            return None
        n, m, c = (np.asarray(x, np.float64) for x in (self.cycle_steps, self.cycle_mult,
                                                        self.cycles))
        with np.errstate(over="ignore"):
            estimate = np.where(m == 1, n * c, n * (m**c - 1) / np.where(m == 1, 2, m - 1))
        if np.ndim(estimate) or not estimate < 2**63:
            return step_count(estimate)
        length, mult = decimal_fraction(self.cycle_steps), decimal_fraction(self.cycle_mult)
        count = int(c)  # the concrete count, as a float64 array
        return math.ceil(length * count if mult == 1 else
                         length * (mult**count - 1) / (mult - 1))  # cycle c - 1's end


def _integer_cycles(t: jax.Array, cycle_steps: Any, cycle_mult: Any) -> tuple[Any, Any]:
    """``(i, weights)``: the cycle of step `t` and its cosine weights, for an integer ``m``.

    ``t // T`` for ``m = 1``; for ``m >= 2`` every candidate cycle start (at most 32 fit in
    int32) is tested at once in exact integer arithmetic (see `_restart_tables`).
    """
    dtype = float_dtype(t)
    n = as_count(cycle_steps, t)
    m = as_count(cycle_mult, t)
    q, r = divmod_steps(t, n)
    starts, powers, powers_f = _restart_tables(jnp.maximum(m, 2), t)
    k = jnp.searchsorted(starts, q.astype(starts.dtype), side="right",
                         method="compare_all") - 1
    geometric = m > 1
    i = jnp.where(geometric, k.astype(t.dtype), q)
    done = jnp.where(geometric, t - starts[k].astype(t.dtype) * n, r)  # g·n <= t: exact
    # Length of cycle i: exact when it fits the tables' unsigned type, float32 beyond.
    length_f = n.astype(dtype) * jnp.where(geometric, powers_f[k].astype(dtype), 1)
    if jnp.issubdtype(t.dtype, jnp.floating):
        return i, cos_weights(done, length_f.astype(t.dtype), t)
    # Lengths are exact in the unsigned type of the tables (up to 2**32 for int32 steps: a cycle
    # that starts within int32 may end beyond it), with a margin for the float32 estimate that
    # decides whether they fit.
    unsigned = powers.dtype
    fits = ~geometric | (length_f < 0.99 * float(jnp.iinfo(unsigned).max))
    length = jnp.where(fits, n.astype(unsigned) * jnp.where(geometric, powers[k], 1), 1)
    exact = cos_weights(done.astype(unsigned), length, t)
    estimate = cos_weights(done.astype(dtype), length_f, t)
    return i, tuple(jnp.where(fits, a, b) for a, b in zip(exact, estimate))


def _float_cycles(t: jax.Array, cycle_steps: Any, cycle_mult: Any) -> tuple[Any, Any]:
    """``(i, weights)`` when `cycle_steps` or `cycle_mult` is a float: non-integral or traced.

    Concrete scalars are read as the decimals they print as (`decimal_fraction`) and the cycles
    come from exact rational arithmetic: a cycle start that is a whole step is that step
    exactly, and positions stay exact however far the run goes. Traced ones (a stacked sweep)
    use the closed form in float arithmetic.
    """
    if any(check.is_traced(x) or np.ndim(x) for x in (cycle_steps, cycle_mult)):
        return _closed_form_cycles(t, cycle_steps, cycle_mult)
    if cycle_mult == 1:
        return _periodic_cycles(t, cycle_steps)
    return _tabled_cycles(t, cycle_steps, cycle_mult)


def _periodic_cycles(t: jax.Array, cycle_steps: Any) -> tuple[Any, Any]:
    """``(i, weights)`` for ``m = 1`` and a non-integral ``T``, from `exact_divmod` (in float
    arithmetic where that does not apply)."""
    exact = exact_divmod(t, [cycle_steps])
    if exact is None:
        return _integer_cycles(promote_step(t, cycle_steps), cycle_steps, 1)
    i, done, (a,) = exact
    return i, cos_weights(done, as_count(a, t), promote_step(t, cycle_steps))


@functools.lru_cache(maxsize=256)
def _start_table(cycle_steps: Fraction, cycle_mult: Fraction,
                 limit: int) -> tuple[list[int], list[int], list[float], list[float]]:
    """The cycle starts ``T(m^i − 1)/(m − 1)``, ``i = 0, 1, …``, up to the first beyond `limit`
    (at most `_MAX_CYCLES` of them).

    Returns ``(floors, ceilings, above, lengths)``: each start's floor and ceiling (ints), its
    fraction above its floor and the cycle's length ``T·m^i`` (float64, correctly rounded). Each
    start is ``start/den`` and each length ``length/den`` for integers: exact rationals
    (``start_{i+1} = start_i + length_i``, and one more factor of ``m``'s denominator in ``den``)
    while ``den`` has fewer than `_EXACT_BITS` bits; then fixed point with that ``den``, each
    length rounded down (an error below ``i/den`` of a step). With ``T = a/d`` and ``m = b/B`` in
    lowest terms, start ``i`` is whole only if ``B^(i−1)`` divides ``a·d^k``: never once ``den``
    is that large, so the whole starts are all found exactly.
    """
    a, d = cycle_steps.numerator, cycle_steps.denominator
    b, base = cycle_mult.numerator, cycle_mult.denominator
    start, length, den = 0, a, d
    floors: list[int] = []
    ceilings: list[int] = []
    above: list[float] = []
    lengths: list[float] = []
    while len(floors) < _MAX_CYCLES:
        floor, rest = divmod(start, den)
        floors.append(floor)
        ceilings.append(floor + (rest > 0))
        above.append(rest / den)
        lengths.append(length / den)
        if ceilings[-1] > limit:
            break
        start += length
        if den.bit_length() < _EXACT_BITS:
            start, length, den = start * base, length * b, den * base
        else:
            length = length * b // base
    return floors, ceilings, above, lengths


_EXACT_BITS = 256
_MAX_CYCLES = 1 << 14  # the table's size bound: a binary search of 14 halvings


def _cycle_count(cycle_steps: float, cycle_mult: float, limit: float) -> float:
    """The number of cycles that start at steps up to `limit` (float64 estimate, ``m > 1``)."""
    return math.log1p(limit * (cycle_mult - 1) / cycle_steps) / math.log(cycle_mult) + 1


def _tabled_cycles(t: jax.Array, cycle_steps: Any, cycle_mult: Any) -> tuple[Any, Any]:
    """``(i, weights)`` for concrete ``T`` and ``m > 1``, one of them non-integral (timm and
    Keras allow ``m = 1.5``), from the table of cycle starts (`_start_table`) that the step type
    can reach.

    Step `t` is in the cycle whose start's ceiling (integer steps) or float rounded up (float
    steps) it reached. Each start is held as an integer and a fraction (as one-cycle's phase
    ends), so ``t - start`` and ``next start - t`` are exact integers plus a fraction. Steps
    beyond the table (float steps past the step range; under x64, cycle multipliers so close to
    1 that more than `_MAX_CYCLES` cycles start before 2**63) use the closed form.
    """
    wide = np.dtype(t.dtype).itemsize == 8
    limit = 2**63 - 1 if wide else 2**31 - 1
    floors, ceilings, above_, lengths_ = _start_table(
        decimal_fraction(cycle_steps), decimal_fraction(cycle_mult), limit)
    dtype = float_dtype(promote_step(t, cycle_steps))
    above, lengths = jnp.asarray(above_, dtype), jnp.asarray(lengths_, dtype)
    if jnp.issubdtype(t.dtype, jnp.integer):
        step_type = np.dtype(t.dtype)
        unsigned = np.uint64 if wide else np.uint32
        i = search(np.asarray(ceilings[1:-1], step_type), t)
        done = (t - _saturated(floors, step_type)[i]).astype(dtype) - above[i]
        # The next start may lie beyond the step type (a cycle that starts within it may end
        # after), even beyond the unsigned type: then no step comes near it and length - done
        # is as precise.
        left = (_saturated(floors, unsigned)[i + 1] - t.astype(unsigned)).astype(dtype)
        if floors[-1] > np.iinfo(unsigned).max:
            left = jnp.where(i + 1 == len(floors) - 1, lengths[i] - done, left + above[i + 1])
        else:
            left = left + above[i + 1]
        last = ceilings[-1] if ceilings[-1] <= limit else None
    else:
        starts = np.asarray(floors, np.float64) + np.asarray(above_)
        up = starts.astype(dtype)
        up = np.where(up < starts, np.nextafter(up, np.inf, dtype=dtype), up)
        i = search(up[1:-1], t)
        floors_f = jnp.asarray(np.asarray(floors, np.float64), dtype)
        done = (t - floors_f[i]).astype(dtype) - above[i]
        left = (floors_f[i + 1] - t).astype(dtype) + above[i + 1]
        last = up[-1]
    f, g = complementary(quotient(done, lengths[i]), quotient(left, lengths[i]))
    weights = cosine_pair(f, g)
    if last is None:
        return i, weights
    beyond = t >= jnp.asarray(last, t.dtype)
    j, far = _closed_form_cycles(t, cycle_steps, cycle_mult)
    return (jnp.where(beyond, j, i.astype(j.dtype)),
            tuple(jnp.where(beyond, x.astype(dtype), y) for x, y in zip(far, weights)))


def _saturated(values: list[int], kind: Any) -> jax.Array:
    """Integers as an array of type `kind`, each at most its largest value."""
    largest = int(np.iinfo(kind).max)
    return jnp.asarray(np.asarray([min(v, largest) for v in values], kind))


def _closed_form_cycles(t: jax.Array, cycle_steps: Any, cycle_mult: Any) -> tuple[Any, Any]:
    """``(i, weights)`` from ``i = ⌊log(1 + (t/T)(m − 1)) / log m⌋`` in float arithmetic (float64
    for 64-bit steps), `i` corrected by one where rounding put `t` just outside the cycle found.

    ``m = 1`` (a traced multiplier, or one run of a stacked sweep) is ``i = ⌊t/T⌋``, with the
    logarithm kept away from 0 so that neither the value nor its gradient is NaN. A start within
    the arithmetic's rounding of a whole step is that step, so a restart lands on its step.
    """
    wide = np.dtype(t.dtype).itemsize == 8
    x = t.astype(jnp.float64 if wide else jnp.float32)
    n = jnp.asarray(cycle_steps).astype(x.dtype)
    m = jnp.asarray(cycle_mult).astype(x.dtype)
    flat = m == 1
    safe_m = jnp.where(flat, 2, m)
    log_m = jnp.log(safe_m)
    i = jnp.where(flat, jnp.floor(x / n), jnp.floor(jnp.log1p(x / n * (safe_m - 1)) / log_m))
    eps = float(jnp.finfo(x.dtype).eps)

    def bounds(i):
        start = n * jnp.expm1(i * log_m) / (safe_m - 1)
        whole = jnp.round(start)
        near = jnp.abs(start - whole) <= 2 * eps * (8 + i * log_m + i) * whole
        start = jnp.where(flat, i * n, jnp.where(near, whole, start))
        return start, jnp.where(flat, n, n * jnp.exp(i * log_m))

    start, length = bounds(i)
    i = jnp.where(x < start, i - 1, jnp.where(x >= start + length, i + 1, i))
    start, length = bounds(i)
    dtype = float_dtype(promote_step(t, cycle_steps))
    weights = cos_weights(jnp.clip(x - start, 0, length), length, x)
    return i, tuple(w.astype(dtype) for w in weights)


def _multiplier(cycle_mult: Any) -> Any:
    """`cycle_mult` >= 1: an int when it is whole (exact integer cycles), else a float."""
    cycle_mult = check.real("cycle_mult", cycle_mult, low=1.0)
    if check.is_traced(cycle_mult) or not np.all(np.mod(cycle_mult, 1) == 0):
        return cycle_mult
    return check.integer("cycle_mult", cycle_mult, low=1)


def _check_cycle_count(cycle_steps: Any, cycle_mult: Any) -> None:
    """Refuses a concrete non-integral `cycle_mult` so close to 1 that more than `_MAX_CYCLES`
    cycles start before step 2**31 (the table of cycle starts would not cover int32 steps)."""
    if any(check.is_traced(x) or np.ndim(x) for x in (cycle_steps, cycle_mult)) or \
            isinstance(cycle_mult, int):
        return
    count = _cycle_count(float(cycle_steps), float(cycle_mult), 2**31 - 1)
    if count > _MAX_CYCLES:
        raise ValueError(
            f"cycle_mult must be 1, an integer, or far enough from 1 that at most {_MAX_CYCLES} "
            f"cycles start before step 2**31; got cycle_mult={cycle_mult!r} with "
            f"cycle_steps={cycle_steps!r}: {count:.4g} cycles")


@register
@renamed(max_lr="init_value", cycle_length="cycle_steps", min_lr="end_value")
def sgdr(init_value: ArrayLike, cycle_steps: ArrayLike, end_value: ArrayLike = 0.0,
         cycle_mult: ArrayLike = 1, cycle_decay: ArrayLike = 1.0,
         cycles: ArrayLike | None = None) -> Schedule:
    """Cosine annealing with warm restarts (SGDR), in closed form.

    Cycle ``i`` has length ``T_i = T·m^i`` and peak ``P_i = max(v_0·d^i, v_1)``. With ``t_i``
    the step where cycle ``i`` starts and ``t_cur = t - t_i``:

    .. math:: \\eta_t = v_1 + (P_i - v_1)\\,\\frac{1 + \\cos(\\pi t_{cur}/T_i)}{2}

    and, when `cycles` is given, ``v_1`` from the end of cycle ``cycles − 1`` on (timm's
    ``cycle_limit``); otherwise periodic forever. The cycle is found without iterating over
    cycles: ``t // T`` for ``m = 1``; for an integer ``m >= 2`` every candidate cycle start (at
    most 32 fit in int32) is tested at once, in exact integer arithmetic. A non-integral ``m``
    (timm and Keras allow 1.5) or ``T`` is read as the decimal it prints as (``1.1`` is 11/10)
    and the cycle starts are computed from it in exact rational arithmetic, each held as an
    integer and a fraction: a start that is a whole step (``1000·(1 + 1.1 + 1.21 + 1.331) =
    4641``) restarts at that step, and positions stay exact up to the step type's largest step
    (2**63 − 1 under x64). Such an ``m`` must start at most 16,384 cycles before step 2**31
    (``m = 1.0000001`` is refused when built). A traced ``m`` (a stacked sweep) uses the closed
    form ``i = ⌊log(1 + (t/T)(m − 1)) / log m⌋`` in float arithmetic, ``⌊t/T⌋`` where ``m = 1``.
    The work and the jaxpr are the same size for 10 cycles or 10 million.

    Matches ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`` (``T_0``, ``T_mult``,
    ``eta_min``) and, with `cycle_decay` and `cycles`, timm's ``CosineLRScheduler`` (its
    ``cycle_mul``, ``cycle_decay``, ``cycle_limit``). Keras's ``CosineDecayRestarts`` with
    ``alpha = 0`` is the same schedule (with ``alpha > 0`` Keras decays ``max - min`` rather than
    the peak).

    Args:
      init_value: ``v_0``, the peak of the first cycle.
      cycle_steps: ``T``, the first cycle's length, >= 1 (an integer, or a non-integral float).
      end_value: ``v_1``, the floor, <= `init_value`.
      cycle_mult: ``m`` >= 1, growth factor of cycle lengths (an integer as PyTorch's
        ``T_mult``, or a float as timm's ``cycle_mul``).
      cycle_decay: ``d``, the factor applied to the peak at each restart, in (0, 1].
      cycles: the number of cycles before the value holds at `end_value` (a positive integer),
        or None for restarts forever.

    Returns:
      The schedule.

    References:
      Loshchilov & Hutter, SGDR: Stochastic Gradient Descent with Warm Restarts,
      arXiv:1608.03983.

    Example:
      >>> import jaxsched as js
      >>> s = js.sgdr(1.0, cycle_steps=2, cycle_mult=2)
      >>> [f"{float(s(t)):.2f}" for t in range(8)]
      ['1.00', '0.50', '1.00', '0.85', '0.50', '0.15', '1.00', '0.96']
    """
    init_value = check.real("init_value", init_value)
    end_value = check.real("end_value", end_value)
    check.ordered(end_value, init_value, "end_value", "init_value")
    cycle_steps = check.length("cycle_steps", cycle_steps, low=1)
    cycle_mult = _multiplier(cycle_mult)
    _check_cycle_count(cycle_steps, cycle_mult)
    return _SGDR(
        init_value=init_value,
        cycle_steps=cycle_steps,
        end_value=end_value,
        cycle_mult=cycle_mult,
        cycle_decay=check.real("cycle_decay", cycle_decay, low=0.0, low_open=True, high=1.0),
        cycles=None if cycles is None else check.positive_int("cycles", cycles),
    )
