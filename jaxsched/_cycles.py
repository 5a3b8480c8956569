"""Cosine annealing and cyclical rates (`cosine_annealing`, `cyclic`); SGDR's warm restarts
are `_sgdr`'s, the one-cycle policy `_one_cycle`'s.

Step ``t`` counts optimizer updates from 0; the value at ``t`` equals the PyTorch learning rate
after ``t`` calls of ``scheduler.step()``. Steps below 0 act as step 0. Cycle positions are
computed on integers before they become float fractions (see `_numerics`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks as check
from ._fields import field
from ._numerics import (
    cosine_pair,
    divmod_steps,
    exact_divmod,
    fractions,
    masked_at_zero,
    mix,
    one_minus_power,
    power,
    progress,
    promote_step,
)
from ._registry import moved
from ._schedule import Schedule, as_count, as_float, register, renamed, step_count

__all__ = ["cosine_annealing", "cyclic"]


# -- cosines ---------------------------------------------------------------------------------------


class _CosineAnnealing(Schedule, kind="cosine_annealing"):
    init_value: ArrayLike
    steps: ArrayLike
    end_value: ArrayLike
    k: ArrayLike

    def _at(self, t: jax.Array) -> jax.Array:
        t = promote_step(t, self.steps)
        weights = _k_decay(*progress(t, self.steps), self.k)
        return mix(as_float(self.init_value, t), as_float(self.end_value, t), weights)

    def _horizon(self) -> int | None:
        return step_count(self.steps)


def _k_decay(f: jax.Array, g: jax.Array, k: Any) -> tuple[jax.Array, jax.Array]:
    """The cosine weights ``(1 ± cos(π f^k))/2`` (timm's k-decay), each precise."""
    if not check.is_traced(k) and np.all(np.asarray(k) == 1):
        return cosine_pair(f, g)
    p = jnp.asarray(k, f.dtype)
    fk, gk = masked_at_zero(lambda x: x**p, f), one_minus_power(g, f, p)  # f**k, 1 - f**k
    return cosine_pair(fk, gk)


@register
@renamed(max_lr="init_value", cycle_length="steps", min_lr="end_value")
def cosine_annealing(init_value: ArrayLike, steps: ArrayLike, end_value: ArrayLike = 0.0,
                     k: ArrayLike = 1.0) -> Schedule:
    """Cosine annealing from `init_value` to `end_value` over `steps` steps, then `end_value`.

    .. math:: \\eta_t = v_1 + (v_0 - v_1)\\,
              \\frac{1 + \\cos\\big(\\pi\\,(\\min(t, T) / T)^k\\big)}{2}

    The closed form of ``torch.optim.lr_scheduler.CosineAnnealingLR`` for ``t <= T`` (PyTorch
    continues periodically past ``T``; this holds `end_value`, as ``optax.cosine_decay_schedule``
    does; use `sgdr` for restarts). ``k`` is timm's k-decay (``CosineLRScheduler(k_decay=k)``,
    Zhang & Li 2020, arXiv:2004.05909): ``k > 1`` stays high longer, ``k < 1`` falls sooner.
    Both ends are exact; ``steps=0`` is `end_value` from step 0.

    Args:
      init_value: ``v_0``, value at step 0.
      steps: ``T`` >= 0 (an integer, or a non-integral float computed in float arithmetic).
      end_value: ``v_1``, value from step ``T`` on, <= `init_value`.
      k: the k-decay exponent, > 0.

    Returns:
      The schedule.

    References:
      Loshchilov & Hutter, SGDR: Stochastic Gradient Descent with Warm Restarts,
      arXiv:1608.03983.

    Example:
      >>> import jaxsched as js
      >>> s = js.cosine_annealing(1.0, steps=4)
      >>> [f"{float(s(t)):.4f}" for t in range(6)]
      ['1.0000', '0.8536', '0.5000', '0.1464', '0.0000', '0.0000']
    """
    init_value = check.real("init_value", init_value)
    end_value = check.real("end_value", end_value)
    check.ordered(end_value, init_value, "end_value", "init_value")
    return _CosineAnnealing(init_value=init_value, steps=check.length("steps", steps),
                            end_value=end_value, k=check.positive("k", k))


def _is_float(x: Any) -> bool:
    return bool(jnp.issubdtype(jnp.result_type(x), jnp.floating))



# -- cyclical rates --------------------------------------------------------------------------------


class _Cyclic(Schedule, kind="cyclic"):
    min_value: ArrayLike
    max_value: ArrayLike
    up_steps: ArrayLike
    down_steps: ArrayLike | None
    mode: str = field(static=True)
    gamma: ArrayLike

    def _at(self, t: jax.Array) -> jax.Array:
        down_steps = self.up_steps if self.down_steps is None else self.down_steps
        exact = None
        if _is_float(self.up_steps) or _is_float(down_steps):  # positions in 1/d steps
            exact = exact_divmod(t, [self.up_steps, down_steps])
        step, t = t, promote_step(t, self.up_steps, self.down_steps)
        if exact is not None:
            cycle, p, units = exact
            up, down = (as_count(u, step) for u in units)
        else:
            up, down = as_count(self.up_steps, t), as_count(down_steps, t)
            cycle, p = divmod_steps(t, up + down)
        rising = fractions(p, up, t)  # p / up and its complement (`t`: the value's dtype)
        fallen, falling = fractions(p - up, down, t)  # (up + down - p) / down is `falling`
        on_the_way_up = p <= up
        weights = (jnp.where(on_the_way_up, rising[0], falling),
                   jnp.where(on_the_way_up, rising[1], fallen))
        base, high = as_float(self.min_value, t), as_float(self.max_value, t)
        if self.mode != "triangular":  # the amplitude shrinks: the top is base + (high - base) s
            s = power(0.5, cycle, t) if self.mode == "triangular2" else power(self.gamma, t, t)
            high = mix(high, base, (s, 1 - s))
        return mix(high, base, weights)


@register
@renamed(base_lr="min_value", max_lr="max_value", step_size_up="up_steps",
         step_size_down="down_steps")
def cyclic(min_value: ArrayLike, max_value: ArrayLike, up_steps: ArrayLike,
           down_steps: ArrayLike | None = None, mode: str = "triangular",
           gamma: ArrayLike = 1.0) -> Schedule:
    """Cyclical rate: up from `min_value` to `max_value` and back down, repeatedly.

    With ``u`` steps up, ``d`` steps down, cycle ``c = ⌊t/(u+d)⌋`` and position
    ``p = t mod (u+d)``:

    .. math:: \\eta_t = b + (M - b)\\, s \\cdot \\begin{cases} p/u & p \\le u \\\\
              (u + d - p)/d & p > u \\end{cases}

    where the amplitude scale ``s`` is 1 ("triangular"), ``2^{-c}`` ("triangular2") or
    ``gamma^t`` ("exp_range"). Matches ``torch.optim.lr_scheduler.CyclicLR`` (``base_lr``,
    ``max_lr``, ``step_size_up``, ``step_size_down``). Periodic forever: no horizon.

    Args:
      min_value: the lower bound.
      max_value: the upper bound of the first cycle, >= `min_value`.
      up_steps: steps from `min_value` to `max_value`, >= 1 (an integer, or a non-integral
        float, read as the decimal it prints as: positions stay exact integers in units of the
        lengths' common denominator while the cycle in those units fits int32, else they are
        float arithmetic).
      down_steps: steps back down, >= 0 (default: `up_steps`); a whole cycle is at most
        2**31 - 1 steps.
      mode: "triangular", "triangular2" or "exp_range".
      gamma: the per-step amplitude factor of "exp_range", in (0, 1].

    Returns:
      The schedule.

    References:
      Smith, Cyclical Learning Rates for Training Neural Networks, arXiv:1506.01186.

    Example:
      >>> import jaxsched as js
      >>> s = js.cyclic(0.0, 1.0, up_steps=2, mode="triangular2")
      >>> [f"{float(s(t)):.2f}" for t in range(9)]
      ['0.00', '0.50', '1.00', '0.50', '0.00', '0.25', '0.50', '0.25', '0.00']
    """
    min_value = check.real("min_value", min_value)
    max_value = check.real("max_value", max_value)
    check.ordered(min_value, max_value, "min_value", "max_value")
    up_steps = check.length("up_steps", up_steps, low=1)
    if down_steps is not None:
        down_steps = check.length("down_steps", down_steps)
    down = up_steps if down_steps is None else down_steps
    if not (check.is_traced(up_steps) or check.is_traced(down)) and \
            float(np.max(up_steps)) + float(np.max(down)) > 2**31 - 1:
        raise ValueError(
            "up_steps + down_steps (a cycle) must be at most 2**31 - 1, got "
            f"up_steps={up_steps!r}, down_steps={down_steps!r}")
    return _Cyclic(
        min_value=min_value,
        max_value=max_value,
        up_steps=up_steps,
        down_steps=down_steps,
        mode=check.choice("mode", mode, ("triangular", "triangular2", "exp_range")),
        gamma=check.real("gamma", gamma, low=0.0, low_open=True, high=1.0),
    )


if not TYPE_CHECKING:  # 1.0 pickles name these classes jaxsched._cycles._SGDR, ...
    __getattr__ = moved(__name__, {"_SGDR": "._sgdr", "_OneCycle": "._one_cycle",
                                   "_OneCycleMomentum": "._one_cycle"})
