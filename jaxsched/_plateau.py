"""Reduce on plateau: an optax transformation that scales updates down when a metric stalls.

This is the one schedule that takes feedback from training. Its state carries the best value seen,
the count of bad observations, the cooldown counter and the current scale; `update` multiplies the
updates by the scale, so it sits in `optax.chain` after any optimizer or schedule::

    optax.chain(optax.adam(schedule), reduce_on_plateau(patience=5))  # lr(t) = schedule(t) * scale
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import _checks

__all__ = ["PlateauState", "plateau_scale", "reduce_on_plateau"]


class PlateauState(NamedTuple):
    """The state of `reduce_on_plateau`: JAX scalars with fixed dtypes.

    Attributes:
      scale: float32, the factor applied to the updates (1 at the start, never increases).
      best_value: float32, the best observation so far; +inf ("min") or -inf ("max") until the
        first finite observation.
      wait: int32, bad observations since the last improvement or reduction (PyTorch's
        ``num_bad_epochs``); always in ``[0, patience]`` between updates.
      cooldown_count: int32, observations left in the cooldown after a reduction (PyTorch's
        ``cooldown_counter``); in ``[0, cooldown]``.
      count: int32, updates seen in the current accumulation window; in
        ``[0, accumulation_steps)``.
      accumulated_value: float32, the sum of the values seen in the current window.

    Every counter is bounded by a hyperparameter, so none can overflow however long training runs.
    The state is a plain pytree of arrays: it checkpoints as is (e.g. ``jax.tree.map(np.asarray,
    state)`` and back) and is replicated when placed on several devices.
    """

    scale: jax.Array
    best_value: jax.Array
    wait: jax.Array
    cooldown_count: jax.Array
    count: jax.Array
    accumulated_value: jax.Array


def _f32(x: Any) -> jax.Array:
    return jnp.asarray(x).astype(jnp.float32)


def _i32(x: Any) -> jax.Array:
    return jnp.asarray(x).astype(jnp.int32)


def _metric(value: Any) -> jax.Array:
    """The value passed to `update` as a float32 scalar, or a clear error."""
    if value is None:
        raise TypeError(
            "reduce_on_plateau needs the metric: call update(updates, state, params, value=loss)"
        )
    v = jnp.asarray(value)
    if v.shape != ():
        raise ValueError(f"value must be a scalar, got an array of shape {v.shape}")
    if v.dtype == jnp.bool_ or not (
        jnp.issubdtype(v.dtype, jnp.integer) or jnp.issubdtype(v.dtype, jnp.floating)
    ):
        raise TypeError(f"value must be a real number, got dtype {v.dtype}")
    return v.astype(jnp.float32)


def reduce_on_plateau(
    factor: jax.typing.ArrayLike = 0.1,
    patience: jax.typing.ArrayLike = 10,
    threshold: jax.typing.ArrayLike = 1e-4,
    threshold_mode: str = "rel",
    mode: str = "min",
    cooldown: jax.typing.ArrayLike = 0,
    min_scale: jax.typing.ArrayLike = 0.0,
    accumulation_steps: jax.typing.ArrayLike = 1,
) -> optax.GradientTransformationExtraArgs:
    r"""Scales the updates down by `factor` when a metric has stopped improving.

    The decisions are those of PyTorch's ``ReduceLROnPlateau.step(metric)``, one observation at a
    time, with the learning rate replaced by a scale that starts at 1. Pass the metric (usually
    the loss) to every update as ``value=``; every `accumulation_steps` updates, the mean of the
    values seen is one observation :math:`v` (one PyTorch "epoch"), judged against the best
    observation :math:`b` so far:

    .. math::

        \text{improved} =
        \begin{cases}
          v < b - |b|\,\theta & \text{mode "min", threshold_mode "rel"} \\
          v < b - \theta & \text{mode "min", threshold_mode "abs"} \\
          v > b + |b|\,\theta & \text{mode "max", threshold_mode "rel"} \\
          v > b + \theta & \text{mode "max", threshold_mode "abs"}
        \end{cases}

    with :math:`\theta` = `threshold`. Then, in this order (PyTorch's order):

    1. if improved: :math:`b \leftarrow v`, ``wait`` :math:`\leftarrow 0`; else
       ``wait`` :math:`\leftarrow` ``wait`` + 1;
    2. if ``cooldown_count`` > 0: ``cooldown_count`` -= 1 and ``wait`` :math:`\leftarrow 0`;
    3. if ``wait`` > `patience`: reduce,
       :math:`s \leftarrow \max(s \cdot \text{factor}, \text{min_scale})`, and
       ``cooldown_count`` :math:`\leftarrow` `cooldown`, ``wait`` :math:`\leftarrow 0`.

    The updates are multiplied by the scale after this update's value has been taken into account
    (as ``optax.contrib.reduce_on_plateau`` does), so after :math:`n` observations the scale
    equals PyTorch's ``lr / base_lr`` after :math:`n` calls of ``scheduler.step(metric)``.

    Where this differs from PyTorch, on purpose:

    * The "rel" test uses :math:`|b|`, so negative metrics (log-likelihoods) work; PyTorch
      multiplies by :math:`b` and gets the sign wrong for negative metrics (pytorch#38622). For
      positive metrics the two are the same test.
    * A non-finite value (NaN, +inf or -inf) is never an improvement and never becomes the best:
      it is a bad observation. PyTorch agrees for NaN and for an infinity in the bad direction,
      but would take -inf in "min" mode (+inf in "max" mode) as its best forever.
    * The first finite observation always becomes the best (PyTorch's initial best is
      :math:`\pm\infty`; its "rel" test with threshold >= 1 would never leave it).
    * The floor: a reduction gives exactly :math:`\max(s \cdot \text{factor}, \text{min_scale})`
      (PyTorch's ``max(old_lr * factor, min_lr)`` with ``min_lr = min_scale * base_lr``); once the
      scale is at `min_scale`, further reductions leave it there, and the cooldown still restarts.
      PyTorch's `eps` (ignore lr changes smaller than eps, default 1e-8) has no counterpart:
      every reduction above the floor is applied, as in PyTorch with ``eps=0``.
    * Arithmetic is float32 (values, best, scale). The test is evaluated as
      :math:`b - v > |b|\,\theta` (:math:`v - b` in "max" mode; :math:`\theta` in "abs"
      mode), the difference and the margin each rounded once to float32 (the difference is
      exact when :math:`v` is within a factor of 2 of :math:`b`). In this form no product
      feeds a sum, so XLA cannot fuse it into a multiply-add (one rounding where eager mode
      rounds twice), and eager and jitted runs take the same decisions at the bound. The
      decisions equal PyTorch's float64 ones except for values within float32 rounding of the
      threshold, and the scale after :math:`k` reductions is within :math:`2k` float32
      roundings of PyTorch's ratio (the factor and each product are rounded). A scale below
      float32's smallest normal number (~1.2e-38) may be flushed to 0 (XLA on CPU does).

    Everything runs in JAX (`jnp.where`, no host round trip, no retracing); numeric
    hyperparameters may be JAX arrays, even traced ones, so the transformation works under
    `jax.vmap` and with `optax.inject_hyperparams`. Extra keyword arguments to `update` other
    than `value` are ignored, so it composes under `optax.chain`.

    Args:
      factor: the scale is multiplied by this on a reduction; in (0, 1).
      patience: bad observations tolerated; the scale is reduced at the ``patience + 1``-th
        consecutive one. An integer >= 0.
      threshold: how much better than the best an observation must be to count as an
        improvement; >= 0.
      threshold_mode: "rel" (a fraction of :math:`|b|`) or "abs" (in the metric's units).
      mode: "min" (lower is better, a loss) or "max" (higher is better, an accuracy).
      cooldown: observations after a reduction during which bad observations are not counted.
        An integer >= 0.
      min_scale: the floor of the scale, in [0, 1].
      accumulation_steps: updates per observation; the observation is the mean of their
        values. An integer >= 1 (1: every update's value is an observation).

    Returns:
      An `optax.GradientTransformationExtraArgs` whose ``update(updates, state, params=None, *,
      value)`` returns the updates times the scale and the new `PlateauState`. A missing `value`
      raises `TypeError`.

    Example:
      >>> import jax.numpy as jnp
      >>> import jaxsched as js
      >>> tx = js.reduce_on_plateau(factor=0.5, patience=1)
      >>> state = tx.init(jnp.zeros(2))
      >>> for loss in [1.0, 0.9, 0.95, 0.92, 0.91, 0.95]:
      ...     updates, state = tx.update(jnp.ones(2), state, value=loss)
      ...     print(f"{float(updates[0]):.4f}")
      1.0000
      1.0000
      1.0000
      0.5000
      0.5000
      0.2500

    References:
      PyTorch ``torch.optim.lr_scheduler.ReduceLROnPlateau``; pytorch/pytorch#38622 (the sign
      of the relative threshold for negative metrics).
    """
    factor = _checks.real("factor", factor, low=0.0, high=1.0, low_open=True, high_open=True)
    patience = _checks.integer("patience", patience, low=0)
    threshold = _checks.nonnegative("threshold", threshold)
    threshold_mode = _checks.choice("threshold_mode", threshold_mode, ("rel", "abs"))
    mode = _checks.choice("mode", mode, ("min", "max"))
    cooldown = _checks.integer("cooldown", cooldown, low=0)
    min_scale = _checks.real("min_scale", min_scale, low=0.0, high=1.0)
    accumulation_steps = _checks.positive_int("accumulation_steps", accumulation_steps)
    worst = jnp.inf if mode == "min" else -jnp.inf
    # Every value is an observation: the window's fields stay 0 and pass through, so the compiled
    # step has no work for them.
    every_value = (not _checks.is_traced(accumulation_steps)
                   and bool(np.all(np.asarray(accumulation_steps) == 1)))

    def init_fn(params: Any) -> PlateauState:
        del params
        return PlateauState(
            scale=jnp.ones((), jnp.float32),
            best_value=jnp.full((), worst, jnp.float32),
            wait=jnp.zeros((), jnp.int32),
            cooldown_count=jnp.zeros((), jnp.int32),
            count=jnp.zeros((), jnp.int32),
            accumulated_value=jnp.zeros((), jnp.float32),
        )

    def observe(state: PlateauState, v: jax.Array) -> PlateauState:
        """One PyTorch ``step(v)``."""
        best, wait, cooldown_count = state.best_value, state.wait, state.cooldown_count
        margin = jnp.abs(best) * _f32(threshold) if threshold_mode == "rel" else _f32(threshold)
        # v < best - margin written as (best - v) > margin: no product feeds a sum, so XLA
        # cannot fuse `best - |best| * threshold` into a multiply-add (one rounding under jit,
        # two in eager mode), and every way of running takes the same decision at the bound.
        gain = best - v if mode == "min" else v - best
        beats = gain > margin
        # best is infinite only before the first finite observation (it never becomes
        # non-finite later), when `gain` and `margin` may be infinite or NaN.
        improved = jnp.isfinite(v) & (jnp.isinf(best) | beats)
        in_cooldown = cooldown_count > 0
        # wait + 1 > patience  <=>  wait >= patience, written so that wait + 1 never overflows.
        reduce = ~improved & ~in_cooldown & (wait >= _i32(patience))
        lowered = jnp.maximum(state.scale * _f32(factor), _f32(min_scale))
        return state._replace(
            scale=jnp.where(reduce, jnp.minimum(lowered, state.scale), state.scale),
            best_value=jnp.where(improved, v, best),
            wait=jnp.where(improved | in_cooldown | reduce, jnp.zeros_like(wait), wait + 1),
            cooldown_count=jnp.where(
                reduce,
                _i32(cooldown),
                jnp.where(in_cooldown, cooldown_count - 1, cooldown_count),
            ),
        )

    def update_fn(
        updates: optax.Updates,
        state: PlateauState,
        params: optax.Params | None = None,
        *,
        value: Any = None,
        **extra_args: Any,
    ) -> tuple[optax.Updates, PlateauState]:
        del params, extra_args
        v = _metric(value)
        if every_value:
            new_state = observe(state, v)
        else:
            count = state.count + 1
            total = state.accumulated_value + v
            ready = count >= _i32(accumulation_steps)
            observed = observe(state, total / count.astype(jnp.float32))
            new_state = jax.tree.map(lambda new, old: jnp.where(ready, new, old), observed, state)
            new_state = new_state._replace(
                count=jnp.where(ready, jnp.zeros_like(count), count),
                accumulated_value=jnp.where(ready, jnp.zeros_like(total), total),
            )
        scale = new_state.scale
        updates = jax.tree.map(lambda u: u * scale.astype(jnp.asarray(u).dtype), updates)
        return updates, new_state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def _is_plateau_state(x: Any) -> bool:
    return isinstance(x, PlateauState)


def plateau_scale(opt_state: Any) -> jax.Array:
    """The current scale of the `reduce_on_plateau` state inside an optax state.

    Searches the whole state tree (`optax.chain`, `optax.multi_transform`,
    `optax.inject_hyperparams`, ...) for the one `PlateauState`. The effective learning rate of
    the last update is ``schedule(step) * plateau_scale(opt_state)``.

    Args:
      opt_state: an optax optimizer state (any pytree) holding exactly one `PlateauState`.

    Returns:
      Its ``scale`` as a `jax.Array`: a float32 scalar (batched if the state is).

    Raises:
      ValueError: if the tree holds no `PlateauState`, or several (then pick one yourself, e.g.
        with ``optax.tree_utils.tree_get_all_with_path(opt_state, "scale")``).

    Example:
      >>> import jax.numpy as jnp
      >>> import optax
      >>> import jaxsched as js
      >>> opt = optax.chain(optax.adam(1e-3), js.reduce_on_plateau())
      >>> f"{float(js.plateau_scale(opt.init(jnp.zeros(3)))):.4f}"
      '1.0000'
    """
    found = [
        x for x in jax.tree.leaves(opt_state, is_leaf=_is_plateau_state) if _is_plateau_state(x)
    ]
    if len(found) != 1:
        what = "no PlateauState" if not found else f"{len(found)} PlateauStates"
        raise ValueError(
            f"plateau_scale needs an optimizer state with one PlateauState, found {what}"
        )
    # jnp.asarray: a plain array as it is; a wrapped one (flax.nnx.Optimizer keeps its state
    # in `OptArray` variables) unwrapped, so logging code always gets a jax.Array.
    return jnp.asarray(found[0].scale)
