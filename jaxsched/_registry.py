"""The registry of public constructors: the kinds `from_config` builds, by name.

`register` makes a constructor known under its own name (and answers another library's spelling
of an argument with jaxsched's, see `_spellings`); `renamed` records the arguments that 1.0
renamed, so that a 0.1 keyword raises a TypeError naming its new spelling and a 0.1 config loads.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import _spellings

if TYPE_CHECKING:
    from ._schedule import Schedule

__all__ = ["CONFIG_KEYS", "RENAMED", "moved", "register", "renamed"]

# Public constructor name -> the function that builds it (used by `from_config`).
_CONSTRUCTORS: dict[str, Callable[..., Schedule]] = {}


# Public constructor name -> {0.1 argument name: 1.0 name} (see `renamed`).
RENAMED: dict[str, dict[str, str]] = {}

# Public constructor name -> {config key: argument} for the arguments a config writes under
# another key: one named `kind` (a config's "kind" is the constructor's name) goes under its
# attribute's name (`noise`'s `kind` is written "distribution"). `_fields.declare` fills it.
CONFIG_KEYS: dict[str, dict[str, str]] = {}


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


def moved(module: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for classes that moved to another module of the package.

    A pickle names a schedule's class by the module that defined it when it was written (e.g.
    ``jaxsched._schedule._Binary`` in 1.0); the old module answers for it on first use.

    Args:
      module: the old module's ``__name__``.
      names: class name -> the module it lives in now (``"._arithmetic"``).

    Returns:
      The function to assign to the old module's ``__getattr__``.
    """

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(names[name], __package__), name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
