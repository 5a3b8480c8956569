"""Reduce on plateau: an optax transformation that scales updates down when a metric stalls.

This is the one schedule that takes feedback from training. Its state carries the best value seen,
the count of bad observations, the cooldown counter and the current scale; `update` multiplies the
updates by the scale, so it sits in `optax.chain` after any optimizer or schedule::

    optax.chain(optax.adam(schedule), reduce_on_plateau(patience=5))  # lr(t) = schedule(t) * scale

The update is split by what each part does: `_observe` (the accumulation window), `_decide`
(PyTorch's rules for one observation) and `_scale` (the updates times the scale). The state's six
fields travel packed in one int32 array, so that a jitted train step updates them in one kernel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import _checks

__all__ = ["PlateauState", "plateau_scale", "reduce_on_plateau"]

# The fields of the state in the order they are packed; the float32 ones are stored as their bits.
_FIELDS = ("scale", "best_value", "wait", "cooldown_count", "count", "accumulated_value")
_FLOATS = frozenset({"scale", "best_value", "accumulated_value"})


class PlateauState(NamedTuple):
    """The state of `reduce_on_plateau`: six scalar fields packed in one int32 array.

    Read the fields by name; each is a JAX array with the shape of ``packed`` less its last axis
    (a scalar, or batched under `jax.vmap`):

    * ``scale``: float32, the factor applied to the updates (1 at the start, never increases).
    * ``best_value``: float32, the best observation so far; +inf ("min") or -inf ("max") until
      the first finite observation.
    * ``wait``: int32, bad observations since the last improvement or reduction (PyTorch's
      ``num_bad_epochs``); always in ``[0, patience]`` between updates.
    * ``cooldown_count``: int32, observations left in the cooldown after a reduction (PyTorch's
      ``cooldown_counter``); in ``[0, cooldown]``.
    * ``count``: int32, updates seen in the current accumulation window; in
      ``[0, accumulation_steps)``.
    * ``accumulated_value``: float32, the sum of the values seen in the current window.

    Why packed: each array of a jitted step's output is written by its own kernel, and six scalar
    kernels cost more than the rest of the plateau on a small CPU or GPU step. ``packed`` holds
    the fields in the order above, the float32 ones as their bit patterns
    (`jax.lax.bitcast_convert_type`), so no integer is ever rounded. Every counter is bounded by
    a hyperparameter, so none can overflow however long training runs. The state is a plain
    pytree of one array: it checkpoints as it is and is replicated when placed on several devices.

    jaxsched 0.1 stored the six fields as six arrays. Such a checkpoint does not restore into this
    layout (orbax, restoring into the new structure, names the missing ``packed`` and the
    unexpected ``scale``, ``best_value``, ...): restore the six arrays by name (against the
    layout ``state.unpack()`` gives) and pack them with `from_fields`; the docs' page on reduce
    on plateau has the few lines that do it for a whole train state::

        state = js.PlateauState.from_fields(**restored_fields)

    Example:
      >>> import jaxsched as js
      >>> state = js.reduce_on_plateau().init(None)
      >>> state.packed.shape, f"{float(state.scale):.1f}", int(state.wait)
      ((6,), '1.0', 0)
      >>> state = js.PlateauState.from_fields(**(state.unpack() | {"scale": 0.5}))
      >>> f"{float(state.scale):.2f}"
      '0.50'
    """

    packed: jax.Array

    @classmethod
    def from_fields(cls, scale: Any, best_value: Any, wait: Any, cooldown_count: Any, count: Any,
                    accumulated_value: Any) -> PlateauState:
        """The state with these fields (arrays of one shape; cast to float32 or int32)."""
        fields = dict(scale=scale, best_value=best_value, wait=wait,
                      cooldown_count=cooldown_count, count=count,
                      accumulated_value=accumulated_value)
        return cls(jnp.stack([_pack(name, fields[name]) for name in _FIELDS], axis=-1))

    def unpack(self) -> dict[str, jax.Array]:
        """The six fields by name (as jaxsched 0.1's PlateauState held them)."""
        return {name: self._field(name) for name in _FIELDS}

    def _field(self, name: str) -> jax.Array:
        # jnp.asarray: a flax.nnx.Optimizer keeps the array in an `OptArray` variable.
        x = jnp.asarray(self.packed)[..., _FIELDS.index(name)]
        return jax.lax.bitcast_convert_type(x, jnp.float32) if name in _FLOATS else x

    @property
    def scale(self) -> jax.Array:
        return self._field("scale")

    @property
    def best_value(self) -> jax.Array:
        return self._field("best_value")

    @property
    def wait(self) -> jax.Array:
        return self._field("wait")

    @property
    def cooldown_count(self) -> jax.Array:
        return self._field("cooldown_count")

    @property
    def count(self) -> jax.Array:  # type: ignore[override]  # the documented field, not tuple.count
        return self._field("count")

    @property
    def accumulated_value(self) -> jax.Array:
        return self._field("accumulated_value")

    def __repr__(self) -> str:
        if not isinstance(self.packed, (jax.Array, np.ndarray)):  # e.g. jax.eval_shape's shapes
            return f"PlateauState(packed={self.packed!r})"
        return f"PlateauState({', '.join(f'{k}={v}' for k, v in self.unpack().items())})"


def _pack(name: str, value: Any) -> jax.Array:
    if name in _FLOATS:
        return jax.lax.bitcast_convert_type(_f32(value), jnp.int32)
    return _i32(value)


def _f32(x: Any) -> jax.Array:
    return jnp.asarray(x).astype(jnp.float32)


def _i32(x: Any) -> jax.Array:
    return jnp.asarray(x).astype(jnp.int32)


class _Options(NamedTuple):
    """The checked hyperparameters (numbers or JAX scalars, traced under `jax.vmap`)."""

    factor: Any
    patience: Any
    threshold: Any
    threshold_mode: str
    mode: str
    cooldown: Any
    min_scale: Any
    accumulation_steps: Any


def _scalar(name: str, value: Any) -> None:
    """Rejects arrays that are not scalars: they would scale the updates element-wise."""
    try:
        shape = value.shape if hasattr(value, "shape") else np.shape(value)
    except ValueError:  # a ragged nested list
        shape = "(ragged)"
    if shape != ():
        shown = value if _checks.is_traced(value) else np.asarray(value, object).tolist()
        raise ValueError(f"{name} must be a scalar (an array of shape ()), got {name}={shown!r} "
                         f"of shape {shape}; to run several settings at once, jax.vmap over "
                         f"reduce_on_plateau")


def _options(factor: Any, patience: Any, threshold: Any, threshold_mode: str, mode: str,
             cooldown: Any, min_scale: Any, accumulation_steps: Any) -> _Options:
    """Checks the arguments of `reduce_on_plateau` (ValueError naming the argument)."""
    for name, value in [("factor", factor), ("patience", patience), ("threshold", threshold),
                        ("cooldown", cooldown), ("min_scale", min_scale),
                        ("accumulation_steps", accumulation_steps)]:
        if not isinstance(value, str):
            _scalar(name, value)
    return _Options(
        factor=_checks.real("factor", factor, low=0.0, high=1.0, low_open=True, high_open=True),
        patience=_checks.integer("patience", patience, low=0),
        threshold=_checks.nonnegative("threshold", threshold),
        threshold_mode=_checks.choice("threshold_mode", threshold_mode, ("rel", "abs")),
        mode=_checks.choice("mode", mode, ("min", "max")),
        cooldown=_checks.integer("cooldown", cooldown, low=0),
        min_scale=_checks.real("min_scale", min_scale, low=0.0, high=1.0),
        accumulation_steps=_checks.positive_int("accumulation_steps", accumulation_steps),
    )


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


def _init(options: _Options) -> PlateauState:
    worst = jnp.inf if options.mode == "min" else -jnp.inf
    return PlateauState.from_fields(scale=1.0, best_value=worst, wait=0, cooldown_count=0,
                                    count=0, accumulated_value=0.0)


def _observe(state: PlateauState, v: jax.Array, options: _Options,
             every_value: bool) -> tuple[jax.Array, ...]:
    """The accumulation window after value `v`: (ready, observation, count, accumulated).

    `ready` says whether the window is complete; the observation is then the mean of its values.
    With ``accumulation_steps=1`` known in Python, every value is an observation and the window's
    fields pass through (the compiled step has no work for them).
    """
    if every_value:
        return jnp.asarray(True), v, state.count, state.accumulated_value
    count = state.count + 1
    total = state.accumulated_value + v
    ready = count >= _i32(options.accumulation_steps)
    mean = total / _f32(options.accumulation_steps)  # used when ready, i.e. count == k
    return (ready, mean, jnp.where(ready, jnp.zeros_like(count), count),
            jnp.where(ready, jnp.zeros_like(total), total))


def _decide(state: PlateauState, v: jax.Array, options: _Options) -> tuple[jax.Array, ...]:
    """One PyTorch ``step(v)``: the new (scale, best_value, wait, cooldown_count)."""
    best, wait, cooldown_count = state.best_value, state.wait, state.cooldown_count
    threshold = _f32(options.threshold)
    margin = jnp.abs(best) * threshold if options.threshold_mode == "rel" else threshold
    # v < best - margin written as (best - v) > margin: no product feeds a sum, so XLA cannot
    # fuse `best - |best| * threshold` into a multiply-add (one rounding under jit, two in eager
    # mode), and every way of running takes the same decision at the bound.
    gain = best - v if options.mode == "min" else v - best
    # best is infinite only before the first finite observation (it never becomes non-finite
    # later), when `gain` and `margin` may be infinite or NaN.
    improved = jnp.isfinite(v) & (jnp.isinf(best) | (gain > margin))
    in_cooldown = cooldown_count > 0
    # wait + 1 > patience  <=>  wait >= patience, written so that wait + 1 never overflows.
    reduce = ~improved & ~in_cooldown & (wait >= _i32(options.patience))
    lowered = jnp.maximum(state.scale * _f32(options.factor), _f32(options.min_scale))
    return (
        jnp.where(reduce, jnp.minimum(lowered, state.scale), state.scale),
        jnp.where(improved, v, best),
        jnp.where(improved | in_cooldown | reduce, jnp.zeros_like(wait), wait + 1),
        jnp.where(reduce, _i32(options.cooldown),
                  jnp.where(in_cooldown, cooldown_count - 1, cooldown_count)),
    )


def _scale(updates: optax.Updates, scale: jax.Array) -> optax.Updates:
    return jax.tree.map(lambda u: u * scale.astype(jnp.asarray(u).dtype), updates)


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
    time, with the learning rate replaced by a scale :math:`s` that starts at 1. Pass the metric
    (usually the loss) to every update as ``value=``; every `accumulation_steps` (:math:`k`)
    updates, the mean of the values seen is one observation (one PyTorch "epoch"),
    :math:`v = \frac1k \sum_{j=1}^{k} \text{value}_j`, judged against the best observation
    :math:`b` so far (:math:`\theta` = `threshold`):

    .. math::

        \text{improved} = \operatorname{isfinite}(v) \wedge
        \begin{cases}
          b = \pm\infty \ \vee\ b - v > |b|\,\theta & \text{mode "min", threshold_mode "rel"} \\
          b = \pm\infty \ \vee\ b - v > \theta & \text{mode "min", threshold_mode "abs"} \\
          b = \pm\infty \ \vee\ v - b > |b|\,\theta & \text{mode "max", threshold_mode "rel"} \\
          b = \pm\infty \ \vee\ v - b > \theta & \text{mode "max", threshold_mode "abs"}
        \end{cases}

    Then, with :math:`w` = ``wait`` (bad observations in a row), :math:`c` = ``cooldown_count``
    and :math:`p` = `patience`, in PyTorch's order:

    .. math::

        b' &= v \text{ if improved, else } b \\
        w' &= 0 \text{ if improved or } c > 0, \text{ else } w + 1 \\
        \text{reduce} &= (w' > p) \\
        s' &= \max(s \cdot \text{factor},\ \text{min_scale}) \text{ if reduce, else } s \\
        c' &= \text{cooldown if reduce, else } \max(c - 1, 0) \\
        w'' &= 0 \text{ if reduce, else } w'

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
    * Arithmetic is float32 (values, best, scale). The test is evaluated as written above,
      :math:`b - v > |b|\,\theta`, the difference and the margin each rounded once to float32
      (the difference is exact when :math:`v` is within a factor of 2 of :math:`b`). In this
      form no product feeds a sum, so XLA cannot fuse it into a multiply-add (one rounding where
      eager mode rounds twice), and eager and jitted runs take the same decisions at the bound.
      The decisions equal PyTorch's float64 ones except for values within float32 rounding of the
      threshold, and the scale after :math:`k` reductions is within :math:`2k` float32
      roundings of PyTorch's ratio (the factor and each product are rounded). A scale below
      float32's smallest normal number (~1.2e-38) may be flushed to 0 (XLA on CPU does).

    Everything runs in JAX (`jnp.where`, no host round trip, no retracing); numeric
    hyperparameters may be JAX scalars, even traced ones, so the transformation works under
    `jax.vmap` and with `optax.inject_hyperparams`. Extra keyword arguments to `update` other
    than `value` are ignored, so it composes under `optax.chain`. The state is a `PlateauState`
    (six fields packed in one array: a jitted step updates them in one kernel).

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
        values. An integer >= 1 (1: every update's value is an observation). Under
        ``optax.MultiSteps(opt, k)`` put the plateau after it, with a multiple of `k` (see the
        docs' page on reduce on plateau).

    Each numeric argument is a scalar: a number or an array of shape () (traced ones included);
    arrays of other shapes raise `ValueError` (to run several settings, `jax.vmap` over the
    construction).

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
    options = _options(factor, patience, threshold, threshold_mode, mode, cooldown, min_scale,
                       accumulation_steps)
    every_value = (not _checks.is_traced(options.accumulation_steps)
                   and int(np.asarray(options.accumulation_steps)) == 1)

    def init_fn(params: Any) -> PlateauState:
        del params
        return _init(options)

    def update_fn(
        updates: optax.Updates,
        state: PlateauState,
        params: optax.Params | None = None,
        *,
        value: Any = None,
        **extra_args: Any,
    ) -> tuple[optax.Updates, PlateauState]:
        del params, extra_args
        ready, observation, count, total = _observe(state, _metric(value), options, every_value)
        decided = _decide(state, observation, options)
        old = (state.scale, state.best_value, state.wait, state.cooldown_count)
        scale, best, wait, cooldown_count = (
            jnp.where(ready, new, kept) for new, kept in zip(decided, old)
        )
        new_state = PlateauState.from_fields(scale, best, wait, cooldown_count, count, total)
        return _scale(updates, scale), new_state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def _is_plateau_state(x: Any) -> bool:
    """A PlateauState, or what `flax.nnx.state` makes of one: a mapping {"packed": array}."""
    return isinstance(x, PlateauState) or (
        isinstance(x, Mapping) and set(x) == {"packed"}
    )


def plateau_scale(opt_state: Any) -> jax.Array:
    """The current scale of the `reduce_on_plateau` state inside an optax state.

    Searches the whole state tree (`optax.chain`, `optax.multi_transform`,
    `optax.inject_hyperparams`, a `flax.nnx.Optimizer`'s ``opt_state`` or its `nnx.state`, ...)
    for the one `PlateauState`. The effective learning rate of the last update is
    ``schedule(step) * plateau_scale(opt_state)``.

    Args:
      opt_state: an optax optimizer state (any pytree) holding exactly one `PlateauState`.

    Returns:
      Its ``scale`` as a `jax.Array`: a float32 scalar (batched if the state is).

    Raises:
      ValueError: if the tree holds no `PlateauState`, or several (then pick one yourself: each
        `PlateauState` has a ``scale``).

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
    (state,) = found
    if not isinstance(state, PlateauState):  # nnx.state's mapping; its value may be a Variable
        state = PlateauState(state["packed"])
    return state.scale
