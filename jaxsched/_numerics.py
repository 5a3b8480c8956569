"""Exact-at-the-ends building blocks for schedule formulas.

Positions are counted in the step's own dtype (integers for integer steps), so ``done`` and
``total - done`` are exact before anything is converted to float. Both fractions are computed
from them, each on its own, and the weights below use whichever is small, which keeps float32
results within a few ulps of a float64 reference at every step and makes both endpoints exact.
The formulas avoid what makes the compiled forms of a schedule (eager, `jit`, `vmap`,
`lax.scan`) differ: no division by a constant (see `quotient`) and no ``1 -`` a product that
XLA could fuse into a multiply-add in one form and not another. (A sum of two products of
runtime values can still be contracted differently, XLA expands ``log1p`` differently, and it
reassociates products of constants: the forms then differ by a rounding or two; see
``tests/test_properties.py::check_agreement``.)
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ._steps import as_count, as_float, float_dtype


def divmod_steps(t: jax.Array, n: Any) -> tuple[jax.Array, jax.Array]:
    """Exact ``(t // n, t % n)`` for integer steps; floor-based for float steps (n >= 1)."""
    n = as_count(n, t)
    n = jnp.where(n > 0, n, jnp.ones((), t.dtype))
    return jnp.floor_divide(t, n), jnp.remainder(t, n)


def promote_step(t: jax.Array, *lengths: Any) -> jax.Array:
    """The step in floating point when a length is a non-integral float, else `t` as it is.

    Integer lengths keep the integer arithmetic exact; a fractional one (``warmup_steps = 0.1 *
    total``, accepted by `_checks.length`) makes positions float arithmetic: float32 for int32
    steps (exact up to 2**24), float64 for int64 steps under x64.
    """
    if not jnp.issubdtype(t.dtype, jnp.integer):
        return t
    if not any(n is not None and jnp.issubdtype(jnp.result_type(n), jnp.floating)
               for n in lengths):
        return t
    return t.astype(jnp.float64 if t.dtype == jnp.int64 else jnp.float32)


def progress(t: jax.Array, n: Any) -> tuple[jax.Array, jax.Array]:
    """``(f, 1 − f)``, the fraction of a phase of `n` steps done at step `t` (held at 1 after).

    A phase of 0 steps is over before it starts: ``(1, 0)`` from step 0 on.
    """
    if isinstance(n, (int, float)) and n <= 0:  # known empty: no test in the program
        dtype = float_dtype(t)
        return jnp.ones(t.shape, dtype), jnp.zeros(t.shape, dtype)
    count = as_count(n, t)
    f, g = fractions(jnp.minimum(t, count), count, t)
    if isinstance(n, (int, float)):  # known non-empty: no test in the program
        return f, g
    empty = count == 0
    return jnp.where(empty, jnp.ones_like(f), f), jnp.where(empty, jnp.zeros_like(g), g)


def quotient(x: jax.Array, d: jax.Array) -> jax.Array:
    """``x / d`` as ``x * (1 / d)``, the same in every compiled form.

    XLA rewrites a division by a constant as a multiplication by its reciprocal in some programs
    and not in others (a `lax.scan` body, a scalar call and an array call of the same schedule
    were seen to differ by an ulp), so the schedules write the multiplication themselves. ``0 *
    r`` is exactly 0, so exact ends stay exact.
    """
    return x * (1 / d)


def complementary(f: jax.Array, g: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Two fractions ``f + g = 1``, each computed on its own, made exact at the ends.

    Each is a quotient (see `quotient`): neither is ``1 -`` the other, because XLA may fuse ``1 -
    x * r`` into one multiply-add in some compiled forms and not others (an ulp apart), and a
    fraction near 0 keeps its relative precision. ``n * (1/n)`` is not always 1 in float32, so
    where one fraction is exactly 0 the other is set to exactly 1.
    """
    one = jnp.ones_like(f)
    return jnp.where(g == 0, one, f), jnp.where(f == 0, one, g)


def fractions(done: jax.Array, total: jax.Array, t: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(done / total, (total - done) / total)`` in the value dtype; exact 0 and 1 at the ends.

    `total` must be positive; a zero `total` is read as 1 (see `progress` for empty phases).
    """
    dtype = float_dtype(t)
    total = jnp.where(total > 0, total, jnp.ones((), total.dtype))
    total_f = total.astype(dtype)
    left = total - done
    return complementary(quotient(done.astype(dtype), total_f),
                         quotient(left.astype(dtype), total_f))


def cos_weights(done: jax.Array, total: jax.Array, t: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(w, 1 - w)`` with ``w = (1 + cos(pi * done / total)) / 2``, each accurate to float32 ulps.

    Uses ``cos(pi f / 2)**2`` on the first half and ``sin(pi g / 2)**2`` on the second (f and g
    each computed from integers), and the mirror image for ``1 - w``, so the weights are exactly 1
    and 0 at ``done = 0``, exactly 0 and 1 at ``done = total``, and never lose relative precision
    near either end.
    """
    return cosine_pair(*fractions(done, total, t))


def cosine_pair(f: jax.Array, g: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``((1 + cos(pi f)) / 2, (1 - cos(pi f)) / 2)`` from ``f`` and ``g = 1 - f``: the cosine
    anneal's weights (for `mix`), each precise near 0 (see `half_cosine`)."""
    return half_cosine(f, g), half_cosine(g, f)


def half_cosine(f: jax.Array, g: jax.Array) -> jax.Array:
    """``(1 + cos(pi f)) / 2`` given both ``f`` and ``g = 1 - f`` (see `cos_weights`)."""
    return jnp.where(f <= g, jnp.cos(0.5 * jnp.pi * f) ** 2, jnp.sin(0.5 * jnp.pi * g) ** 2)


def mix(high: jax.Array, low: jax.Array, weights: tuple[jax.Array, jax.Array]) -> jax.Array:
    """``high * w + low * w_low`` for ``weights = (w, w_low)`` with ``w + w_low = 1``.

    Both weights are passed, each computed precisely (see `fractions`, `cos_weights`): with
    ``1 - w`` formed here instead, a value that rises from 0 would lose its relative precision
    near the start (``linear(0, 1, 10**8)`` at step 1 would be 0, not 1e-8). Exactly `high` at
    ``(1, 0)`` and exactly `low` at ``(0, 1)``.
    """
    w, w_low = weights
    return high * w + low * w_low


def one_minus_power(f: jax.Array, g: jax.Array, p: jax.Array) -> jax.Array:
    """``1 - g**p`` for ``g = 1 - f``, precise when it is small: ``-expm1(p · log1p(-f))``.

    Exactly 1 at ``g = 0``; the logarithm is kept finite there so gradients stay finite.
    """
    inside = g > 0
    safe_f = jnp.where(inside, f, jnp.zeros_like(f))
    return jnp.where(inside, -jnp.expm1(p * jnp.log1p(-safe_f)), jnp.ones_like(f))


def masked_at_zero(fn: Any, x: jax.Array) -> jax.Array:
    """``fn(x)`` for ``x >= 0`` with ``fn(0) = 0``, without evaluating `fn` at 0, where the
    derivative of a root or a power below 1 is infinite: the double-`where` rule, so that
    gradients stay finite where a phase's fraction is clamped to 0 (before a cooldown, after a
    warmup, at step 0)."""
    positive = x > 0
    return jnp.where(positive, fn(jnp.where(positive, x, jnp.ones_like(x))), jnp.zeros_like(x))


def log_of(x: Any, t: jax.Array) -> jax.Array:
    """``ln(x)`` in the value dtype, taken in float64 on the host when `x` is concrete."""
    if isinstance(x, jax.core.Tracer):
        return jnp.log(as_float(x, t))
    return jnp.asarray(np.log(np.asarray(x, np.float64)).astype(float_dtype(t)))


def power(base: Any, exponent: jax.Array, t: jax.Array) -> jax.Array:
    """``base ** exponent`` as ``exp(exponent · ln(base))`` for a positive hyperparameter `base`.

    ``ln(base)`` comes from float64 (see `log_of`), so a base near 1 raised to a large power keeps
    its precision: the relative error is about ``|ln(base ** exponent)| · 2**-23`` instead of
    ``exponent`` times float32's rounding of `base` (which is 6% at ``0.99999 ** 1e6``).
    """
    return jnp.exp(exponent.astype(float_dtype(t)) * log_of(base, t))


# Up to this many boundaries, `search` compares the step with all of them: over a million steps
# on CPU that is 2-5x faster than the binary search, and 200x slower from 64 boundaries on. (A
# B+-tree of 32-wide compares, tried too, compiled as fast for any n but ran 2x slower under vmap.)
_COMPARE_ALL = 32


def search(boundaries: Any, t: jax.Array) -> jax.Array:
    """The number of `boundaries` (sorted) that are ``<= t``, elementwise, as int32.

    That is ``searchsorted(boundaries, t, side="right")``: the index of the piece that is active at
    `t`. Up to `_COMPARE_ALL` boundaries, every boundary is compared with the step (vectorised,
    fastest for few). Beyond, a branch-free binary search over the boundaries padded to
    ``2**k > n`` entries: exactly ``k`` halvings, one gather and one compare each, written as a
    `lax.scan` that XLA unrolls. Either way the jaxpr's size does not depend on the number of
    boundaries, and the search stays fast under `vmap` (``jnp.searchsorted``'s default "scan" method
    runs a while loop, 3-4x slower over a million steps on CPU; "compare_all" is O(n) per step).
    """
    n = int(np.shape(boundaries)[0])
    if n == 0:
        return jnp.zeros(t.shape, jnp.int32)
    if n <= _COMPARE_ALL:
        row = as_count(boundaries, t).reshape((1,) * t.ndim + (n,))
        return jnp.sum(t[..., None] >= row, axis=-1, dtype=jnp.int32)
    k = n.bit_length()
    size = 1 << k
    if jnp.issubdtype(t.dtype, jnp.integer):
        pad: float = np.iinfo(np.dtype(t.dtype)).max
    else:
        pad = np.inf
    if isinstance(boundaries, np.ndarray):
        table: Any = np.full(size, pad, np.dtype(t.dtype))
        table[:n] = boundaries
        table = jnp.asarray(table)
    else:
        table = jnp.concatenate([as_count(boundaries, t), jnp.full(size - n, pad, t.dtype)])
    strides = np.array([1 << i for i in reversed(range(k))], np.int32)

    def halve(lo, stride):
        candidate = lo + stride
        bound = jnp.take(table, candidate - 1, mode="clip")
        return jnp.where(bound <= t, candidate, lo), None

    lo, _ = lax.scan(halve, jnp.zeros(t.shape, jnp.int32), strides, unroll=True)
    # Padding entries compare as reached only at the dtype's largest step, past every boundary.
    return jnp.minimum(lo, n)


def decimal_fraction(x: Any) -> Fraction:
    """A concrete scalar hyperparameter as the shortest decimal that prints it: the number a user
    who typed ``1.1`` means (11/10, not the binary float just above it)."""
    if isinstance(x, (int, np.integer)):
        return Fraction(int(x))
    scalar: Any = np.asarray(x)[()]
    return Fraction(np.format_float_positional(scalar, unique=True, trim="-"))


def exact_divmod(t: jax.Array, lengths: list[Any]) -> tuple[Any, Any, list[int]] | None:
    """Step `t` in a period made of concrete `lengths`, in integers: non-integral lengths are
    read as decimals (`decimal_fraction`) with a common denominator ``d``, and
    ``units = [n·d for n in lengths]``. Returns ``(q, r, units)``: `t` is ``r/d`` steps into
    period ``q`` (``t·d = q·P + r``, ``P = sum(units)``), from ``t = q'·P + r'`` and ``r'·d``.

    None for float steps, traced or array lengths, or ``P·d`` beyond the step type (then the
    positions are float arithmetic, as before).
    """
    if not jnp.issubdtype(t.dtype, jnp.integer) or any(
            isinstance(x, jax.core.Tracer) or np.ndim(x) for x in lengths):
        return None
    exact = [decimal_fraction(x) for x in lengths]
    d = math.lcm(*(x.denominator for x in exact))
    units = [int(x * d) for x in exact]
    period = sum(units)
    if period * d > np.iinfo(np.dtype(t.dtype)).max:
        return None
    q, r = divmod_steps(t, period)
    inside = r * d
    return q * d + inside // period, inside % period, units
