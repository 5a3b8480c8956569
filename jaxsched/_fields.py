"""A schedule's fields, declared once: annotated attributes, `field(static=True)` for structure.

A shape is a subclass of `Schedule` whose class body lists its constructor's arguments, in
order, as annotated attributes, then its formula and its horizon::

    class _TanhDecay(Schedule, kind="tanh_decay"):
        init_value: ArrayLike
        steps: ArrayLike
        end_value: ArrayLike

        def _at(self, t): ...  # the value at a prepared step
        def _horizon(self): ...  # the first step from which the value holds, or None

`declare` runs once per class (from `Schedule.__init_subclass__`). It reads the annotations
into the class's `params` (the arguments in order: the constructor's keywords, the names in
``repr``, configs and pickles) and `static` (the arguments that are structure, not numbers:
strings, flags, functions; they are the pytree's auxiliary data, compared by ``==``, where the
others are its children, leaves or sub-schedules). It refuses a field whose name `Schedule`
itself uses (`kind`, `horizon`, its methods), in one place, so that no subclass hides one of
them by accident: an argument with such a name is stored under another attribute and keeps
its name through ``field(alias=...)`` (PEP 681's spelling, which mypy reads).

`Schedule` is a `typing.dataclass_transform` base: mypy types each field (``self.steps`` is
`ArrayLike`, not `Any`) and checks the keywords of ``_TanhDecay(...)`` against the fields.
"""

from __future__ import annotations

from typing import Any

import jax

from ._registry import CONFIG_KEYS

__all__ = ["Field", "declare", "field", "register_pytree"]


class Field:
    """What `field` declares: whether the argument is static, and its name if not the
    attribute's."""

    __slots__ = ("alias", "static")

    def __init__(self, static: bool, alias: str | None):
        self.static = static
        self.alias = alias

    def __repr__(self) -> str:
        return f"field(static={self.static}, alias={self.alias!r})"


def field(*, static: bool = False, alias: str | None = None) -> Any:
    """Declares a field of a schedule class beyond its annotation.

    Args:
      static: True for structure rather than a number (a curve's name, a flag, a function):
        the pytree's auxiliary data, never traced, compared by ``==``.
      alias: the argument's name where it differs from the attribute's (an argument named like
        something `Schedule` defines, e.g. ``horizon``).

    Returns:
      A marker that `declare` reads and removes from the class.
    """
    return Field(static, alias)


def _is_classvar(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar"))


def declare(cls: type, reserved: frozenset[str]) -> None:
    """Sets `params`, `static` and `attrs` of a schedule class from its annotated fields.

    A class without annotated fields of its own keeps what it inherits; one that sets `params`
    by hand (written before fields were declared this way) keeps what it sets.

    Raises:
      TypeError: for a field named like something in `reserved`, or declared twice.
    """
    if "params" in cls.__dict__:
        return  # a subclass that lists its arguments by hand (written before fields)
    annotations = cls.__dict__.get("__annotations__", {})
    own = [name for name, a in annotations.items() if not _is_classvar(a)]
    if not own:
        return
    params, static = list(cls.params), set(cls.static)  # type: ignore[attr-defined]
    attrs = dict(cls.attrs)  # type: ignore[attr-defined]
    for name in own:
        spec = cls.__dict__.get(name)
        if spec is not None and not isinstance(spec, Field):
            raise TypeError(f"{cls.__name__}.{name}: a field has no default (the public "
                            f"constructor has them); use field(...) or nothing")
        spec = spec or Field(False, None)
        argument = spec.alias or name
        if name in reserved:
            raise TypeError(f"{cls.__name__}.{name}: {name!r} is reserved by Schedule; store "
                            f"the argument as another attribute, with field(alias={name!r})")
        if argument in params:
            raise TypeError(f"{cls.__name__}.{name}: the argument {argument!r} is declared twice")
        if name in cls.__dict__:
            delattr(cls, name)
        params.append(argument)
        if spec.static:
            static.add(argument)
        if argument != name:
            attrs[argument] = name
        if argument == "kind":  # a config's "kind" is the constructor's: write the attribute's
            CONFIG_KEYS.setdefault(cls.kind, {})[name] = argument  # type: ignore[attr-defined]
    cls.params = tuple(params)  # type: ignore[attr-defined]
    cls.static = frozenset(static)  # type: ignore[attr-defined]
    cls.attrs = attrs  # type: ignore[attr-defined]


def register_pytree(cls: type) -> None:
    """Registers a schedule class as a pytree from its declared fields.

    The numeric arguments and sub-schedules are the children (keyed by attribute, so
    `jax.tree_util.tree_flatten_with_path` names them), the static ones the auxiliary data.
    """
    params, static, attrs = cls.params, cls.static, cls.attrs  # type: ignore[attr-defined]
    children = tuple(attrs.get(p, p) for p in params if p not in static)
    aux = tuple(attrs.get(p, p) for p in params if p in static)
    keys = tuple(jax.tree_util.GetAttrKey(name) for name in children)

    def flatten(obj: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        return tuple(getattr(obj, n) for n in children), tuple(getattr(obj, n) for n in aux)

    def flatten_with_keys(obj: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        values, aux_values = flatten(obj)
        return tuple(zip(keys, values)), aux_values

    def unflatten(aux_values: tuple[Any, ...], values: Any) -> Any:
        obj: Any = object.__new__(cls)
        for name, value in (*zip(children, values), *zip(aux, aux_values)):
            object.__setattr__(obj, name, value)
        return obj

    jax.tree_util.register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)
