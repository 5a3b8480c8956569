"""Eager calls (what a logging loop does every step) and the value a schedule is.

A schedule called eagerly (concrete step and hyperparameters) runs `evaluate`: one jitted function
for all schedules, with the schedule as a static argument. The schedule's hyperparameters are then
constants of the compiled program, as in a train step that closes over the schedule, so an eager
value is the value ``jax.jit(s)(step)`` gives, bit for bit. A schedule compiles once, for each
kind of step (Python int, float, an array shape), on its first call: one small compilation (tens
of milliseconds on a CPU). Schedules compare and hash by value (`leaf_key`, `Schedule.__eq__`),
so a schedule equal to one already called reuses its executable: rebuilding
``js.cosine_annealing(lr, n)`` every step does not recompile. The executables live in jax's own
caches (bounded, least recently used first out; `jax.clear_caches` empties them), not on the
schedule, which stays a plain value: it pickles, copies and compares without them.

Tried and dropped (measured on the shared 2-core CPU, 2026-12-02; benchmarks/README.md, Shapes):

* Prefetching blocks of 256 values for steps in arithmetic progression: about 20% cheaper per
  call, but its compilation (a 256-output split) stalled the 6th call of every fresh schedule
  for 1.8-3 s.
* The hyperparameters as traced arguments of one function per structure (one compilation per
  kind of schedule): each call converts every hyperparameter to a device array (29 µs a call
  with the value read, against 13 µs), and the values are those of a traced schedule, which can
  differ by an ulp from the constants' (float64 work on the host is then done in float32).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import numpy as np


@functools.partial(jax.jit, static_argnums=0)
def evaluate(schedule: Any, step: Any) -> jax.Array:
    """The schedule's value at `step`, compiled once per (schedule value, kind of step)."""
    return schedule._evaluate(step)


def leaf_key(x: Any) -> tuple[Any, ...]:
    """A hashable key that is equal for two hyperparameters exactly when they trace alike.

    Python numbers by type and value (``100`` and ``100.0`` differ: integer and float
    arithmetic); arrays (NumPy, JAX, NumPy scalars) by dtype, weak type, shape and bytes.
    """
    if isinstance(x, (np.ndarray, np.generic, jax.Array)):
        array = np.asarray(x)
        weak = bool(getattr(x, "weak_type", False))
        return ("array", array.dtype.str, weak, array.shape, array.tobytes())
    return (type(x), x)
