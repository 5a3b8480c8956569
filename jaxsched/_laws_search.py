"""`optimize_schedule`: the schedule a fitted loss law predicts to end lowest (API.md §7).

The schedule is a linear warmup to the peak, then a piecewise-linear decay through `knots`
knots, closer together towards the end (where the best schedules of Luo et al. 2025 change
fastest). Monotone by construction: the knots' values are

.. math:: v_j = e + (p - e)\\,\\exp\\Bigl(-\\sum_{i \\le j} \\mathrm{softplus}(\\theta_i)\\Bigr),

non-increasing from the peak ``p`` towards the floor ``e`` (`end_value`, or 0). The law's
predicted loss at the last step is minimised over ``theta`` by L-BFGS, its gradient through
`LossLaw.predict` (one compiled loop).
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


@functools.partial(jax.jit, static_argnames=("knots", "steps", "warmup_steps", "monotone",
                                             "end_value", "iterations"))
def _minimise(law: LossLaw, theta: jax.Array, knots: tuple[int, ...], *, steps: int, peak: float,
              warmup_steps: int, monotone: bool, end_value: float | None, iterations: int
              ) -> tuple[jax.Array, jax.Array]:
    floor = 0.0 if end_value is None else end_value

    def final_loss(theta: jax.Array) -> jax.Array:
        values = _values(theta, peak, floor, monotone, end_value)
        schedule = _schedule(values, np.asarray(knots), peak, warmup_steps)
        return law.predict(schedule, steps - 1)

    optimizer = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(final_loss)

    def step(carry, _):
        theta, state = carry
        # optax's L-BFGS mixes int32 and int64 counters under x64: standard promotion for it.
        with jax.numpy_dtype_promotion("standard"):
            value, grad = value_and_grad(theta, state=state)
            updates, state = optimizer.update(grad, state, theta, value=value, grad=grad,
                                              value_fn=final_loss)
        return (optax.apply_updates(theta, updates), state), value

    (theta, _), history = jax.lax.scan(step, (theta, optimizer.init(theta)), None, iterations)
    return theta, history


def optimize_schedule(law: LossLaw, steps: int, *, peak_value: float, warmup_steps: int = 0,
                      end_value: float | None = None, monotone: bool = True, knots: int = 48,
                      iterations: int = 400) -> Schedule:
    """The schedule of `steps` steps that the law predicts to end at the lowest loss.

    A linear warmup from 0 to `peak_value` over `warmup_steps`, then a piecewise-linear decay
    through `knots` knots (closer together towards the end), non-increasing when `monotone`;
    its values minimise ``law.predict(schedule, steps - 1)`` by L-BFGS. Monotone by
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
    # Start from a decay by 10x spread evenly over the knots.
    theta = jnp.full(positions.size, float(np.log(np.expm1(np.log(10.0) / positions.size))))
    with jax.enable_x64(True):
        theta, _ = _minimise(law, theta.astype(jnp.float64), tuple(positions.tolist()),
                             steps=steps, peak=float(peak_value), warmup_steps=warmup_steps,
                             monotone=bool(monotone), end_value=end_value,
                             iterations=iterations)
        floor = 0.0 if end_value is None else float(end_value)
        values = np.asarray(_values(theta, float(peak_value), floor, bool(monotone), end_value))
    return _schedule([float(v) for v in values], positions, float(peak_value), warmup_steps)


def _count(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {name}={value!r}")
    return int(value)
