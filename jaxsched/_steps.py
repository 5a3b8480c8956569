"""Steps and dtypes: a step of any kind as a prepared JAX step, hyperparameters in its dtypes.

A schedule computes its value from a *prepared* step (`prepare_step`): a non-negative JAX array
whose dtype says how to count (int32, int64 under x64, or float32/float64 for fractional steps).
Hyperparameters follow it: `as_float` for values, `as_count` for lengths and positions, so that
integer positions stay exact; `step_count` reads a concrete length as a Python int for horizons.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import is_traced

__all__ = ["as_count", "as_float", "check_concrete_step", "float_dtype", "prepare_step",
           "step_count"]


def prepare_step(step: Any) -> jax.Array:
    """Turns any step into a non-negative JAX scalar or array, keeping integers integral.

    Integer steps stay integers (int32, or int64 where x64 is enabled), so that cycle positions and
    boundaries are computed exactly. Float steps are allowed (fractional epochs) and are computed in
    floating point. Steps below 0 act as step 0.
    """
    t = jnp.asarray(step)
    if t.dtype == jnp.bool_ or not (
        jnp.issubdtype(t.dtype, jnp.integer) or jnp.issubdtype(t.dtype, jnp.floating)
    ):
        raise TypeError(f"a step must be an integer or a float, got dtype {t.dtype}")
    if jnp.issubdtype(t.dtype, jnp.unsignedinteger):
        t = _signed(t)
    elif jnp.issubdtype(t.dtype, jnp.integer):
        if t.dtype not in (jnp.int32, jnp.int64):
            t = t.astype(jnp.int32)
    elif t.dtype not in (jnp.float32, jnp.float64):
        t = t.astype(jnp.float32)
    t = t.astype(t.dtype)  # drops weak typing: explicit dtypes from here on
    return jnp.maximum(t, jnp.zeros((), t.dtype))


def _signed(t: jax.Array) -> jax.Array:
    """An unsigned step as a signed one (int64 under x64, else int32), without wrapping around.

    A concrete step too large for the signed type raises; a traced one (whose value is not known
    here) saturates at the signed type's largest value, the last step a schedule can be asked.
    """
    wide = jnp.int64 if jax.config.read("jax_enable_x64") else jnp.int32
    largest = np.iinfo(np.dtype(wide)).max
    if t.dtype.itemsize < np.dtype(wide).itemsize:
        return t.astype(wide)
    if not is_traced(t):
        if np.size(t) and np.max(np.asarray(t)) > largest:
            raise ValueError(f"a step must be at most {largest} ({np.dtype(wide).name}), got "
                             f"{np.max(np.asarray(t))!r}")
        return t.astype(wide)
    return jnp.minimum(t, jnp.asarray(largest, t.dtype)).astype(wide)


def float_dtype(t: jax.Array) -> Any:
    """The dtype of a schedule's value for the prepared step `t`."""
    return jnp.float64 if t.dtype == jnp.float64 else jnp.float32


def as_float(x: Any, t: jax.Array) -> jax.Array:
    """A hyperparameter as an array of the value dtype for step `t`."""
    return jnp.asarray(x, dtype=float_dtype(t))


def as_count(x: Any, t: jax.Array) -> jax.Array:
    """A length or step hyperparameter in the dtype of step `t` (integer for integer steps)."""
    return jnp.asarray(x).astype(t.dtype)


def step_count(x: Any) -> int | None:
    """A concrete length or step as a Python int (rounded up; the largest of an array), else None.

    For horizons: a fractional length ``n`` is over from step ``ceil(n)`` on; a traced one is
    unknown when the schedule is built.
    """
    if x is None or is_traced(x):
        return None
    return int(np.ceil(np.max(np.asarray(x, np.float64))))


def check_concrete_step(step: Any) -> None:
    """A concrete integer step too large for the signed step type would wrap around when JAX
    converts it (int32, or int64 under x64): raise instead, naming the limit."""
    if isinstance(step, jax.Array):
        if is_traced(step) or not jnp.issubdtype(step.dtype, jnp.unsignedinteger):
            return
    elif not isinstance(step, (np.ndarray, np.integer)) or step.dtype.kind not in "iu":
        return
    x64 = jax.config.read("jax_enable_x64")
    largest = np.iinfo(np.int64 if x64 else np.int32).max
    if np.size(step) and np.max(np.asarray(step)) > largest:
        limit = "2**63 - 1" if x64 else "2**31 - 1 (enable x64 for larger steps)"
        raise ValueError(f"a step must be at most {limit}, got {np.max(np.asarray(step))!r}")
