"""Reading an optimizer state: `hyperparams` (what it holds) and `learning_rate` (the next rate).

Both walk the optax state tree by structure (node types, or field names where `nnx.state` has
turned the NamedTuples into dicts), so they are jittable: call them inside the train step and
return the result with the loss. The nodes they read:

* `optax.inject_hyperparams` / `inject_stateful_hyperparams` states: every injected value;
* `js.PlateauState` (and optax.contrib's plateau state): the scale;
* `js.scale_by_schedule` clocks: the position and the rate of the next update;
* `optax.multi_transform` states: each group's name becomes a path prefix, ``"encoder/..."``;
* `optax.MultiSteps` states: the inner optimizer (the one whose updates are applied).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from . import _clocks
from ._plateau import PlateauState

__all__ = ["hyperparams", "learning_rate"]

_INJECTED = (optax.InjectHyperparamsState, optax.InjectStatefulHyperparamsState)
_PLATEAUS = (PlateauState, optax.contrib.ReduceLROnPlateauState)
_INJECT_FIELDS = set(optax.InjectStatefulHyperparamsState._fields)


class _Found(NamedTuple):
    """One thing found in the state: where (the multi_transform groups above it), what, value."""

    group: tuple[str, ...]
    kind: str  # "hyper", "plateau", "clock", "count" or "group"
    name: str
    value: Any


def _field(node: Any, name: str) -> Any:
    return node[name] if isinstance(node, Mapping) else getattr(node, name)


def _is(node: Any, types: tuple[Any, ...]) -> Any:
    """The NamedTuple type in `types` that `node` is, by type or (a dict from `nnx.state`) by
    its field names; None if none."""
    for t in types:
        if isinstance(node, t) or (isinstance(node, Mapping) and set(node) == set(t._fields)):
            return t
    return None


def _kind(node: Any) -> str | None:
    if _is(node, _PLATEAUS):
        return "plateau"
    if _is(node, _clocks.CLOCK_STATES):
        return "clock"
    if isinstance(node, _INJECTED) or (
        isinstance(node, Mapping) and {"count", "hyperparams"} <= set(node) <= _INJECT_FIELDS
    ):
        return "inject"
    if isinstance(node, optax.MultiTransformState) or (
        isinstance(node, Mapping) and set(node) == {"inner_states"}
    ):
        return "groups"
    if isinstance(node, optax.MultiStepsState) or (
        isinstance(node, Mapping) and {"mini_step", "gradient_step", "inner_opt_state"} <= set(node)
    ):
        return "multisteps"
    return None


def _children(node: Any) -> list[Any]:
    if isinstance(node, Mapping):
        return list(node.values())
    if isinstance(node, (tuple, list)):
        return list(node)
    return []


def _is_int_scalar(x: Any) -> bool:
    x = jnp.asarray(x)
    return x.shape == () and jnp.issubdtype(x.dtype, jnp.integer)


def _typed(node: Any, types: tuple[Any, ...]) -> Any:
    """The node as its NamedTuple type (a dict from `nnx.state` rebuilt), read by attribute:
    `PlateauState` computes its ``scale`` from its packed layout."""
    t = _is(node, types)
    return t(**{f: node[f] for f in t._fields}) if isinstance(node, Mapping) else node


def _walk(node: Any, group: tuple[str, ...], out: list[_Found]) -> None:
    if not isinstance(node, (Mapping, tuple, list)) and hasattr(node, "opt_state"):
        node = node.opt_state  # a flax.nnx.Optimizer
    kind = _kind(node)
    if kind == "plateau":
        out.append(_Found(group, "plateau", "plateau_scale", _typed(node, _PLATEAUS).scale))
    elif kind == "clock":
        node = _typed(node, _clocks.CLOCK_STATES)
        name = node._fields[0]
        out.append(_Found(group, "clock", name, (node[0], node.value)))
    elif kind == "inject":
        out.append(_Found(group, "count", "count", _field(node, "count")))
        for name, value in _field(node, "hyperparams").items():
            out.append(_Found(group, "hyper", str(name), value))
        if "inner_state" in (node if isinstance(node, Mapping) else node._fields):
            _walk(_field(node, "inner_state"), group, out)
    elif kind == "groups":
        for name, inner in _field(node, "inner_states").items():
            path = (*group, str(name))
            out.append(_Found(path, "group", "", not jax.tree.leaves(inner)))
            _walk(inner, path, out)
    elif kind == "multisteps":
        _walk(_field(node, "inner_opt_state"), group, out)  # not acc_grads: shaped like params
    else:
        fields = node if isinstance(node, Mapping) else getattr(node, "_fields", ())
        if "count" in fields and _is_int_scalar(_field(node, "count")):
            out.append(_Found(group, "count", "count", _field(node, "count")))
        for child in _children(node):
            _walk(child, group, out)


def _collect(opt_state: Any) -> list[_Found]:
    out: list[_Found] = []
    _walk(opt_state, (), out)
    return out


def _key(group: tuple[str, ...], name: str) -> str:
    return "/".join((*group, name))


def hyperparams(opt_state: Any) -> dict[str, jax.Array]:
    """Every hyperparameter an optimizer state holds, by a readable path.

    Reads, anywhere in the state tree:

    * ``optax.inject_hyperparams`` and ``optax.inject_stateful_hyperparams`` states: each
      injected hyperparameter (optax injects every numeric argument) by its name
      (``"learning_rate"``, ``"weight_decay"``, ``"b2"``, ...): the value the *last* update
      used (optax evaluates a schedule before the update and keeps that value);
    * ``js.reduce_on_plateau`` states (and ``optax.contrib.reduce_on_plateau``'s):
      ``"plateau_scale"``;
    * ``js.scale_by_schedule`` clocks: ``"steps"``, ``"tokens"`` or ``"samples"``, the count so
      far (int64 with x64, else float32: exact to 2**24, then to float32 rounding; the state
      itself is exact), and ``"learning_rate"``, the rate of the *next* update.

    Inside ``optax.multi_transform`` each group's name is a prefix: ``"encoder/learning_rate"``.
    ``optax.MultiSteps`` is looked through (its inner optimizer's values). A name found twice on
    the same path gets ``#2``, ``#3``, ... in the order of the tree. Works on a plain optax state,
    a ``flax.nnx.Optimizer`` and ``nnx.state(optimizer)`` (there the NamedTuples are dicts,
    recognised by their field names).

    Jittable: it reads the tree's structure when traced, so call it inside the train step and
    return the dict with the loss.

    Args:
      opt_state: an optax optimizer state, a ``flax.nnx.Optimizer``, or its ``nnx.state``.

    Returns:
      A dict from path to value, each a JAX scalar (batched if the state is); empty if the state
      holds none of the above.

    Example:
      >>> import jax.numpy as jnp
      >>> import optax
      >>> import jaxsched as js
      >>> opt = optax.chain(
      ...     optax.inject_hyperparams(optax.adamw)(learning_rate=1e-3, weight_decay=0.1),
      ...     js.reduce_on_plateau())
      >>> for name, value in js.hyperparams(opt.init(jnp.zeros(3))).items():
      ...     print(name, f"{float(value):.4g}")
      learning_rate 0.001
      b1 0.9
      b2 0.999
      eps 1e-08
      eps_root 0
      weight_decay 0.1
      plateau_scale 1
    """
    result: dict[str, jax.Array] = {}

    def add(key: str, value: Any) -> None:
        n, unique = 1, key
        while unique in result:
            n += 1
            unique = f"{key}#{n}"
        result[unique] = jnp.asarray(value)

    for found in _collect(opt_state):
        if found.kind in ("hyper", "plateau"):
            add(_key(found.group, found.name), found.value)
        elif found.kind == "clock":
            position, value = found.value
            add(_key(found.group, found.name), _clocks.count(position))
            add(_key(found.group, "learning_rate"), value)
    return result


def _leaf_groups(found: list[_Found]) -> list[tuple[str, ...]]:
    groups = [f.group for f in found if f.kind == "group"]
    leaves = [g for g in groups if not any(len(h) > len(g) and h[: len(g)] == g for h in groups)]
    return leaves or [()]


def _f32(x: Any) -> jax.Array:
    return jnp.asarray(x).astype(jnp.float32)


def _base_rate(found: list[_Found], group: tuple[str, ...], schedule: Callable | None) -> Any:
    """The rate the group's own state (or the nearest group above it) holds."""
    for depth in range(len(group), -1, -1):
        here = [f for f in found if f.group == group[:depth] and f.kind != "group"]
        for f in here:
            if f.kind == "clock":
                return _f32(f.value[1])
        if schedule is not None:
            for f in here:
                if f.kind == "count":
                    return _f32(schedule(jnp.asarray(f.value)))
        for f in here:
            if f.kind == "hyper" and f.name == "learning_rate":
                return _f32(f.value)
    where = f" for the group {'/'.join(group)!r}" if group else ""
    raise ValueError(
        f"learning_rate: the optimizer state holds no learning rate{where}: pass the schedule "
        "the optimizer was built with (schedule=...), or inject the rate with "
        "optax.inject_hyperparams, or scale by js.scale_by_schedule"
    )


def learning_rate(
    opt_state: Any, schedule: Callable | Mapping[str, Callable] | None = None
) -> jax.Array | dict[str, jax.Array]:
    r"""The effective learning rate of the next update.

    For each parameter group (one, unless the state holds ``optax.multi_transform`` groups):

    .. math::

        \text{rate} = r \cdot \prod_{\text{plateaus on the group's path}} \text{scale}

    where :math:`r` is found in the group's state (else in the groups above it), first of:

    1. a ``js.scale_by_schedule`` clock: the value it holds, which is the rate of its next
       update, exactly;
    2. with `schedule` given: ``schedule(count)``, the count read from the state (optax's
       update counters: ``ScaleByScheduleState``, ``InjectHyperparamsState``, Adam's, ...).
       This is the answer for ``optax.adam(schedule)`` (nothing is injected) and for
       ``optax.inject_hyperparams(...)(learning_rate=schedule)``, where the state holds the rate
       of the *last* update, schedule(count − 1);
    3. an injected ``learning_rate``: the value held, right when the rate is set by hand
       before each update (as `js.lr_find` does).

    A ``multi_transform`` group whose state is empty (``optax.set_to_zero()``, a frozen group)
    has rate 0. (So does a stateless optimizer with a constant rate, ``optax.sgd(0.1)``: its rate
    is not in the state; inject it to have it read.) Each plateau's scale is the one its last
    update applied; the next update may lower it. ``optax.MultiSteps`` is looked through: the
    answer is the rate of the next update its inner optimizer applies (at the end of the current
    accumulation). Works on the same states as `hyperparams`, and under `jax.jit`.

    Args:
      opt_state: an optax optimizer state, a ``flax.nnx.Optimizer``, or its ``nnx.state``.
      schedule: the schedule the optimizer was built with, a function of the update count; or a
        dict from group name to schedule (groups left out use what their state holds).

    Returns:
      A float32 scalar; for ``multi_transform`` states, a dict from group path (``"encoder"``,
      ``"outer/inner"`` for nested ones) to float32 scalar.

    Raises:
      ValueError: if a group's state holds no rate (e.g. ``optax.adam(schedule)`` without
        `schedule`), or `schedule` names a group the state does not have.

    Example:
      >>> import jax.numpy as jnp
      >>> import optax
      >>> import jaxsched as js
      >>> s = js.linear(1.0, 0.0, 10)
      >>> opt = optax.inject_hyperparams(optax.sgd)(learning_rate=s)
      >>> state = opt.init(jnp.zeros(2))
      >>> for _ in range(3):
      ...     _, state = opt.update(jnp.ones(2), state)
      >>> f"{float(js.learning_rate(state)):.4f}", f"{float(js.learning_rate(state, s)):.4f}"
      ('0.8000', '0.7000')
    """
    found = _collect(opt_state)
    groups = _leaf_groups(found)
    names = {"/".join(g): g for g in groups}
    if isinstance(schedule, Mapping):
        unknown = set(schedule) - set(names)
        if unknown:
            raise ValueError(f"schedule names groups the state does not have: {sorted(unknown)}; "
                             f"its groups: {sorted(names)}")
    empty = {f.group: f.value for f in found if f.kind == "group"}
    rates = {}
    for name, group in names.items():
        if empty.get(group, False):
            rates[name] = jnp.zeros((), jnp.float32)
            continue
        own = schedule.get(name) if isinstance(schedule, Mapping) else schedule
        rate = _base_rate(found, group, own)
        for f in found:
            if f.kind == "plateau" and group[: len(f.group)] == f.group:
                rate = rate * _f32(f.value)
        rates[name] = rate
    return rates[""] if groups == [()] else rates
