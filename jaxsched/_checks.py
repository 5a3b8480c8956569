"""Argument checks shared by every constructor.

Each check raises ``ValueError`` (``TypeError`` for a value of the wrong kind) whose message
starts with the argument's name and shows the bad value, e.g.
``steps must be a number of steps >= 0, got steps=-1``. Checks that need concrete values
are skipped for traced ones (a schedule built inside `jax.vmap` or `jax.grad`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

# The largest magnitude a hyperparameter may have: a value is computed in float32, so a larger
# number would be infinite there.
FLOAT32_MAX = float(np.finfo(np.float32).max)
# The smallest a positive hyperparameter may be: below, float32 has only subnormal numbers, which
# XLA flushes to zero.
FLOAT32_TINY = float(np.finfo(np.float32).tiny)
# The last step an int32 step counter reaches (steps are int32 unless x64 is enabled): 2**31 - 1.
INT32_MAX = int(np.iinfo(np.int32).max)


def is_traced(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


def _show(name: str, value: Any) -> str:
    """``got name=value``; arrays as lists, and a huge integer by its number of digits."""
    if isinstance(value, (np.ndarray, jax.Array)) and not is_traced(value):
        value = np.asarray(value).tolist()
    if isinstance(value, int) and abs(value) > 10**30:
        return f"got {name}=an integer of {len(str(abs(value)))} digits"
    return f"got {name}={value!r}"


def _concrete(name: str, value: Any, kind: str) -> np.ndarray | None:
    """The value as a NumPy array, or None when it is traced. Rejects non-numbers."""
    if is_traced(value):
        return None
    if isinstance(value, (bool, np.bool_)) or not (
        isinstance(value, numbers.Real) or isinstance(value, (np.ndarray, np.generic, jax.Array))
    ):
        raise TypeError(f"{name} must be {kind}, {_show(name, value)}")
    if isinstance(value, int) and abs(value) > 2**62:  # beyond int64: NumPy makes an object
        return np.asarray((math.inf if value > 0 else -math.inf) if abs(value) > 2**1023 else
                          float(value))
    array = np.asarray(value)
    if array.dtype == jnp.bfloat16 or array.dtype == np.float16:  # checked in float32
        return array.astype(np.float32)
    if array.dtype.kind not in "iuf":  # bools, complex numbers, strings, objects
        raise TypeError(f"{name} must be {kind}, {_show(name, value)}")
    return array


def _plain(value: Any) -> Any:
    """NumPy scalars become Python numbers, so reprs and configs stay readable."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def real(name: str, value: Any, *, low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False) -> Any:
    """A finite real number (or array of them) within optional bounds, finite in float32."""
    bounds = ""
    if low is not None:
        bounds += f" {'>' if low_open else '>='} {low}"
    if high is not None:
        bounds += f"{' and' if bounds else ''} {'<' if high_open else '<='} {high}"
    kind = f"a finite number{bounds}"
    array = _concrete(name, value, kind)
    if array is None:
        return value
    ok = np.isfinite(array)
    if np.all(ok) and not np.all(np.abs(array) <= FLOAT32_MAX):
        raise ValueError(f"{name} must be {kind} within float32's range (magnitude at most "
                         f"{FLOAT32_MAX:.4g}), {_show(name, value)}")
    if low is not None:
        ok &= (array > low) if low_open else (array >= low)
    if high is not None:
        ok &= (array < high) if high_open else (array <= high)
    if not np.all(ok):
        raise ValueError(f"{name} must be {kind}, {_show(name, value)}")
    if not np.all((array == 0) | (np.abs(array) >= FLOAT32_TINY)):  # a subnormal in float32
        if low == 0 and low_open:  # a positive number: 0 is refused above
            raise ValueError(f"{name} must be {kind} and at least {FLOAT32_TINY:.4g} (float32's "
                             f"smallest normal number), {_show(name, value)}")
        raise ValueError(f"{name} must be 0 or at least {FLOAT32_TINY:.4g} in magnitude (float32's "
                         f"smallest normal number; XLA flushes smaller ones to 0 in some programs "
                         f"and not others), {_show(name, value)}")
    return _plain(value)


def positive(name: str, value: Any) -> Any:
    return real(name, value, low=0.0, low_open=True)


def nonnegative(name: str, value: Any) -> Any:
    return real(name, value, low=0.0)


# Arguments that `integer` checks and that count steps (as `length`'s all do).
_STEP_POSITIONS = frozenset({"start", "end", "at", "horizon", "planned_horizon"})


def _not_a_fraction(name: str, value: Any, array: np.ndarray) -> None:
    """Refuses a length in (0, 1): a fraction of a run ("20 %") written where steps are counted.

    ``cooldown(s, 6000, 0.2)`` would otherwise be a cooldown of 0.2 steps, over at step 6001.
    """
    if np.any((array > 0) & (array < 1)):
        fraction = np.asarray(array, np.float64).flat[int(np.argmax((array > 0) & (array < 1)))]
        raise ValueError(f"{name} counts steps, not a fraction of the run: "
                         f"{_show(name, value)}; for {fraction:g} of a run of T steps, write "
                         f"{name}=int({fraction:g} * T)")


def integer(name: str, value: Any, *, low: int = 0) -> Any:
    """An integer (or integer array) >= low. Floats with integral values are accepted."""
    kind = "a positive integer" if low == 1 else f"an integer >= {low}"
    array = _concrete(name, value, kind)
    if array is None:
        return value
    if name.endswith("steps") or name in _STEP_POSITIONS:
        _not_a_fraction(name, value, array)
    if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
        raise ValueError(f"{name} must be {kind}, {_show(name, value)}")
    return _int_result(name, value, array, low, kind)


def _int_result(name: str, value: Any, array: np.ndarray, low: float, kind: str) -> Any:
    """An integral `value` within ``[low, 2**31 - 1]`` as a Python int or an int32 array."""
    if not np.all(array >= low):
        raise ValueError(f"{name} must be {kind}, {_show(name, value)}")
    if not np.all(array <= INT32_MAX):
        raise ValueError(f"{name} must be at most 2**31 - 1, {_show(name, value)}")
    if isinstance(value, (float, np.floating, int, np.integer)):
        return int(value)
    if isinstance(value, np.ndarray) and not np.issubdtype(value.dtype, np.integer):
        return value.astype(np.int32)
    return _plain(value)


def length(name: str, value: Any, *, low: float = 0) -> Any:
    """A number of steps >= low: an integer (kept exact) or a non-integral float.

    Configs compute lengths (``0.1 * total_steps``, ``warmup_epochs * steps_per_epoch``), so a
    float that is not a whole number is accepted and kept as a float: the schedule then computes
    its positions in floating point. An integral float becomes an int. A length in (0, 1) is
    refused: it is a fraction of a run written where a number of steps belongs.
    """
    kind = "a number of steps >= 1" if low == 1 else f"a number of steps >= {low}"
    array = _concrete(name, value, kind)
    if array is None:
        return value
    _not_a_fraction(name, value, array)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be {kind}, {_show(name, value)}")
    if np.all(array == np.round(array)):
        return _int_result(name, value, array, low, kind)
    if not np.all(array >= low):
        raise ValueError(f"{name} must be {kind}, {_show(name, value)}")
    if not np.all(array <= INT32_MAX):
        raise ValueError(f"{name} must be at most 2**31 - 1, {_show(name, value)}")
    if isinstance(value, (np.ndarray, jax.Array)):
        return np.asarray(value, np.float64)
    return float(value)


def positive_int(name: str, value: Any) -> Any:
    return integer(name, value, low=1)


def ordered(low: Any, high: Any, low_name: str, high_name: str) -> None:
    """``high >= low`` (elementwise), else a ValueError naming both; skipped when traced."""
    if is_traced(low) or is_traced(high):
        return
    if not np.all(np.asarray(high) >= np.asarray(low)):
        raise ValueError(f"{high_name} must be >= {low_name}, {_show(high_name, high)}, "
                         f"{_show(low_name, low)[4:]}")


def choice(name: str, value: Any, options: Iterable[str]) -> str:
    options = tuple(options)
    if value not in options:
        listed = ", ".join(map(repr, options))
        raise ValueError(f"{name} must be one of {listed}, got {name}={value!r}")
    return value


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {name}={value!r}")
    return bool(value)


def _ndim(values: Any) -> int:
    """The number of dimensions of a (possibly nested) sequence; -1 for a ragged one."""
    try:
        return np.ndim(values)
    except ValueError:  # NumPy refuses ragged nested sequences
        return -1


def int_sequence(name: str, values: Any, *, low: int = 0, sorted_: bool = True) -> Any:
    """A 1-D sequence of integers >= low, non-decreasing; returned as an int32 NumPy array."""
    if is_traced(values):
        return values
    if isinstance(values, (str, bytes)) or _ndim(values) != 1:
        raise ValueError(f"{name} must be a 1-D sequence of integers, {_show(name, values)}")
    if any(is_traced(v) for v in values):
        return values
    if any(isinstance(v, (bool, np.bool_)) for v in values):
        raise TypeError(f"{name} must be a sequence of integers, {_show(name, values)}")
    array = np.asarray(values)
    if array.size and array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a sequence of integers, {_show(name, values)}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
        raise ValueError(f"{name} must hold integers, {_show(name, values)}")
    if np.any(array < low):
        raise ValueError(f"{name} must hold integers >= {low}, {_show(name, values)}")
    if np.any(array > INT32_MAX):
        raise ValueError(f"{name} must hold integers of at most 2**31 - 1, {_show(name, values)}")
    if sorted_ and np.any(np.diff(array) < 0):
        raise ValueError(f"{name} must be sorted in non-decreasing order, {_show(name, values)}")
    return array.astype(np.int32)
