"""The curves of ramps and anneals, shared by `warmup`, `cooldown` and `warmup_stable_decay`.

Each shape is a curve ``D(f)`` that falls from 1 to 0 as the fraction ``f`` of the phase goes
from 0 to 1. An anneal from ``a`` to ``b`` is ``b + (a − b)·D(f)``; a warmup from ``v0`` up to
``v`` is the same curve run backwards, ``v0 + (v − v0)·D(1 − f)``, so that both ends are exact in
either direction:

=================  ===============================  ==========================================
shape              ``D(f)``                         ``1 − D(f)``, as computed
=================  ===============================  ==========================================
``linear``         ``1 − f``                        ``f``
``cosine``         ``(1 + cos πf)/2``               ``(1 − cos πf)/2``
``sqrt``           ``1 − √f``                       ``√f``
``square``         ``1 − f²``                       ``f²``
``mirror_cosine``  ``2(1 − f) − (1 + cos πf)/2``    ``2f − (1 − cos πf)/2``
``exponential``    geometric: ``a^{1−f}·b^f`` (``a, b > 0``)
``power``          ``(1 − f)^p`` (``p > 0``)          ``1 − (1 − f)^p``
=================  ===============================  ==========================================

"power" takes its exponent ``p`` from the constructor's ``power`` argument: a warmup rises as
``f^p`` (praxis's and TF Model Garden's polynomial warmups), a cooldown falls as ``(1 − f)^p``
(``polynomial_decay``'s curve). It is not "square" (``1 − f²``), which bends the other way.

Both weights ``D(f)`` and ``1 − D(f)`` are computed on their own from ``f`` and ``g = 1 − f``
(each exact from integer positions, see `_numerics.fractions`), never as ``1 −`` the other, so
each keeps its relative precision where it is small and the ends are exact: ``(1, 0)`` at
``f = 0`` and ``(0, 1)`` at ``f = 1``. These are the cooldown shapes compared by Hägele et al.
2024 (arXiv:2405.18392).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from . import _checks as check
from ._numerics import cosine_pair, masked_at_zero, mix, one_minus_power

SHAPES = ("linear", "cosine", "sqrt", "square", "mirror_cosine", "exponential", "power")


def _weights(shape: str, f: jax.Array, g: jax.Array,
             power: Any = None) -> tuple[jax.Array, jax.Array]:
    """``(D(f), 1 − D(f))`` for every shape but "exponential"."""
    if shape == "power":  # g**p, and 1 - g**p precise where it is small
        p = jnp.asarray(power, f.dtype)
        return masked_at_zero(lambda x: x**p, g), one_minus_power(f, g, p)
    if shape == "linear":
        return g, f
    if shape == "cosine":
        return cosine_pair(f, g)
    if shape == "sqrt":  # 1 - sqrt(f) = g / (1 + sqrt(f)): precise near f = 1
        root = masked_at_zero(jnp.sqrt, f)
        return g / (1 + root), root
    if shape == "square":  # 1 - f**2 = g (1 + f)
        return g * (1 + f), f * f
    if shape == "mirror_cosine":  # 2g - (1 + cos pi f)/2 and 2f - (1 - cos pi f)/2
        w, w_low = cosine_pair(f, g)
        return 2 * g - w, 2 * f - w_low
    raise ValueError(f"shape must be one of {SHAPES}, got shape={shape!r}")


def anneal(shape: str, start: jax.Array, end: jax.Array, f: jax.Array,
           g: jax.Array, power: Any = None) -> jax.Array:
    """The value a fraction ``f`` (with ``g = 1 − f``) of the way from `start` to `end`.

    ``end + (start − end)·D(f)``, computed as ``start·D(f) + end·(1 − D(f))``; exactly `start`
    at ``f = 0`` and `end` at ``f = 1``. "exponential" interpolates geometrically,
    ``start^g · end^f``, as two factors that stay between the ends (both must be > 0).
    "power" needs its exponent, `power`.
    """
    if shape == "exponential":
        geometric = jnp.exp(g * jnp.log(start)) * jnp.exp(f * jnp.log(end))
        return jnp.where(f == 0, start, jnp.where(g == 0, end, geometric))
    return mix(start, end, _weights(shape, f, g, power))


def rise(shape: str, start: jax.Array, end: jax.Array, f: jax.Array, g: jax.Array,
         power: Any = None) -> jax.Array:
    """A warmup: from `start` at ``f = 0`` up to `end` at ``f = 1``, the anneal run backwards.

    ``start + (end − start)·D(1 − f)``: "linear" is ``f``, "cosine" ``(1 − cos πf)/2``, "sqrt"
    ``1 − √(1 − f)`` (fast at first, as its anneal is slow at the end), "power" ``f^p``.
    """
    return anneal(shape, end, start, g, f, power)


def check_shape(shape: Any, name: str = "shape") -> str:
    """`shape` if it is one of `SHAPES`, else a ValueError naming it."""
    if not isinstance(shape, str) or shape not in SHAPES:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, SHAPES))}, "
                         f"got {name}={shape!r}")
    return shape


def check_power(shape: str, power: Any) -> Any:
    """The exponent of shape "power" (a number > 0), which no other shape takes."""
    if shape == "power":
        if power is None:
            raise ValueError("shape='power' needs its exponent: power=p (a number > 0), got "
                             "power=None")
        return check.positive("power", power)
    if power is not None:
        raise ValueError(f"power is the exponent of shape='power' only, got power={power!r} "
                         f"with shape={shape!r}")
    return None
