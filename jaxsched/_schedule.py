"""The `Schedule` type: an immutable, jittable pytree ``step -> learning rate``.

Every shape and combinator is a small subclass of `Schedule` that declares its constructor
arguments (`params`), which of them are structure rather than numbers (`static`), and how to
compute its value from a prepared step (`value`). This module gives them all, once:

* pytree registration (numeric hyperparameters and sub-schedules are the children, structure is
  the auxiliary data), so `jax.vmap` over a batch of hyperparameters and `jax.grad` with respect to
  them work;
* ``__call__``: steps of any kind (Python int, NumPy or JAX scalar, array, tracer); eager calls,
  which a logging loop makes every step, run one compiled function per schedule value (`_eager`);
* equality, hashing and pickling by value (kind, structure and hyperparameters);
* arithmetic between schedules and numbers;
* ``repr`` as the expression that builds the schedule, and `to_config` / `from_config`.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import operator
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, dataclass_transform

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _eager, _spellings
from ._checks import FLOAT32_MAX, FLOAT32_TINY
from ._fields import declare, field

__all__ = ["Schedule", "from_config", "to_config"]

# Public constructor name -> the function that builds it (used by `from_config`).
_CONSTRUCTORS: dict[str, Callable[..., Schedule]] = {}


# Public constructor name -> {0.1 argument name: 1.0 name} (see `renamed`).
RENAMED: dict[str, dict[str, str]] = {}


def register(fn: Callable[..., Schedule]) -> Callable[..., Schedule]:
    """Decorator: make a public constructor known to `from_config` under its own name.

    Another library's spelling of an argument (``T_max=``, ``alpha=``) then raises a TypeError
    naming jaxsched's (see `_spellings`).
    """
    own = frozenset(inspect.signature(fn).parameters) | RENAMED.get(fn.__name__, {}).keys()

    @functools.wraps(fn)
    def constructor(*args: Any, **kwargs: Any) -> Schedule:
        if kwargs.keys() - own:
            _spellings.check(fn.__name__, own, kwargs)
        return fn(*args, **kwargs)

    _CONSTRUCTORS[fn.__name__] = constructor
    return constructor


def renamed(**old_to_new: str) -> Callable[[Callable[..., Schedule]], Callable[..., Schedule]]:
    """Decorator: a 0.1 keyword argument raises a TypeError that names its 1.0 spelling.

    The 1.0 API renamed arguments to one vocabulary, without aliases (see CHANGELOG.md), so
    ``cosine_annealing(max_lr=0.1, ...)`` fails with ``max_lr was renamed: init_value``, not a
    bare "unexpected keyword". `from_config` translates the old names of 0.1 configs.
    """

    def decorate(fn: Callable[..., Schedule]) -> Callable[..., Schedule]:
        RENAMED[fn.__name__] = dict(old_to_new)

        @functools.wraps(fn)
        def constructor(*args: Any, **kwargs: Any) -> Schedule:
            for old in kwargs.keys() & old_to_new.keys():
                raise TypeError(f"{fn.__name__}: {old} was renamed: {old_to_new[old]} "
                                f"(jaxsched 1.0; see CHANGELOG.md)")
            return fn(*args, **kwargs)

        return constructor

    return decorate


def _is_tracer(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


def prepare_step(step: Any) -> jax.Array:
    """Turns any step into a non-negative JAX scalar or array, keeping integers integral.

    Integer steps stay integers (int32, or int64 where x64 is enabled), so that cycle positions and
    boundaries are computed exactly. Float steps are allowed (fractional epochs) and are computed in
    floating point. Steps below 0 act as step 0.
    """
    t = jnp.asarray(step)
    if t.dtype == jnp.bool_ or not (
        jnp.issubdtype(t.dtype, jnp.integer) or jnp.issubdtype(t.dtype, jnp.floating)
    ):
        raise TypeError(f"a step must be an integer or a float, got dtype {t.dtype}")
    if jnp.issubdtype(t.dtype, jnp.unsignedinteger):
        t = _signed(t)
    elif jnp.issubdtype(t.dtype, jnp.integer):
        if t.dtype not in (jnp.int32, jnp.int64):
            t = t.astype(jnp.int32)
    elif t.dtype not in (jnp.float32, jnp.float64):
        t = t.astype(jnp.float32)
    t = t.astype(t.dtype)  # drops weak typing: explicit dtypes from here on
    return jnp.maximum(t, jnp.zeros((), t.dtype))


def _signed(t: jax.Array) -> jax.Array:
    """An unsigned step as a signed one (int64 under x64, else int32), without wrapping around.

    A concrete step too large for the signed type raises; a traced one (whose value is not known
    here) saturates at the signed type's largest value, the last step a schedule can be asked.
    """
    wide = jnp.int64 if jax.config.read("jax_enable_x64") else jnp.int32
    largest = np.iinfo(np.dtype(wide)).max
    if t.dtype.itemsize < np.dtype(wide).itemsize:
        return t.astype(wide)
    if not _is_tracer(t):
        if np.size(t) and np.max(np.asarray(t)) > largest:
            raise ValueError(f"a step must be at most {largest} ({np.dtype(wide).name}), got "
                             f"{np.max(np.asarray(t))!r}")
        return t.astype(wide)
    return jnp.minimum(t, jnp.asarray(largest, t.dtype)).astype(wide)


def float_dtype(t: jax.Array) -> Any:
    """The dtype of a schedule's value for the prepared step `t`."""
    return jnp.float64 if t.dtype == jnp.float64 else jnp.float32


def as_float(x: Any, t: jax.Array) -> jax.Array:
    """A hyperparameter as an array of the value dtype for step `t`."""
    return jnp.asarray(x, dtype=float_dtype(t))


def as_count(x: Any, t: jax.Array) -> jax.Array:
    """A length or step hyperparameter in the dtype of step `t` (integer for integer steps)."""
    return jnp.asarray(x).astype(t.dtype)


def step_count(x: Any) -> int | None:
    """A concrete length or step as a Python int (rounded up; the largest of an array), else None.

    For horizons: a fractional length ``n`` is over from step ``ceil(n)`` on; a traced one is
    unknown when the schedule is built.
    """
    if x is None or _is_tracer(x):
        return None
    return int(np.ceil(np.max(np.asarray(x, np.float64))))


def _check_concrete_step(step: Any) -> None:
    """A concrete integer step too large for the signed step type would wrap around when JAX
    converts it (int32, or int64 under x64): raise instead, naming the limit."""
    if isinstance(step, jax.Array):
        if _is_tracer(step) or not jnp.issubdtype(step.dtype, jnp.unsignedinteger):
            return
    elif not isinstance(step, (np.ndarray, np.integer)) or step.dtype.kind not in "iu":
        return
    x64 = jax.config.read("jax_enable_x64")
    largest = np.iinfo(np.int64 if x64 else np.int32).max
    if np.size(step) and np.max(np.asarray(step)) > largest:
        limit = "2**63 - 1" if x64 else "2**31 - 1 (enable x64 for larger steps)"
        raise ValueError(f"a step must be at most {limit}, got {np.max(np.asarray(step))!r}")


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
      step (see `_eager`), with the value a jitted call gives; traced calls are inlined into the
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

    A shape or combinator is a subclass that names its public constructor (``class
    _TanhDecay(Schedule, kind="tanh_decay")``), declares the constructor's arguments once, in
    order, as annotated fields (``field(static=True)`` for structure rather than numbers; see
    `_fields`), and implements `_at`, the value at a prepared step (see `prepare_step`), and
    `_horizon`.
    """

    kind: ClassVar[str] = "schedule"
    # The constructor's arguments in order, those that are structure, and the attribute of an
    # argument stored under another name (`_fields.declare` sets them from the fields).
    params: ClassVar[tuple[str, ...]] = ()
    static: ClassVar[frozenset[str]] = frozenset()
    attrs: ClassVar[dict[str, str]] = {}
    no_config: ClassVar[str] = "its kind is not a registered constructor"

    if TYPE_CHECKING:  # for mypy: subclasses that list `params` by hand, not as fields
        def __getattr__(self, name: str) -> Any: ...

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
        jax.tree_util.register_pytree_with_keys(
            cls, cls._flatten_with_keys, cls._unflatten, cls._flatten
        )

    def _argument(self, name: str) -> Any:
        """The value of the constructor's argument `name`."""
        return getattr(self, self.attrs.get(name, name))

    # -- pytree ---------------------------------------------------------------------------------

    @classmethod
    def _children(cls) -> tuple[str, ...]:
        """The attributes of the numeric arguments and sub-schedules: the pytree's children."""
        return tuple(cls.attrs.get(p, p) for p in cls.params if p not in cls.static)

    @classmethod
    def _aux(cls) -> tuple[str, ...]:
        """The attributes of the static arguments: the pytree's auxiliary data."""
        return tuple(cls.attrs.get(p, p) for p in cls.params if p in cls.static)

    def _flatten(self):
        children = tuple(getattr(self, n) for n in self._children())
        return children, tuple(getattr(self, n) for n in self._aux())

    def _flatten_with_keys(self):
        children = tuple(
            (jax.tree_util.GetAttrKey(n), getattr(self, n)) for n in self._children()
        )
        return children, tuple(getattr(self, n) for n in self._aux())

    @classmethod
    def _unflatten(cls, aux, children):
        obj = object.__new__(cls)
        for name, v in zip(cls._children(), children):
            object.__setattr__(obj, name, v)
        for name, v in zip(cls._aux(), aux):
            object.__setattr__(obj, name, v)
        return obj

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
        eager = self.__dict__.get("_eager")
        if eager is not None and type(step) is int:  # a logging loop's call: nothing to check
            return eager(step)
        _check_concrete_step(step)
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
        return _binary("add", self, other)

    def __radd__(self, other: Any) -> Schedule:
        return _binary("add", other, self)

    def __sub__(self, other: Any) -> Schedule:
        return _binary("sub", self, other)

    def __rsub__(self, other: Any) -> Schedule:
        return _binary("sub", other, self)

    def __mul__(self, other: Any) -> Schedule:
        return _binary("mul", self, other)

    def __rmul__(self, other: Any) -> Schedule:
        return _binary("mul", other, self)

    def __truediv__(self, other: Any) -> Schedule:
        return _binary("div", self, other)

    def __rtruediv__(self, other: Any) -> Schedule:
        return _binary("div", other, self)

    def __pow__(self, other: Any) -> Schedule:
        return _binary("pow", self, other)

    def __rpow__(self, other: Any) -> Schedule:
        return _binary("pow", other, self)

    def __neg__(self) -> Schedule:
        return _binary("mul", -1.0, self)

    # -- display --------------------------------------------------------------------------------

    def __repr__(self) -> str:
        args = ", ".join(f"{n}={_repr_value(self._argument(n))}" for n in self.params)
        return f"{self.kind}({args})"


# What a field may not be called: what `Schedule` defines itself (`_fields.declare` checks).
_RESERVED = frozenset(dir(Schedule))


def _repr_value(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return repr(v.tolist())
    if isinstance(v, jax.Array) and not _is_tracer(v):
        return repr(np.asarray(v).tolist())
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_repr_value(x) for x in v) + "]"
    return repr(v)


# -- arithmetic -----------------------------------------------------------------------------------

_OPS: dict[str, tuple[Callable[[Any, Any], Any], str]] = {
    "add": (operator.add, "+"),
    "sub": (operator.sub, "-"),
    "mul": (operator.mul, "*"),
    "div": (operator.truediv, "/"),
    "pow": (operator.pow, "**"),
}


def _operand_value(x: Any, t: jax.Array) -> jax.Array:
    return x._at(t) if isinstance(x, Schedule) else as_float(x, t)


class _Binary(Schedule):
    """Pointwise arithmetic between two schedules, or a schedule and a number."""

    kind = "binary"
    params = ("op", "left", "right")
    static = frozenset({"op"})

    def _at(self, t):
        fn, _ = _OPS[self.op]
        if self.op == "div" and not isinstance(self.right, Schedule) and not _is_tracer(
                self.right):
            # A multiplication by the float64 reciprocal: XLA would rewrite the division by a
            # constant as one anyway, but not in every compiled form (so eager, jit and scan
            # could differ by an ulp).
            reciprocal = 1.0 / np.asarray(self.right, np.float64)
            return _operand_value(self.left, t) * as_float(reciprocal, t)
        return fn(_operand_value(self.left, t), _operand_value(self.right, t))

    def _horizon(self):
        horizons = [x.horizon if isinstance(x, Schedule) else 0 for x in (self.left, self.right)]
        known = [h for h in horizons if h is not None]
        return max(known) if len(known) == len(horizons) else None

    def __repr__(self) -> str:
        _, symbol = _OPS[self.op]
        return f"({_repr_value(self.left)} {symbol} {_repr_value(self.right)})"


def _check_operand(x: Any) -> None:
    if isinstance(x, Schedule):
        return
    if isinstance(x, (bool, np.bool_)) or not (
        isinstance(x, numbers.Real) or isinstance(x, (np.ndarray, jax.Array))
    ):
        raise TypeError(f"a schedule combines with numbers or schedules, got {type(x).__name__}")
    if not _is_tracer(x):
        magnitude = np.abs(np.asarray(x, np.float64))
        if not np.all(np.isfinite(magnitude) & (magnitude <= FLOAT32_MAX)):
            raise ValueError(f"a schedule combines with numbers finite in float32, got {x!r}")
        if not np.all((magnitude == 0) | (magnitude >= FLOAT32_TINY)):
            raise ValueError(f"a schedule combines with 0 or numbers of magnitude at least "
                             f"{FLOAT32_TINY:.4g} (float32's smallest normal number), got {x!r}")


def _binary(op: str, left: Any, right: Any) -> Schedule:
    _check_operand(left)
    _check_operand(right)
    if op == "div" and not isinstance(right, Schedule) and not _is_tracer(right):
        # A nonzero divisor is at least FLOAT32_TINY in magnitude, so its reciprocal is finite.
        if np.any(np.asarray(right) == 0):
            raise ValueError(f"a schedule cannot be divided by zero, got divisor {right!r}")
    return _Binary(op=op, left=left, right=right)



# -- configs --------------------------------------------------------------------------------------


def _to_json(v: Any, path: str) -> Any:
    if isinstance(v, Schedule):
        return _to_config(v, path)
    if isinstance(v, (list, tuple)):
        return [_to_json(x, f"{path}[{i}]") for i, x in enumerate(v)]
    if _is_tracer(v):
        raise ValueError(f"{path}: a traced value cannot be written to a config")
    if isinstance(v, (np.ndarray, jax.Array, np.generic)):
        return np.asarray(v).tolist()
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise ValueError(f"{path}: {type(v).__name__} cannot be written to a config")


def to_config(schedule: Schedule) -> dict[str, Any]:
    """A JSON-serialisable description of a schedule; `from_config` rebuilds it exactly.

    Args:
      schedule: any built-in schedule or combinator.

    Returns:
      A dict ``{"kind": <constructor name>, <argument>: <value>, ...}``; nested schedules are nested
      dicts and arrays are lists.

    Example:
      >>> import jaxsched as js
      >>> js.to_config(js.cosine_annealing(0.1, 100))
      {'kind': 'cosine_annealing', 'init_value': 0.1, 'steps': 100, 'end_value': 0.0, 'k': 1.0}
    """
    if type(schedule).__name__ == "LossLaw":  # a fitted loss law (jaxsched._laws) writes itself
        return schedule.to_config()
    return _to_config(schedule, "")


def _to_config(schedule: Schedule, path: str) -> dict[str, Any]:
    if not isinstance(schedule, Schedule) and not _is_plain_value(schedule):
        raise TypeError(f"to_config takes a Schedule, got {type(schedule).__name__}")
    if schedule.kind not in _CONSTRUCTORS:
        raise ValueError(
            f"{path or 'schedule'}: {schedule!r} cannot be written to a config: "
            f"{schedule.no_config}")
    config: dict[str, Any] = {"kind": schedule.kind}
    for name in schedule.params:
        sub = f"{path}.{name}" if path else name
        config[name] = _to_json(schedule._argument(name), sub)
    return config


def _is_plain_value(x: Any) -> bool:
    """A registered plain value other than a schedule (a `batch_ramp` plan): a `kind` whose
    constructor is registered, and the constructor's arguments as attributes (`params`)."""
    return isinstance(getattr(type(x), "params", None), tuple) and getattr(
        type(x), "kind", None) in _CONSTRUCTORS


def _is_numeric_list(v: Any) -> bool:
    """A (nested) list of numbers: an array hyperparameter that `to_config` wrote as a list."""
    if isinstance(v, list):
        return bool(v) and all(_is_numeric_list(x) for x in v)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _from_json(v: Any, path: str) -> Any:
    if isinstance(v, Mapping):
        return _from_config(v, path)
    if isinstance(v, list) and _is_numeric_list(v):
        try:
            return np.asarray(v)  # arrays of hyperparameters, boundaries and values
        except ValueError:
            raise ValueError(f"{path} must be a list of numbers or an array of one shape, got "
                             f"the ragged list {v!r}") from None
    if isinstance(v, list):
        return [_from_json(x, f"{path}[{i}]") for i, x in enumerate(v)]
    return v


def from_config(config: Mapping[str, Any]) -> Schedule:
    """Builds the schedule that `to_config` described.

    Every argument goes through the public constructor, so a config is validated exactly as code
    is; errors name the path of the bad field, e.g. ``schedules[2].steps``. A config written by
    jaxsched 0.1 loads: its renamed fields (``max_lr``, ``cycle_length``, ...; see CHANGELOG.md)
    are read under their 1.0 names.

    Args:
      config: a dict with ``"kind"`` and the constructor's arguments (missing ones take their
        defaults).

    Returns:
      The schedule.

    Example:
      >>> import jaxsched as js
      >>> s = js.from_config({"kind": "step_decay", "init_value": 0.1, "every": 30})
      >>> f"{float(s(30)):.4f}"
      '0.0100'
    """
    return _from_config(config, "")


def _from_config(config: Mapping[str, Any], path: str) -> Schedule:
    """`from_config` for the field at `path` ("" at the top), which error messages name."""
    where = path or "config"
    if not isinstance(config, Mapping):
        raise ValueError(f"{where}: expected a dict with a 'kind', got {type(config).__name__}")
    if "kind" not in config:
        raise ValueError(f"{where}: missing field 'kind'")
    kind = config["kind"]
    if not isinstance(kind, str) or kind not in _CONSTRUCTORS:
        known = ", ".join(sorted(_CONSTRUCTORS))
        raise ValueError(f"{where}.kind: unknown kind {kind!r}; known kinds: {known}")
    constructor = _CONSTRUCTORS[kind]
    fields = inspect.signature(constructor).parameters
    prefix = f"{path}." if path else ""
    config = _translate_0_1(kind, config, prefix)
    for name in config:
        if name != "kind" and name not in fields:
            foreign = _spellings.hint(kind, fields, name)
            raise ValueError(f"{prefix}{name}: unknown field for {kind}"
                             f"{f' ({foreign})' if foreign else ''}; its fields: "
                             f"{', '.join(fields)}")
    for name, p in fields.items():
        if p.default is inspect.Parameter.empty and name not in config:
            raise ValueError(f"{prefix}{name}: missing field, required by {kind}")
    kwargs = {}
    for name, v in config.items():
        if name != "kind":
            kwargs[name] = _from_json(v, f"{prefix}{name}")
    try:
        return constructor(**kwargs)
    except TypeError as e:
        raise ValueError(f"{where}: {e}") from None
    except ValueError as e:
        raise ValueError(_prefix_path(str(e), path)) from None


def _translate_0_1(kind: str, config: Mapping[str, Any], prefix: str) -> Mapping[str, Any]:
    """A config written by jaxsched 0.1, with its renamed fields under their 1.0 names."""
    renames = RENAMED.get(kind, {})
    if not renames.keys() & config.keys():
        return config
    translated = {}
    for name, v in config.items():
        new = renames.get(name, name)
        if new in translated or (new != name and new in config):
            raise ValueError(f"{prefix}{name}: both {name} (its 0.1 name) and {new} are given")
        translated[new] = v
    return translated


def _prefix_path(message: str, path: str) -> str:
    """Turns 'steps must be ...' into 'schedules[2].steps must be ...'."""
    if not path or message.startswith(path):
        return message
    return f"{path}.{message}"


@register
def binary(op: str, left: Any, right: Any) -> Schedule:
    """``left <op> right``, op one of "add", "sub", "mul", "div", "pow": what ``s + x`` builds.

    ``s / x`` with a number ``x`` multiplies by ``1 / x``, taken in float64, so that the compiled
    forms agree (XLA rewrites a division by a constant in some of them only); the result is at
    most one float32 rounding from the quotient. ``s ** x`` is ``jnp.power``: a negative value
    raised to a non-integral power is NaN, and 0 to a negative power is inf, which cannot be
    checked when the schedule is built (as a division by a schedule).
    """
    if op not in _OPS:
        raise ValueError(f"op must be one of {sorted(_OPS)}, got {op!r}")
    return _binary(op, left, right)

