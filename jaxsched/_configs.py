"""Configs: `to_config` writes a schedule as JSON-ready data, `from_config` rebuilds it through
its public constructor (so a config is checked as code is), and a 0.1 config loads under the
1.0 names (`_translate_0_1`)."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

from . import _arithmetic, _spellings  # noqa: F401  # _arithmetic registers "binary"
from ._checks import is_traced
from ._registry import _CONSTRUCTORS, CONFIG_KEYS, RENAMED
from ._schedule import Schedule

__all__ = ["from_config", "to_config"]


def _to_json(v: Any, path: str) -> Any:
    if isinstance(v, Schedule):
        return _to_config(v, path)
    if isinstance(v, (list, tuple)):
        return [_to_json(x, f"{path}[{i}]") for i, x in enumerate(v)]
    if is_traced(v):
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
        return schedule.to_config()  # type: ignore[attr-defined]
    return _to_config(schedule, "")


def _to_config(schedule: Schedule, path: str) -> dict[str, Any]:
    if not isinstance(schedule, Schedule) and not _is_plain_value(schedule):
        raise TypeError(f"to_config takes a Schedule, got {type(schedule).__name__}")
    if schedule.kind not in _CONSTRUCTORS:
        raise ValueError(
            f"{path or 'schedule'}: {schedule!r} cannot be written to a config: "
            f"{schedule.no_config}")
    config: dict[str, Any] = {"kind": schedule.kind}
    keys = {argument: key for key, argument in CONFIG_KEYS.get(schedule.kind, {}).items()}
    for name in schedule.params:
        key = keys.get(name, name)
        config[key] = _to_json(schedule._argument(name), f"{path}.{key}" if path else key)
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
    arguments = CONFIG_KEYS.get(kind, {})  # config key -> argument, where they differ
    keys = {argument: key for key, argument in arguments.items()}
    fields = {keys.get(name, name): p
              for name, p in inspect.signature(constructor).parameters.items()}
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
            kwargs[arguments.get(name, name)] = _from_json(v, f"{prefix}{name}")
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
