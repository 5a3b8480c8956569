"""Eager calls: what a logging loop does every step, made cheap.

A schedule called eagerly (concrete step and hyperparameters) runs one compiled function cached on
the schedule. Dispatching it still costs a few microseconds, most of it turning a Python int into
a device array. Logging loops call with steps in arithmetic progression (every step, or every k
steps), so once a few consecutive calls have shown the stride, the next `BLOCK` values of the
progression are computed by one call of the same compiled function on an array of steps, split
into scalar arrays, and served from the cache: an index computation per call. The values are the
compiled schedule's own, the same a jitted call gives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np

BLOCK = 256
_PROGRESSION = 4  # consecutive misses in one progression before a block is computed
_INT32_MAX = 2**31 - 1


@jax.jit
def _split(values: jax.Array) -> tuple[jax.Array, ...]:
    """One compiled data movement (shared by all schedules): an array into scalar arrays."""
    return tuple(values[i] for i in range(values.shape[0]))


class EagerCache:
    """The compiled function and the prefetched block of one schedule."""

    __slots__ = ("_single", "_block", "_last", "_run")

    def __init__(self, evaluate: Callable[[Any], jax.Array]):
        self._single = jax.jit(evaluate)
        self._block: tuple[int, int, tuple[jax.Array, ...]] | None = None
        self._last = (None, None)  # step and stride of the last miss
        self._run = 0  # how many misses in a row followed that stride

    def __call__(self, step: Any) -> jax.Array:
        if type(step) is not int:
            return self._single(step)
        block = self._block
        if block is not None:
            start, stride, values = block
            index, rest = divmod(step - start, stride)
            if rest == 0 and 0 <= index < BLOCK:
                return values[index]
        return self._miss(step)

    def _miss(self, step: int) -> jax.Array:
        block = self._block
        if block is not None and step == block[0] + block[1] * BLOCK:  # the progression goes on
            self._last = (step - block[1], block[1])
        last_step, last_stride = self._last
        stride = None if last_step is None else step - last_step
        self._run = self._run + 1 if stride is not None and stride == last_stride else 0
        self._last = (step, stride)
        if self._run < _PROGRESSION or not (
            stride > 0 and 0 <= step <= _INT32_MAX - stride * (BLOCK - 1)
        ):
            return self._single(step)
        # The same compiled function on an array of steps: the same values a jitted call gives.
        steps = np.arange(step, step + stride * BLOCK, stride, dtype=np.int32)
        values = _split(self._single(steps))
        self._block = (step, stride, values)
        return values[0]

    def cache_size(self) -> int:
        """Number of compiled variants of the schedule's function (for tests)."""
        return self._single._cache_size()
