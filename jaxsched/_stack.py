"""`stack`: schedules of one structure as one schedule with batched hyperparameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import is_traced
from ._schedule import Schedule

__all__ = ["stack"]


def stack(schedules: Sequence[Schedule]) -> Schedule:
    """Schedules of one structure as one schedule whose hyperparameters have a leading axis.

    A schedule is a pytree whose leaves are its numeric hyperparameters, so a training run that
    takes the schedule as an argument can be `jax.vmap`-ed over the stacked schedule: K runs with
    K peak values, warmup lengths or cooldown starts in one compiled program (a sweep in one
    compile; see the docs' "Sweeps" page). Leaf ``i`` of the result is
    ``[leaf i of schedules[0], leaf i of schedules[1], ...]`` in the leaves' common dtype (int32
    for integer lengths, float32 for values, as JAX holds them; int64/float64 under x64).

    Call the stacked schedule under `jax.vmap` (``in_axes=0`` for it): inside, each run sees
    scalar hyperparameters, computed as for a schedule passed to `jax.jit` as an argument (traced
    hyperparameters; a value may differ from the closed-over schedule's by float32 round-off).
    Called directly, it is not a batch of schedules. Its `horizon` is one int (or None): a step
    from which no run's value changes, at least the latest of the runs' horizons (later where
    the runs differ in several lengths: each is taken at its largest, a `shift` at its
    smallest).

    Args:
      schedules: a non-empty sequence of schedules with the same structure: the same kinds
        (constructors) nested the same way, the same static arguments (modes, shapes, number of
        pieces) and hyperparameters of the same shapes.

    Returns:
      The stacked schedule.

    Raises:
      ValueError: if ``schedules`` is empty, holds something that is not a schedule, or two
        schedules differ in structure; the message names the first differing position.

    Example:
      >>> import jax
      >>> import jaxsched as js
      >>> runs = [js.warmup(js.cosine_annealing(peak, 90), 10) for peak in (0.1, 0.2, 0.4)]
      >>> batch = js.stack(runs)
      >>> values = jax.jit(jax.vmap(lambda s: s(20)))(batch)
      >>> [f"{float(v):.4f}" for v in values]
      ['0.0970', '0.1940', '0.3879']
    """
    if isinstance(schedules, Schedule) or not isinstance(schedules, Sequence) or not schedules:
        raise ValueError(f"schedules must be a non-empty list of schedules, got "
                         f"schedules={schedules!r}")
    for i, s in enumerate(schedules):
        if not isinstance(s, Schedule):
            raise ValueError(f"schedules[{i}] must be a Schedule, got {type(s).__name__}: {s!r}")
    first, treedef = jax.tree_util.tree_flatten_with_path(schedules[0])
    columns: list[list[Any]] = [[x] for _, x in first]
    for i, s in enumerate(schedules[1:], start=1):
        leaves, other = jax.tree_util.tree_flatten(s)
        if cast(Any, other) != treedef:  # (mypy does not see PyTreeDef's comparisons)
            where = _first_difference(schedules[0], s, "") or " (their pytree structures differ)"
            raise ValueError(f"schedules must have one structure to be stacked: schedules[{i}] "
                             f"differs from schedules[0] at {where}")
        for (path, x0), x, column in zip(first, leaves, columns):
            if np.shape(x) != np.shape(x0):
                raise ValueError(
                    f"schedules must have one structure to be stacked: schedules[{i}] differs "
                    f"from schedules[0] at {jax.tree_util.keystr(path)}: shape {np.shape(x0)} vs "
                    f"{np.shape(x)}")
            column.append(x)
    return jax.tree_util.tree_unflatten(treedef, [_stack_leaf(c) for c in columns])


def _stack_leaf(column: list[Any]) -> jax.Array:
    """One hyperparameter of every schedule, stacked in the values' common dtype."""
    if not any(is_traced(x) for x in column):
        stacked = np.stack([np.asarray(x) for x in column])
        # Cast on the host, then transfer: `jnp.asarray` would compile a conversion.
        return jax.device_put(stacked.astype(jax.dtypes.canonicalize_dtype(stacked.dtype)))
    arrays = [jnp.asarray(x) for x in column]
    dtype = np.result_type(*[a.dtype for a in arrays])
    return jnp.stack([a.astype(dtype) for a in arrays])


def _first_difference(a: Any, b: Any, path: str) -> str | None:
    """Where two pytrees of schedules first differ in structure, as ``path: what vs what``.

    Two leaves (numbers, arrays) never differ in structure; their shapes are checked apart.
    """
    if not (_is_node(a) or _is_node(b)):
        return None
    if type(a) is not type(b):
        return f"{path or 'the top'}: {_describe(a)} vs {_describe(b)}"
    if isinstance(a, Schedule):
        for name in a.params:
            va, vb = a._argument(name), b._argument(name)
            if name in a.static:
                if va is not vb and va != vb:
                    return f"{path}.{name}: {va!r} vs {vb!r}"
            else:
                found = _first_difference(va, vb, f"{path}.{name}")
                if found:
                    return found
    elif isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} entries"
        for k, (x, y) in enumerate(zip(a, b)):
            found = _first_difference(x, y, f"{path}[{k}]")
            if found:
                return found
    return None


def _is_node(x: Any) -> bool:
    return x is None or isinstance(x, (Schedule, list, tuple))


def _describe(x: Any) -> str:
    if isinstance(x, Schedule):
        return x.kind
    if x is None:
        return "None"
    return type(x).__name__
