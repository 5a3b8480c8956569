"""The `Schedule` type: an immutable, jittable pytree ``step -> learning rate``.

Every shape and combinator is a small subclass of `Schedule` that declares its constructor's
arguments once, as annotated fields (see `_fields`), and computes its value from a prepared step
in `_at` (see `_steps.prepare_step`). This module gives them all, once:

* pytree registration (numeric hyperparameters and sub-schedules are the children, structure is
  the auxiliary data), so `jax.vmap` over a batch of hyperparameters and `jax.grad` with respect to
  them work;
* ``__call__``: steps of any kind (Python int, NumPy or JAX scalar, array, tracer); eager calls,
  which a logging loop makes every step, run one compiled function per schedule value (`_eager`);
* equality, hashing and pickling by value (kind, structure and hyperparameters);
* the operators ``+``, ``-``, ``*``, ``/``, ``**`` (the schedules they build are `_arithmetic`'s);
* ``repr`` as the expression that builds the schedule.

Configs are `_configs`' business, the registry of constructors `_registry`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, dataclass_transform

import jax
import numpy as np
from jax.typing import ArrayLike

from . import _eager
from ._checks import is_traced
from ._fields import declare, field, register_pytree

# The registry and the step helpers, which the shape modules import from here with `Schedule`.
from ._registry import _CONSTRUCTORS as _CONSTRUCTORS
from ._registry import RENAMED as RENAMED
from ._registry import moved
from ._registry import register as register
from ._registry import renamed as renamed
from ._steps import as_count as as_count
from ._steps import as_float as as_float
from ._steps import check_concrete_step, prepare_step
from ._steps import float_dtype as float_dtype
from ._steps import step_count as step_count

__all__ = ["Schedule"]

# One test for a traced value (`_checks.is_traced`), under the name modules import from here.
_is_tracer = is_traced


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(field,))
class Schedule:
    """A learning-rate schedule: an immutable, jittable function ``step -> learning rate``.

    A `Schedule` is an `optax.Schedule` (``optax.adam(learning_rate=s)`` takes it as it is), a
    pytree whose leaves are its numeric hyperparameters, and composes with other schedules and
    numbers through ``+``, ``-``, ``*``, ``/`` and the combinators.

    Calling it:
      ``s(step)`` takes a Python int or float, a NumPy or JAX scalar (traced or not), or an array of
      steps, and returns a float32 JAX array of the step's shape (float64 when x64 is enabled and
      the step is float64). Steps below 0 act as step 0. Eager calls (concrete step and
      hyperparameters) run a compiled function, compiled once per schedule value and kind of
      step, with the value a jitted call gives; traced calls are inlined into the
      surrounding computation.

    A plain value:
      two schedules are equal (``==``, and equal hashes) when they have the same kind, the same
      structure (static arguments, sub-schedules) and the same hyperparameters: Python numbers
      by type and value (``constant(1) != constant(1.0)``: integer and float arithmetic), arrays
      by dtype, shape and bits. So an equal schedule built again is a cache hit as a ``jax.jit``
      static argument.
      A schedule holding traced hyperparameters (built inside ``jit``/``vmap``/``grad``) equals
      only itself and hashes by identity: its values are not known. Pickling and copying keep
      the constructor's arguments only; nothing computed or compiled on the side changes what a
      schedule is (``==``, ``hash``, ``repr``, pickle).

    A schedule of your own: lift a function of the step with `schedule`. (Adding a shape or a
    combinator to jaxsched itself is described in the repository's CONTRIBUTING.md.)
    """

    kind: ClassVar[str] = "schedule"
    # The constructor's arguments in order, those that are structure, and the attribute of an
    # argument stored under another name (`_fields.declare` sets them from the fields).
    params: ClassVar[tuple[str, ...]] = ()
    static: ClassVar[frozenset[str]] = frozenset()
    attrs: ClassVar[dict[str, str]] = {}
    no_config: ClassVar[str] = "its kind is not a registered constructor"

    def __init__(self, **kwargs: Any):
        missing = set(self.params) - set(kwargs)
        extra = set(kwargs) - set(self.params)
        if missing or extra:
            raise TypeError(f"{self.kind}: missing {sorted(missing)}, unexpected {sorted(extra)}")
        for name in self.params:
            object.__setattr__(self, self.attrs.get(name, name), kwargs[name])

    def __init_subclass__(cls, kind: str | None = None, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if kind is not None:
            cls.kind = kind
        declare(cls, _RESERVED)
        register_pytree(cls)

    def _argument(self, name: str) -> Any:
        """The value of the constructor's argument `name`."""
        return getattr(self, self.attrs.get(name, name))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; build a new schedule instead")

    # -- horizon --------------------------------------------------------------------------------

    @property
    def horizon(self) -> int | None:
        """The first step from which the value never changes (an int), or None.

        None means the schedule never settles (periodic, asymptotic) or that the step cannot be
        known when the schedule is built (a length traced under `jax.vmap`). Combinators derive it
        from their pieces; `extend` and `plot` use it.
        """
        return self._horizon()

    def _horizon(self) -> int | None:
        """The horizon (see `horizon`); subclasses override. The default: no horizon."""
        return None

    # -- evaluation -----------------------------------------------------------------------------

    def _at(self, t: jax.Array) -> jax.Array:
        """The learning rate at the prepared step `t` (see `prepare_step`). Subclasses override."""
        raise NotImplementedError

    def _evaluate(self, step: Any) -> jax.Array:
        return self._at(prepare_step(step))

    def _is_concrete(self) -> bool:
        cached = self.__dict__.get("_concrete")
        if cached is None:
            cached = not any(_is_tracer(x) for x in jax.tree_util.tree_leaves(self))
            object.__setattr__(self, "_concrete", cached)
        return cached

    def __call__(self, step: ArrayLike) -> jax.Array:
        """The value at `step` (a number or an array of steps; see "Calling it" above)."""
        eager = self.__dict__.get("_eager")
        if eager is not None and type(step) is int:  # a logging loop's call: nothing to check
            return eager(step)
        check_concrete_step(step)
        if _is_tracer(step) or not self._is_concrete():
            return self._evaluate(step)
        if eager is None:
            eager = _eager.compiled(self)
            object.__setattr__(self, "_eager", eager)
        return eager(step)

    # -- a plain value: equality, hashing, pickling ---------------------------------------------

    def _value_key(self) -> tuple[Any, ...]:
        """Structure and hyperparameter values (see `_eager.leaf_key`), computed once."""
        key = self.__dict__.get("_key")
        if key is None:
            leaves, treedef = jax.tree_util.tree_flatten(self)
            key = (treedef, tuple(_eager.leaf_key(x) for x in leaves))
            object.__setattr__(self, "_key", key)
        return key

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, Schedule):
            return NotImplemented
        if self is other:
            return True
        if not (self._is_concrete() and other._is_concrete()):
            return False  # traced hyperparameters: only the same object is known to be equal
        return self._value_key() == other._value_key()

    def __hash__(self) -> int:
        if not self._is_concrete():
            return object.__hash__(self)
        return hash(self._value_key())

    def __getstate__(self) -> dict[str, Any]:
        """The constructor's arguments only: caches (compiled, derived) are left behind."""
        return {name: self._argument(name) for name in self.params}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, self.attrs.get(name, name), value)

    # -- arithmetic -----------------------------------------------------------------------------

    def __add__(self, other: Any) -> Schedule:
        return _arithmetic("add", self, other)

    def __radd__(self, other: Any) -> Schedule:
        return _arithmetic("add", other, self)

    def __sub__(self, other: Any) -> Schedule:
        return _arithmetic("sub", self, other)

    def __rsub__(self, other: Any) -> Schedule:
        return _arithmetic("sub", other, self)

    def __mul__(self, other: Any) -> Schedule:
        return _arithmetic("mul", self, other)

    def __rmul__(self, other: Any) -> Schedule:
        return _arithmetic("mul", other, self)

    def __truediv__(self, other: Any) -> Schedule:
        return _arithmetic("div", self, other)

    def __rtruediv__(self, other: Any) -> Schedule:
        return _arithmetic("div", other, self)

    def __pow__(self, other: Any) -> Schedule:
        return _arithmetic("pow", self, other)

    def __rpow__(self, other: Any) -> Schedule:
        return _arithmetic("pow", other, self)

    def __neg__(self) -> Schedule:
        return _arithmetic("mul", -1.0, self)

    # -- display --------------------------------------------------------------------------------

    def __repr__(self) -> str:
        args = ", ".join(f"{n}={_repr_value(self._argument(n))}" for n in self.params)
        return f"{self.kind}({args})"


# What a field may not be called: what `Schedule` defines itself (`_fields.declare` checks).
_RESERVED = frozenset(dir(Schedule))


def _repr_value(v: Any) -> str:
    """A hyperparameter as it is written in a schedule's repr."""
    if isinstance(v, np.ndarray):
        return repr(v.tolist())
    if isinstance(v, jax.Array) and not _is_tracer(v):
        return repr(np.asarray(v).tolist())
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_repr_value(x) for x in v) + "]"
    return repr(v)


def _arithmetic(op: str, left: Any, right: Any) -> Schedule:
    """``left <op> right`` (see `_arithmetic`, which builds schedules, so is imported here late)."""
    from ._arithmetic import binary_op

    return binary_op(op, left, right)


if not TYPE_CHECKING:  # 1.0 pickles of arithmetic name their class jaxsched._schedule._Binary
    __getattr__ = moved(__name__, {"_Binary": "._arithmetic"})
