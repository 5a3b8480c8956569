"""Exact-at-the-ends building blocks for schedule formulas.

Positions are counted in the step's own dtype (integers for integer steps), so ``done`` and
``total - done`` are exact before anything is converted to float. The weights below are then
computed from whichever of the two fractions is small, which keeps float32 results within a few
ulps of a float64 reference at every step and makes both endpoints exact.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._schedule import float_dtype


def fractions(done: jax.Array, total: jax.Array, t: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(done / total, (total - done) / total)`` in the value dtype; exact 0 and 1 at the ends.

    `total` must be positive; a zero `total` (possible only for traced lengths) is read as 1.
    """
    dtype = float_dtype(t)
    total = jnp.maximum(total, jnp.ones((), total.dtype))
    total_f = total.astype(dtype)
    return done.astype(dtype) / total_f, (total - done).astype(dtype) / total_f


def cos_weight(done: jax.Array, total: jax.Array, t: jax.Array) -> jax.Array:
    """``(1 + cos(pi * done / total)) / 2``, accurate to float32 ulps over the whole half period.

    Uses ``cos(pi f / 2)**2`` on the first half and ``sin(pi g / 2)**2`` (g = 1 - f, computed
    exactly) on the second, so the weight is exactly 1 at ``done = 0``, exactly 0 at
    ``done = total``, and never loses relative precision near either end.
    """
    return half_cosine(*fractions(done, total, t))


def half_cosine(f: jax.Array, g: jax.Array) -> jax.Array:
    """``(1 + cos(pi f)) / 2`` given both ``f`` and ``g = 1 - f`` (see `cos_weight`)."""
    return jnp.where(f <= g, jnp.cos(0.5 * jnp.pi * f) ** 2, jnp.sin(0.5 * jnp.pi * g) ** 2)


def mix(high: jax.Array, low: jax.Array, w: jax.Array) -> jax.Array:
    """``high * w + low * (1 - w)``: exactly `high` at w = 1 and exactly `low` at w = 0."""
    return high * w + low * (1 - w)


def power(base: jax.Array, exponent: jax.Array) -> jax.Array:
    """``base ** exponent`` for a float base and a non-negative (integer or float) exponent."""
    return jnp.power(base, exponent.astype(base.dtype))
