"""`optimize_schedule`: the schedule a fitted loss law predicts to end lowest (API.md §7).

The schedule is a linear warmup to the peak, then a piecewise-linear decay through `knots`
knots, closer together towards the end (where the best schedules of Luo et al. 2025 change
fastest). Monotone by construction: the knots' values are

.. math:: v_j = e + (p - e)\\,\\exp\\Bigl(-\\sum_{i \\le j} \\mathrm{softplus}(\\theta_i)\\Bigr),

non-increasing from the peak ``p`` towards the floor ``e`` (`end_value`, or 0). The law's
predicted loss at the last step is minimised over ``theta`` by L-BFGS, its gradient through
`LossLaw.predict` (one compiled loop), falling back on the best iterate (a failed line search
can step uphill, far: a fitted momentum law's search once went from 2.106 to 2.362, and
stayed there).

The search is also guarded by the simple schedules the knots can express: a constant, a cosine
and a linear decay to the floor, and warmup-stable-decay runs with linear and ``1 - sqrt``
cooldowns over 10-50 % of the decay, each sampled at the knots. When the law predicts one of
them to end lower than the L-BFGS result, L-BFGS starts again from it; the result is never
predicted worse than any of them.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._combinators import join, piecewise_linear
from ._decays import linear
from ._laws import LossLaw
from ._schedule import Schedule

__all__ = ["optimize_schedule"]


def _knot_steps(warmup_steps: int, steps: int, knots: int) -> np.ndarray:
    """Knot positions from the end of the warmup to the last step, denser towards the end."""
    u = np.linspace(0.0, 1.0, knots)
    span = steps - 1 - warmup_steps
    positions = warmup_steps + np.round(span * (1.0 - (1.0 - u) ** 2)).astype(np.int64)
    return np.unique(positions)


def _values(theta: jax.Array, peak: float, floor: float, monotone: bool,
            end_value: float | None) -> jax.Array:
    """The knots' values from the free parameters (see the module docstring)."""
    if monotone:
        drop = jnp.concatenate([jnp.zeros(1), jnp.cumsum(jax.nn.softplus(theta[1:]))])
        values = floor + (peak - floor) * jnp.exp(-drop)
    else:
        values = floor + (peak - floor) * jax.nn.sigmoid(theta)
    if end_value is not None:
        values = values.at[-1].set(end_value)
    return values


def _schedule(values: Any, knots: np.ndarray, peak: float, warmup_steps: int) -> Schedule:
    decay = piecewise_linear(knots - warmup_steps, values)
    if warmup_steps == 0:
        return decay
    return join([linear(0.0, peak, warmup_steps), decay], boundaries=[warmup_steps])


def _final_loss(law: LossLaw, knots: np.ndarray, steps: int, peak: float, warmup_steps: int,
                monotone: bool, end_value: float | None) -> Any:
    floor = 0.0 if end_value is None else end_value

    def final_loss(theta: jax.Array) -> jax.Array:
        values = _values(theta, peak, floor, monotone, end_value)
        return law.predict(_schedule(values, knots, peak, warmup_steps), steps - 1)

    return final_loss


@functools.partial(jax.jit, static_argnames=("knots", "steps", "warmup_steps", "monotone",
                                             "end_value", "iterations"))
def _minimise(law: LossLaw, theta: jax.Array, knots: tuple[int, ...], *, steps: int, peak: float,
              warmup_steps: int, monotone: bool, end_value: float | None, iterations: int
              ) -> tuple[jax.Array, jax.Array]:
    """L-BFGS from `theta`: its last iterate and predicted final loss, or the best iterate's
    where that is lower by more than 1e-6 of the loss (a step uphill, not rounding noise)."""
    final_loss = _final_loss(law, np.asarray(knots), steps, peak, warmup_steps, monotone,
                             end_value)
    optimizer = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(final_loss)

    def step(carry, _):
        theta, state, best, best_value = carry
        # optax's L-BFGS mixes int32 and int64 counters under x64: standard promotion for it.
        with jax.numpy_dtype_promotion("standard"):
            value, grad = value_and_grad(theta, state=state)
            updates, state = optimizer.update(grad, state, theta, value=value, grad=grad,
                                              value_fn=final_loss)
        better = value < best_value  # NaN is never better
        best, best_value = jnp.where(better, theta, best), jnp.where(better, value, best_value)
        return (optax.apply_updates(theta, updates), state, best, best_value), None

    start = (theta, optimizer.init(theta), theta, jnp.asarray(jnp.inf, theta.dtype))
    (theta, _, best, best_value), _ = jax.lax.scan(step, start, None, iterations)
    value = final_loss(theta)
    last = value <= best_value + 1e-6 * jnp.abs(best_value)
    return jnp.where(last, theta, best), jnp.where(last, value, best_value)


@functools.partial(jax.jit, static_argnames=("knots", "steps", "warmup_steps", "monotone",
                                             "end_value"))
def _losses(law: LossLaw, thetas: jax.Array, knots: tuple[int, ...], *, steps: int, peak: float,
            warmup_steps: int, monotone: bool, end_value: float | None) -> jax.Array:
    """The predicted final loss of each row of `thetas`."""
    return jax.vmap(_final_loss(law, np.asarray(knots), steps, peak, warmup_steps, monotone,
                                end_value))(thetas)


def _candidates(knots: np.ndarray, warmup_steps: int, steps: int, peak: float, floor: float,
                monotone: bool) -> np.ndarray:
    """theta of each simple schedule the knots can express (module docstring), one per row."""
    span = steps - 1 - warmup_steps
    f = (knots - warmup_steps) / span  # 0 at the peak, 1 at the last step
    shapes = [np.ones_like(f), 0.5 * (1 + np.cos(np.pi * f)), 1 - f]
    for fraction in (0.1, 0.2, 0.3, 0.5):
        g = np.clip((f - 1 + fraction) / fraction, 0.0, 1.0)
        shapes += [1 - g, 1 - np.sqrt(g)]
    ratio = np.clip(np.array(shapes), 1e-12, 1.0)  # (value - floor) / (peak - floor)
    if not monotone:
        ratio = np.minimum(ratio, 1 - 1e-12)
        return np.log(ratio) - np.log1p(-ratio)
    drop = np.maximum(np.diff(-np.log(ratio), axis=1), 1e-12)
    return np.concatenate([np.zeros((ratio.shape[0], 1)), np.log(np.expm1(drop))], axis=1)


def optimize_schedule(law: LossLaw, steps: int, *, peak_value: float, warmup_steps: int = 0,
                      end_value: float | None = None, monotone: bool = True, knots: int = 48,
                      iterations: int = 400) -> Schedule:
    """The schedule of `steps` steps that the law predicts to end at the lowest loss.

    A linear warmup from 0 to `peak_value` over `warmup_steps`, then a piecewise-linear decay
    through `knots` knots (closer together towards the end), non-increasing when `monotone`;
    its values minimise ``law.predict(schedule, steps - 1)`` by L-BFGS, never ending above the
    simple schedules the knots can express (a constant, a cosine or linear decay to the floor,
    warmup-stable-decay with a linear or ``1 - sqrt`` cooldown of 10-50 %). Monotone by
    construction: knot j has the value
    :math:`e + (p - e)\\exp(-\\sum_{i \\le j} \\mathrm{softplus}(\\theta_i))`, with p the peak and
    e the floor (`end_value`, or 0). What the law cannot see it cannot optimise: the result is
    as good as the law's extrapolation to this schedule (see the page "Predicting a schedule's
    loss").

    Args:
      law: a fitted `LossLaw`.
      steps: the run's length (the loss is minimised at step ``steps - 1``).
      peak_value: the rate reached at the end of the warmup, where the decay starts.
      warmup_steps: the warmup's length (0: start at the peak).
      end_value: the rate at the last step; None lets the search choose it (>= 0).
      monotone: keep the decay non-increasing (by construction); False allows any values in
        ``[end_value or 0, peak_value]``.
      knots: how many knots the decay has.
      iterations: L-BFGS's iterations.

    Returns:
      A jaxsched schedule (``join`` of a ``linear`` warmup and a ``piecewise_linear`` decay):
      plottable, saved by `to_config`, usable in optax.

    Example:
      >>> import jaxsched as js
      >>> law = js.LossLaw("momentum", {"L0": 3.07, "A": 0.49, "alpha": 0.57, "C": 0.4})
      >>> s = js.optimize_schedule(law, 2000, peak_value=1e-3, warmup_steps=100, knots=8,
      ...                          iterations=50)
      >>> f"{float(s(100)):.4f}", bool(s(1999) < s(100))
      ('0.0010', True)
    """
    if not isinstance(law, LossLaw):
        raise ValueError(f"law must be a LossLaw (see fit_loss_law), got {type(law).__name__}")
    steps, warmup_steps, knots, iterations = (
        _count(n, v, low) for n, v, low in (("steps", steps, 2), ("warmup_steps", warmup_steps, 0),
                                            ("knots", knots, 2), ("iterations", iterations, 1)))
    if warmup_steps > steps - 2:
        raise ValueError(f"warmup_steps must leave at least two steps to decay, got "
                         f"warmup_steps={warmup_steps} for steps={steps}")
    if not (np.isfinite(peak_value) and peak_value > 0):
        raise ValueError(f"peak_value must be a finite number > 0, got peak_value={peak_value!r}")
    if end_value is not None and not (0 <= end_value <= peak_value):
        raise ValueError(f"end_value must be in [0, peak_value], got end_value={end_value!r}")
    positions = _knot_steps(warmup_steps, steps, knots)
    floor = 0.0 if end_value is None else float(end_value)
    setting = dict(knots=tuple(positions.tolist()), steps=steps, peak=float(peak_value),
                   warmup_steps=warmup_steps, monotone=bool(monotone), end_value=end_value)
    # Start from a decay by 10x spread evenly over the knots (rounded to float32).
    theta = np.full(positions.size, np.float32(np.log(np.expm1(np.log(10.0) / positions.size))),
                    np.float64)
    with jax.enable_x64(True):
        theta, value = _minimise(law, jnp.asarray(theta), iterations=iterations, **setting)
        if floor < peak_value:
            simple = jnp.asarray(_candidates(positions, warmup_steps, steps, float(peak_value),
                                             floor, bool(monotone)))
            losses = _losses(law, simple, **setting)
            best = int(jnp.argmin(jnp.where(jnp.isnan(losses), jnp.inf, losses)))
            if losses[best] < value:  # restart from it (the result is then never worse)
                theta, _ = _minimise(law, simple[best], iterations=iterations, **setting)
    return _result(theta, positions, float(peak_value), warmup_steps, bool(monotone), end_value)


def _result(theta: Any, knots: np.ndarray, peak: float, warmup_steps: int, monotone: bool,
            end_value: float | None) -> Schedule:
    """The schedule of `theta`, its knots' values as Python floats."""
    floor = 0.0 if end_value is None else end_value
    with jax.enable_x64(True):
        values = np.asarray(_values(jnp.asarray(theta, jnp.float64), peak, floor, monotone,
                                    end_value))
    # A rate too small for float32 is 0, as a float32 schedule would make it (floor 0 only).
    values = np.where(values < np.finfo(np.float32).tiny, 0.0, values)
    return _schedule([float(v) for v in values], knots, peak, warmup_steps)


def _count(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {name}={value!r}")
    return int(value)
