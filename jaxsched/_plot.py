"""`plot`: draw one or several schedules on a matplotlib axes.

matplotlib is an optional dependency (the ``plot`` extra); it is imported only when `plot` is
called, so ``import jaxsched`` never needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax.numpy as jnp
import numpy as np

from ._checks import INT32_MAX

__all__ = ["plot"]

MAX_POINTS = 10_000  # every step is drawn up to this many steps; beyond, this many sampled steps


def _require_matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError as e:
        raise ImportError(
            "jaxsched.plot needs matplotlib, which is not installed. Install the `plot` extra: "
            "pip install 'jaxsched[plot]' (or pip install matplotlib)."
        ) from e
    return matplotlib


def steps_to_draw(num_steps: int, start: int = 0, max_points: int = MAX_POINTS) -> np.ndarray:
    """The integer steps `plot` evaluates: every step of ``[start, num_steps)`` or an even sample.

    The last step ``num_steps - 1`` is always included.
    """
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)):
        raise TypeError(f"num_steps must be an int, got num_steps={num_steps!r}")
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)):
        raise TypeError(f"start must be an int, got start={start!r}")
    if not 0 <= start < num_steps <= INT32_MAX:
        raise ValueError(
            f"need 0 <= start < num_steps <= 2**31 - 1, got start={start}, num_steps={num_steps}"
        )
    if num_steps - start <= max_points:
        return np.arange(start, num_steps, dtype=np.int64)
    return np.unique(np.round(np.linspace(start, num_steps - 1, max_points)).astype(np.int64))


def evaluate(schedule: Callable[[Any], Any], steps: np.ndarray) -> np.ndarray:
    """The schedule's values at integer `steps`, as a float64 NumPy array (one vectorized call)."""
    values = np.asarray(schedule(jnp.asarray(steps, dtype=jnp.int32)), dtype=np.float64)
    if values.shape != steps.shape:  # a callable that ignores the shape of its step
        values = np.broadcast_to(values, steps.shape)
    return values


def _label(schedule: Any, width: int = 60) -> str:
    text = repr(schedule)
    return text if len(text) <= width else text[: width - 3] + "..."


def _default_range(items: list[tuple[Any, Any]]) -> int:
    """The largest horizon plus a tenth of it (at least one step), or a ValueError."""
    horizons = []
    for name, s in items:
        horizon = getattr(s, "horizon", None)
        if horizon is None:
            which = "the schedule" if name is None else f"schedules[{name!r}]"
            raise ValueError(f"num_steps is needed: {which} has no horizon (it is periodic or "
                             f"asymptotic, or not a jaxsched schedule)")
        horizons.append(horizon)
    longest = max(horizons)
    return longest + max(1, longest // 10)


def plot(
    schedules: Callable[[Any], Any] | Mapping[str, Callable[[Any], Any]],
    num_steps: int | None = None,
    ax: Any = None,
    *,
    start: int = 0,
    log_scale: bool = False,
    title: str | None = None,
    legend: bool | None = None,
    **line_kwargs: Any,
) -> Any:
    """Draws learning rate against step for one schedule or several on one matplotlib axes.

    Each schedule is evaluated in one vectorized call at the integer steps
    ``start, ..., num_steps - 1`` (every step up to 10,000 steps; beyond that, 10,000 steps
    evenly spread, the last one included, so a cycle shorter than ``num_steps / 10,000`` steps is
    drawn aliased). Lines are drawn as steps (``drawstyle="steps-post"``): the value at step
    ``t`` holds until step ``t + 1``, so a step decay shows its jumps exactly.

    Requires matplotlib (``pip install 'jaxsched[plot]'``); it is imported on the first call, and
    an `ImportError` saying so is raised without it.

    Args:
      schedules: a `Schedule` (or any callable ``step -> lr`` that accepts an array of steps), or
        a dict ``{name: schedule}`` drawn in order with the names in the legend.
      num_steps: draw steps below this number. By default, the largest `horizon` of the
        schedules plus a tenth of it (at least one step), so the value they settle at shows; a
        schedule without a horizon (periodic, asymptotic) needs `num_steps`.
      ax: the matplotlib axes to draw on; a new figure and axes when None.
      start: the first step drawn.
      log_scale: a logarithmic y axis (values <= 0 are not drawn there).
      title: the axes title; for a single schedule without `title` and without `label`, its
        repr (shortened) is the title.
      legend: draw a legend; by default only when `schedules` is a dict.
      **line_kwargs: passed to ``ax.plot`` for every line (``linewidth``, ``alpha``, ...).

    Returns:
      The axes.

    Example:
      >>> import matplotlib
      >>> matplotlib.use("Agg")
      >>> import jaxsched as js
      >>> ax = js.plot({"cosine": js.cosine_annealing(0.1, 100),
      ...               "step": js.step_decay(0.1, 30, 0.5)}, num_steps=120)
      >>> [line.get_label() for line in ax.get_lines()]
      ['cosine', 'step']
      >>> f"{ax.get_lines()[1].get_ydata()[-1]:.4f}"
      '0.0125'
      >>> import matplotlib.pyplot as plt
      >>> plt.close("all")
    """
    _require_matplotlib()
    many = isinstance(schedules, Mapping)
    items = list(schedules.items()) if isinstance(schedules, Mapping) else [(None, schedules)]
    if not items:
        raise ValueError("schedules is an empty dict; give at least one schedule")
    for name, s in items:
        if not callable(s):
            where = "schedules" if name is None else f"schedules[{name!r}]"
            raise TypeError(f"{where} must be a schedule (callable step -> lr), got {s!r}")
    if num_steps is None:
        num_steps = _default_range(items)
    steps = steps_to_draw(num_steps, start)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    line_kwargs.setdefault("drawstyle", "steps-post")
    for name, s in items:
        values = evaluate(s, steps)
        kwargs = dict(line_kwargs)
        if name is not None:
            kwargs.setdefault("label", str(name))
        ax.plot(steps, values, **kwargs)
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    if title is None and not many and "label" not in line_kwargs:
        title = _label(schedules)
    if title:
        ax.set_title(title, fontsize="medium")
    if legend if legend is not None else many:
        ax.legend(fontsize="small")
    return ax
