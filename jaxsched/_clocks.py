"""Clocks: `scale_by_schedule`, a learning rate whose schedule runs on steps, tokens or samples.

A clock counts what each update passes it (one step, or ``tokens=n`` / ``samples=n``) in two
32-bit words, exactly to 2**64, and evaluates the schedule at that position in whole `unit` s::

    optax.chain(optax.scale_by_adam(), js.scale_by_schedule(schedule, clock="tokens"))
    updates, state = opt.update(grads, state, params, tokens=batch_tokens)

The state holds the schedule's value for the next update, so `js.learning_rate` and
`js.hyperparams` read it without the schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import _checks

__all__ = ["SampleClockState", "StepClockState", "TokenClockState", "scale_by_schedule"]

_INT64_MAX = np.iinfo(np.int64).max


class StepClockState(NamedTuple):
    """The state of ``scale_by_schedule(schedule, clock="steps")``.

    Attributes:
      steps: uint32[4], the position: updates seen as two words (high, low), the remainder
        (always 0) and the unit (1). Exact to 2**64.
      value: float32, the schedule's value at the position: the rate of the next update, before
        its sign is flipped.
    """

    steps: jax.Array
    value: jax.Array


class TokenClockState(NamedTuple):
    """The state of ``scale_by_schedule(schedule, clock="tokens", unit=u)``.

    Attributes:
      tokens: uint32[4]: tokens seen, as whole units in two words (high, low), the tokens past
        the last whole unit (the remainder, below `u`), and `u`. Tokens seen = (high·2**32 + low)
        · u + remainder, exact to 2**64 units.
      value: float32, the schedule's value at the whole units seen: the rate of the next update.
    """

    tokens: jax.Array
    value: jax.Array


class SampleClockState(NamedTuple):
    """The state of ``scale_by_schedule(schedule, clock="samples", unit=u)``: as
    `TokenClockState`, counting samples."""

    samples: jax.Array
    value: jax.Array


_STATES = {"steps": StepClockState, "tokens": TokenClockState, "samples": SampleClockState}
CLOCK_STATES = tuple(_STATES.values())


def _words(n: Any, unit: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``n`` (a count >= 0) as whole units (high word, low word) and the remainder, uint32."""
    if isinstance(n, (int, np.integer)) and not isinstance(n, bool):
        if not 0 <= int(n) < 2**64:
            raise ValueError(f"a count must be in [0, 2**64), got {int(n)}")
        units, rest = divmod(int(n), unit)
        high, low = divmod(units, 2**32)
        u32 = jnp.uint32
        return jnp.asarray(high % 2**32, u32), jnp.asarray(low, u32), jnp.asarray(rest, u32)
    n = jnp.asarray(n)
    if n.shape != ():
        raise ValueError(f"a count must be a scalar, got an array of shape {n.shape}")
    if n.dtype == jnp.bool_ or not jnp.issubdtype(n.dtype, jnp.integer):
        raise TypeError(f"a count must be an integer, got dtype {n.dtype}")
    n = jnp.maximum(n, jnp.zeros((), n.dtype))  # a negative count counts as 0
    if n.dtype.itemsize > 4:  # int64 / uint64: only with x64, where 64-bit division exists
        n = n.astype(jnp.uint64)
        units, rest = n // np.uint64(unit), n % np.uint64(unit)
        high = (units >> np.uint64(32)).astype(jnp.uint32)
        return high, units.astype(jnp.uint32), rest.astype(jnp.uint32)
    n = n.astype(jnp.uint32)
    u = jnp.asarray(unit, jnp.uint32)
    return jnp.zeros((), jnp.uint32), n // u, n % u


def _add(high: jax.Array, low: jax.Array, carry_in: jax.Array, add_high: jax.Array,
         add_low: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Two-word addition with a carry (uint32 arithmetic wraps around)."""
    low_sum = low + add_low
    carry = (low_sum < low).astype(jnp.uint32)
    low_sum = low_sum + carry_in
    carry = carry + (low_sum < carry_in).astype(jnp.uint32)
    return high + add_high + carry, low_sum


def _advance(position: jax.Array, n: Any, unit: int) -> jax.Array:
    """The position (high, low, remainder, unit) after `n` more."""
    add_high, add_low, add_rest = _words(n, unit)
    high, low, rest = position[0], position[1], position[2]
    rest = rest + add_rest  # below 2·unit <= 2**32: no wrap-around
    whole = (rest >= jnp.asarray(unit, jnp.uint32)).astype(jnp.uint32)
    rest = rest - whole * jnp.asarray(unit, jnp.uint32)
    high, low = _add(high, low, whole, add_high, add_low)
    return jnp.stack([high, low, rest, position[3]])


def _check_unit(position: Any, unit: int) -> jax.Array:
    """Whether the state counts in `unit` s (a state keeps the unit it was made with). A concrete
    state in another unit is refused here; a traced one cannot raise, so the update gives NaN."""
    if not _checks.is_traced(position):
        other = [int(u) for u in np.unique(np.asarray(position)[..., 3]) if u != unit]
        if other:
            raise ValueError(
                f"scale_by_schedule(unit={unit}) got a state that counts in units of {other[0]} "
                f"(made with unit={other[0]}): a state keeps its unit; update it with "
                f"unit={other[0]}, or start a new state")
    return jnp.asarray(position)[..., 3] == jnp.uint32(unit)


def _x64() -> bool:
    return bool(jax.config.read("jax_enable_x64"))


def schedule_step(position: jax.Array) -> jax.Array:
    """The step the schedule sees: the whole units, int32 capped at 2**31 - 1 (int64 with x64,
    capped at 2**63 - 1)."""
    high, low = position[..., 0], position[..., 1]
    if _x64():
        units = (high.astype(jnp.uint64) << np.uint64(32)) | low.astype(jnp.uint64)
        return jnp.minimum(units, np.uint64(_INT64_MAX)).astype(jnp.int64)
    beyond = (high > 0) | (low > _checks.INT32_MAX)
    return jnp.where(beyond, jnp.asarray(_checks.INT32_MAX, jnp.uint32), low).astype(jnp.int32)


def count(position: Any) -> jax.Array:
    """The count a position stands for, (high·2**32 + low)·unit + remainder: int64 with x64
    (capped at 2**63 - 1), else float32 (exact to 2**24, then within a few float32 roundings).
    A batch of positions (leading axes, as a vmapped state holds) gives a batch of counts."""
    position = jnp.asarray(position)
    high, low, rest, unit = (position[..., i] for i in range(4))
    if _x64():
        u64 = jnp.uint64
        words = (high.astype(u64) << np.uint64(32)) | low.astype(u64)
        rest, unit = rest.astype(u64), unit.astype(u64)
        fits = words <= (np.uint64(_INT64_MAX) - rest) // unit  # (no wrap-around past 2**64)
        return jnp.where(fits, words * unit + rest, np.uint64(_INT64_MAX)).astype(jnp.int64)
    f = jnp.float32
    units = high.astype(f) * f(2.0**32) + low.astype(f)
    return units * unit.astype(f) + rest.astype(f)


def exact_count(position: Any) -> int:
    """The count of a concrete position as a Python int, exactly."""
    high, low, rest, unit = (int(x) for x in np.asarray(position))
    return (high * 2**32 + low) * unit + rest


def scale_by_schedule(
    schedule: Callable[[Any], Any], clock: str = "steps", unit: int = 1
) -> optax.GradientTransformationExtraArgs:
    r"""Multiplies the updates by :math:`-\text{schedule}(\text{position})`, the position counted
    in steps, tokens or samples.

    A drop-in for ``optax.scale_by_learning_rate(schedule)`` whose clock may count what the
    updates consume rather than the updates: with ``clock="tokens"`` (or ``"samples"``) each
    update passes its count, ``update(updates, state, params, tokens=n)``, and the schedule is
    evaluated at the tokens seen *before* this update, in whole units:

    .. math::

        u_k = -\,\text{schedule}\!\left(\left\lfloor \frac{N_k}{\text{unit}} \right\rfloor
        \right)\, g_k, \qquad N_k = \sum_{i<k} n_i

    (with ``clock="steps"``, :math:`n_i = 1`: optax's ``scale_by_learning_rate``). So warmup and
    decay can be written in tokens and stay put while the batch size changes from step to step;
    ``n`` may be a traced integer, a different one every step.

    **How a large count reaches the schedule.** The count is kept in two unsigned 32-bit words
    (whole units, high and low) and a remainder below `unit`, exact to :math:`2^{64}` units with
    or without x64. Schedule lengths are at most :math:`2^{31} - 1`, so a schedule over
    :math:`10^{13}` tokens is written in units: with ``unit=10**6`` its lengths are millions of
    tokens, and the schedule sees the exact integer number of whole units, where every jaxsched
    shape is exact (float32 within ~1e-6 relative of the float64 formula). The value changes
    once per unit, not within one. Without x64 the step the schedule sees is an int32, capped
    at :math:`2^{31} - 1` units (a schedule that has reached its horizon holds its value, so
    only a periodic schedule would notice); with x64 it is an int64, capped at
    :math:`2^{63} - 1`.

    The state (`StepClockState`, `TokenClockState` or `SampleClockState`) holds the position and
    the schedule's value at it, which is the rate of the next update: each update uses the value
    computed by the one before and computes the next (one schedule evaluation per update, as
    optax). `js.learning_rate` and `js.hyperparams` read it. It is a pytree of arrays with fixed
    dtypes (uint32 words, a float32 value): it checkpoints and resumes bit for bit, and is
    replicated on every device. Resuming with a different schedule applies the stored value once.
    A state keeps the unit it was made with (it stores it): updating it with another `unit`
    raises `ValueError`, or, inside `jax.jit` where nothing can raise, makes that update and
    the state's rate NaN and leaves the count as it was.
    Inside ``optax.MultiSteps`` the inner update is kept only at the k-th call, with the count
    that call passed: pass the tokens of the whole accumulated batch there.

    Args:
      schedule: a function of an integer step, e.g. any jaxsched schedule; for the tokens and
        samples clocks its steps are units of `unit` tokens or samples.
      clock: ``"steps"`` (count updates), ``"tokens"`` or ``"samples"`` (count what each update
        passes as ``tokens=`` or ``samples=``).
      unit: how many tokens or samples make one step of the schedule, an integer in
        :math:`[1, 2^{31} - 1]`; 1 for ``clock="steps"``.

    Returns:
      An `optax.GradientTransformationExtraArgs`. Its ``update(updates, state, params=None, *,
      tokens=None, samples=None, **extra)`` takes the count of the clock's kind (a Python or
      JAX integer >= 0: int32 or uint32, or 64-bit with x64; a negative count counts as 0);
      other keyword arguments are ignored, so it composes in `optax.chain`. A missing count
      raises `TypeError`. Without x64, a 64-bit NumPy integer passed into a jitted function is
      cast to int32 by JAX before the clock sees it (``np.int64(2**32 + 7)`` becomes 7; a
      Python int that large raises there): inside `jax.jit` pass up to 2**32 - 1 per update
      as a uint32, or enable x64. Eagerly any integer is split exactly.

    Example:
      >>> import jax.numpy as jnp
      >>> import jaxsched as js
      >>> tx = js.scale_by_schedule(js.linear(0.0, 1.0, 4), clock="tokens", unit=1000)
      >>> state = tx.init(jnp.zeros(2))
      >>> for batch_tokens in [1000, 1500, 2500]:
      ...     updates, state = tx.update(jnp.ones(2), state, tokens=batch_tokens)
      ...     print(f"{float(updates[0]):.4f}")
      -0.0000
      -0.2500
      -0.5000
      >>> print(f"{float(js.learning_rate(state)):.4f}", int(js.hyperparams(state)["tokens"]))
      1.0000 5000
    """
    if not callable(schedule):
        raise TypeError(f"schedule must be callable, got schedule={schedule!r}")
    clock = _checks.choice("clock", clock, tuple(_STATES))
    unit = int(_checks.positive_int("unit", unit))
    if clock == "steps" and unit != 1:
        raise ValueError(f"unit is for the tokens and samples clocks, got {unit=} with "
                         "clock='steps'")
    state_type = _STATES[clock]

    def value_at(position: jax.Array) -> jax.Array:
        return jnp.asarray(schedule(schedule_step(position))).astype(jnp.float32)

    def init_fn(params: Any) -> Any:
        del params
        position = jnp.asarray([0, 0, 0, unit], jnp.uint32)
        return state_type(position, value_at(position))

    def update_fn(updates: optax.Updates, state: Any, params: optax.Params | None = None,
                  **extra_args: Any) -> tuple[optax.Updates, Any]:
        del params
        if clock == "steps":
            n = 1
        elif extra_args.get(clock) is None:
            raise TypeError(f"scale_by_schedule(clock={clock!r}) needs the {clock} of each "
                            f"update: call update(updates, state, params, {clock}=n)")
        else:
            n = extra_args[clock]
        position = state[0]
        same = _check_unit(position, unit)
        rate = jnp.where(same, -state.value, jnp.nan)
        updates = jax.tree.map(lambda u: u * rate.astype(jnp.asarray(u).dtype), updates)
        position = jnp.where(same, _advance(position, n, unit), position)
        return updates, state_type(position, jnp.where(same, value_at(position), jnp.nan))

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
