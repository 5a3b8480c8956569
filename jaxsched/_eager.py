"""Eager calls (what a logging loop does every step) and the value a schedule is.

A schedule called eagerly (concrete step and hyperparameters) runs `compiled(schedule)`: its
evaluation under `jax.jit`, with the hyperparameters as constants of the compiled program, as in a
train step that closes over the schedule, so an eager value is the value ``jax.jit(s)(step)``
gives, bit for bit. It compiles once, for each kind of step (Python int, float, an array shape),
on the first call: one small compilation (tens of milliseconds on a CPU). `compiled` is cached by
schedule value (schedules compare and hash by value: `leaf_key`, `Schedule.__eq__`), so a
schedule equal to one already called reuses its function and executables: rebuilding
``js.cosine_annealing(lr, n)`` every step does not recompile. The schedule keeps a reference to
its function for the next calls (a dictionary lookup, no hashing); pickling, copying, ``==``,
``hash`` and ``repr`` ignore it. The cache holds the last 64 schedule values (each compiled
function with its executables is about 2.5 MB: 4,096 of them were a 10 GB ceiling, and a sweep
over 500 values kept 820 MB; benchmarks/README.md); a schedule that is still referenced keeps its
own function. (Designs tried and dropped, with their timings: benchmarks/README.md, "Eager
calls and SGDR".)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import numpy as np


@functools.lru_cache(maxsize=64)  # bounds the memory: see the module's docstring
def compiled(schedule: Any) -> Callable[[Any], jax.Array]:
    """The jitted evaluation of `schedule`: one per schedule value (equal schedules share it)."""
    return jax.jit(schedule._evaluate)


def leaf_key(x: Any) -> tuple[Any, ...]:
    """A hashable key that is equal for two hyperparameters exactly when they trace alike.

    Python numbers by type and value (``100`` and ``100.0`` differ: integer and float
    arithmetic; so do ``0.0`` and ``-0.0``); arrays (NumPy, JAX, NumPy scalars) by dtype, weak
    type, shape and bytes.
    """
    if isinstance(x, (np.ndarray, np.generic, jax.Array)):
        array = np.asarray(x)
        weak = bool(getattr(x, "weak_type", False))
        return ("array", array.dtype.str, weak, array.shape, array.tobytes())
    if isinstance(x, float):  # -0.0 == 0.0, but 1 / -0.0 is -inf: the sign is part of the key
        return (float, x, math.copysign(1.0, x))
    return (type(x), x)
