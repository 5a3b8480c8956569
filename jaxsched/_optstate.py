"""Reading an optimizer state: `hyperparams` (what it holds) and `learning_rate` (the next rate).

Both walk the optax state tree by structure (node types, or field names where `nnx.state` has
turned the NamedTuples into dicts), so they are jittable: call them inside the train step and
return the result with the loss. The nodes they read:

* `optax.inject_hyperparams` / `inject_stateful_hyperparams` states: every injected value;
* `js.PlateauState` (and optax.contrib's plateau state): the scale;
* `js.scale_by_schedule` clocks: the position and the rate of the next update;
* optax's ``ScaleByScheduleState`` (``optax.adam(schedule)``): the count the schedule is at;
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
    """One thing found in the state: where (the multi_transform groups above it), what, value.

    Kinds: "hyper", "plateau", "clock" (value: position, value), "count" (an update counter),
    "scheduled" (a rate set by a schedule the state does not hold, optax's ScaleByScheduleState;
    value: its count), "injected" (an injected learning rate; value: count, rate) and "group"
    (value: whether the group is frozen).
    """

    group: tuple[str, ...]
    kind: str
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
    if isinstance(node, optax.ScaleByScheduleState) or (
        isinstance(node, Mapping) and set(node) == {"count"}
    ):
        return "scheduled"
    return None


def _children(node: Any) -> list[Any]:
    if isinstance(node, Mapping):
        return list(node.values())
    if isinstance(node, (tuple, list)):
        return list(node)
    return []


def _is_int(x: Any) -> bool:
    """An integer array: an update counter, a scalar (a batch of them in a vmapped state)."""
    return jnp.issubdtype(jnp.asarray(x).dtype, jnp.integer)


def _is_frozen(group_state: Any) -> bool:
    """A multi_transform group whose whole state is optax's EmptyState: optax.set_to_zero()
    (or optax.identity()). A stateless optimizer (optax.sgd(0.1): a tuple of EmptyStates) is not
    frozen; its rate is just not in the state."""
    if isinstance(group_state, optax.MaskedState):
        group_state = group_state.inner_state
    return isinstance(group_state, optax.EmptyState)


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
        count, hypers = _field(node, "count"), _field(node, "hyperparams")
        out.append(_Found(group, "count", "count", count))
        for name, value in hypers.items():
            out.append(_Found(group, "hyper", str(name), value))
        if "learning_rate" in hypers:
            out.append(_Found(group, "injected", "", (count, hypers["learning_rate"])))
        if "inner_state" in (node if isinstance(node, Mapping) else node._fields):
            _walk(_field(node, "inner_state"), group, out)
    elif kind == "groups":
        for name, inner in _field(node, "inner_states").items():
            path = (*group, str(name))
            out.append(_Found(path, "group", "", _is_frozen(inner)))
            _walk(inner, path, out)
    elif kind == "multisteps":
        _walk(_field(node, "inner_opt_state"), group, out)  # not acc_grads: shaped like params
    elif kind == "scheduled":
        out.append(_Found(group, "scheduled", "", _field(node, "count")))
    else:
        fields = node if isinstance(node, Mapping) else getattr(node, "_fields", ())
        if "count" in fields and _is_int(_field(node, "count")):
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
      far (int64 with x64, capped at 2**63 - 1, else float32: exact to 2**24, then to float32
      rounding; the state itself is exact), and ``"learning_rate"``, the rate of the *next*
      update.

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


def _no_rate(group: tuple[str, ...], why: str) -> ValueError:
    where = f" for the group {'/'.join(group)!r}" if group else ""
    return ValueError(f"learning_rate: the optimizer state holds no learning rate{where}: {why}")


def _nearest_count(found: list[_Found], group: tuple[str, ...]) -> Any:
    """The first update counter in the group's own state, else in the groups above it."""
    for depth in range(len(group), -1, -1):
        for f in found:
            if f.group == group[:depth] and f.kind == "count":
                return f.value
    return None


def _group_rate(found: list[_Found], group: tuple[str, ...], schedule: Callable | None) -> Any:
    """The product of the rates and scales on the group's path (see `learning_rate`)."""
    rate, factors, scheduled = jnp.ones((), jnp.float32), 0, 0
    for f in found:
        if f.kind == "group" or group[: len(f.group)] != f.group:
            continue
        if f.kind == "clock":
            rate, factors = rate * _f32(f.value[1]), factors + 1
        elif f.kind == "plateau":
            rate = rate * _f32(f.value)
        elif f.kind in ("scheduled", "injected"):
            count, held = (f.value, None) if f.kind == "scheduled" else f.value
            if schedule is not None:
                rate, scheduled = rate * _f32(schedule(jnp.asarray(count))), scheduled + 1
            elif held is None:
                raise _no_rate(group, "it holds the update count of a rate set by a schedule "
                                      "(optax.sgd(schedule), ...): pass that schedule "
                                      "(schedule=...)")
            else:
                rate = rate * _f32(held)
            factors += 1
    if scheduled > 1:
        raise ValueError(
            f"learning_rate: the optimizer state holds {scheduled} rates set by schedules on "
            f"the path of {'/'.join(group) or 'its one group'!r} (e.g. optax.sgd(s1) chained "
            "with optax.scale_by_schedule(s2)), and one schedule cannot stand for them all: "
            "inject the rates (optax.inject_hyperparams) or use js.scale_by_schedule")
    if factors == 0:
        count = _nearest_count(found, group)
        if count is None:
            raise _no_rate(group, "its optimizer keeps neither a rate nor a count (a constant "
                                  "rate, as optax.sgd(0.1)): inject the rate with "
                                  "optax.inject_hyperparams, or scale by js.scale_by_schedule")
        if schedule is None:
            raise _no_rate(group, "pass the schedule the optimizer was built with "
                                  "(schedule=...), or inject the rate with "
                                  "optax.inject_hyperparams, or scale by js.scale_by_schedule")
        rate = rate * _f32(schedule(jnp.asarray(count)))
    return rate


def learning_rate(
    opt_state: Any, schedule: Callable | Mapping[str, Callable] | None = None
) -> jax.Array | dict[str, jax.Array]:
    r"""The effective learning rate of the next update.

    For each parameter group (one, unless the state holds ``optax.multi_transform`` groups),
    the product of every rate and scale in its state and in the states above it (what a
    chain of scalings applies):

    .. math::

        \text{rate} = \prod_{\text{rates on the group's path}} r
        \cdot \prod_{\text{plateaus on the group's path}} \text{scale}

    where the rates :math:`r` are:

    1. each ``js.scale_by_schedule`` clock: the value it holds, which is the rate of its next
       update, exactly;
    2. each rate optax sets from a schedule (its ``ScaleByScheduleState``, as in
       ``optax.adam(schedule)``) and each injected ``learning_rate``: ``schedule(count)``, the
       count read from that state, with `schedule` given. This is the answer for
       ``optax.inject_hyperparams(...)(learning_rate=schedule)`` too, where the state holds the
       rate of the *last* update, schedule(count − 1). Without `schedule`, an injected
       ``learning_rate`` gives the value held, right when the rate is set by hand before each
       update (as `js.lr_find` does); a ``ScaleByScheduleState`` raises. One schedule stands
       for one rate: two of them on a path (``optax.chain(optax.sgd(s1),
       optax.scale_by_schedule(s2))``) raise;
    3. if the path holds none of these: ``schedule(count)``, the count of an optax update
       counter there (Adam's, ...), the nearest group's first.

    Signs are not tracked (optax's ``scale_by_schedule`` and ``scale_by_learning_rate``, which
    flips the sign, hold the same state). A constant rate (``optax.sgd(0.1)``,
    ``optax.scale(c)``) leaves nothing in the state and is not in the product; a group with
    nothing to read raises (inject such a rate to have it read). A ``multi_transform`` group
    whose whole state is ``optax.EmptyState()`` (``optax.set_to_zero()``, a frozen group; also
    ``optax.identity()``) has rate 0; ``nnx.state`` drops empty states, so there such a group
    is absent. Each plateau's scale is the one its last update applied; the next update may
    lower it. ``optax.MultiSteps`` is looked through: the answer is the rate of the next update
    its inner optimizer applies (at the end of the current accumulation). Works on the same
    states as `hyperparams`, under `jax.jit`, and on a batched state (a `jax.vmap`-ed sweep's):
    the rates are batched the same way, as ``jax.vmap(js.learning_rate)(state)`` gives them.
    (With a stacked `schedule`, call it under `jax.vmap` that way: called directly, a stacked
    schedule is not a batch of schedules.)

    Args:
      opt_state: an optax optimizer state, a ``flax.nnx.Optimizer``, or its ``nnx.state``.
      schedule: the schedule the optimizer was built with, a function of the update count; or a
        dict from group name to schedule (groups left out use what their state holds).

    Returns:
      A float32 scalar (batched if the state is); for ``multi_transform`` states, a dict from
      group path (``"encoder"``, ``"outer/inner"`` for nested ones) to float32 scalar.

    Raises:
      ValueError: if a group's state holds no rate (e.g. ``optax.adam(schedule)`` without
        `schedule`), or several that one `schedule` would stand for, or `schedule` names a
        group the state does not have.

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
    frozen = {f.group: f.value for f in found if f.kind == "group"}
    rates = {}
    for name, group in names.items():
        own = schedule.get(name) if isinstance(schedule, Mapping) else schedule
        rates[name] = (jnp.zeros((), jnp.float32) if frozen.get(group, False)
                       else _group_rate(found, group, own))
    if groups == [()]:
        return rates[""]
    batch = jnp.broadcast_shapes(*(jnp.shape(r) for r in rates.values()))  # a vmapped state's
    return {name: jnp.broadcast_to(r, batch) for name, r in rates.items()}
