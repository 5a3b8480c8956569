"""Arithmetic between schedules and numbers: ``s + x``, ``s - x``, ``s * x``, ``s / x``,
``s ** x`` and ``-s`` build a `binary` schedule, evaluated pointwise."""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from ._checks import FLOAT32_MAX, FLOAT32_TINY, is_traced
from ._fields import field
from ._registry import register
from ._schedule import Schedule, _repr_value
from ._steps import as_float

__all__ = ["binary", "binary_op"]


_OPS: dict[str, tuple[Callable[[Any, Any], Any], str]] = {
    "add": (operator.add, "+"),
    "sub": (operator.sub, "-"),
    "mul": (operator.mul, "*"),
    "div": (operator.truediv, "/"),
    "pow": (operator.pow, "**"),
}


def _operand_value(x: Any, t: jax.Array) -> jax.Array:
    return x._at(t) if isinstance(x, Schedule) else as_float(x, t)


class _Binary(Schedule, kind="binary"):
    """Pointwise arithmetic between two schedules, or a schedule and a number."""

    op: str = field(static=True)
    left: Any
    right: Any

    def _at(self, t: jax.Array) -> jax.Array:
        fn, _ = _OPS[self.op]
        if self.op == "div" and not isinstance(self.right, Schedule) and not is_traced(
                self.right):
            # A multiplication by the float64 reciprocal: XLA would rewrite the division by a
            # constant as one anyway, but not in every compiled form (so eager, jit and scan
            # could differ by an ulp).
            reciprocal = 1.0 / np.asarray(self.right, np.float64)
            return _operand_value(self.left, t) * as_float(reciprocal, t)
        return fn(_operand_value(self.left, t), _operand_value(self.right, t))

    def _horizon(self) -> int | None:
        horizons = [x.horizon if isinstance(x, Schedule) else 0 for x in (self.left, self.right)]
        known = [h for h in horizons if h is not None]
        return max(known) if len(known) == len(horizons) else None

    def __repr__(self) -> str:
        _, symbol = _OPS[self.op]
        return f"({_repr_value(self.left)} {symbol} {_repr_value(self.right)})"


def _check_operand(x: Any) -> None:
    if isinstance(x, Schedule):
        return
    if isinstance(x, (bool, np.bool_)) or not (
        isinstance(x, numbers.Real) or isinstance(x, (np.ndarray, jax.Array))
    ):
        raise TypeError(f"a schedule combines with numbers or schedules, got {type(x).__name__}")
    if not is_traced(x):
        magnitude = np.abs(np.asarray(x, np.float64))
        if not np.all(np.isfinite(magnitude) & (magnitude <= FLOAT32_MAX)):
            raise ValueError(f"a schedule combines with numbers finite in float32, got {x!r}")
        if not np.all((magnitude == 0) | (magnitude >= FLOAT32_TINY)):
            raise ValueError(f"a schedule combines with 0 or numbers of magnitude at least "
                             f"{FLOAT32_TINY:.4g} (float32's smallest normal number), got {x!r}")


def binary_op(op: str, left: Any, right: Any) -> Schedule:
    _check_operand(left)
    _check_operand(right)
    if op == "div" and not isinstance(right, Schedule) and not is_traced(right):
        # A nonzero divisor is at least FLOAT32_TINY in magnitude, so its reciprocal is finite.
        if np.any(np.asarray(right) == 0):
            raise ValueError(f"a schedule cannot be divided by zero, got divisor {right!r}")
    return _Binary(op=op, left=left, right=right)


@register
def binary(op: str, left: Any, right: Any) -> Schedule:
    """``left <op> right``, op one of "add", "sub", "mul", "div", "pow": what ``s + x`` builds.

    ``s / x`` with a number ``x`` multiplies by ``1 / x``, taken in float64, so that the compiled
    forms agree (XLA rewrites a division by a constant in some of them only); the result is at
    most one float32 rounding from the quotient. ``s ** x`` is ``jnp.power``: a negative value
    raised to a non-integral power is NaN, and 0 to a negative power is inf, which cannot be
    checked when the schedule is built (as a division by a schedule).
    """
    if op not in _OPS:
        raise ValueError(f"op must be one of {sorted(_OPS)}, got {op!r}")
    return binary_op(op, left, right)
