"""The suggestion rules of `lr_find` (plain NumPy on the host): when a fall of the smoothed
loss is beyond its noise, and where each rule ("steep", "valley", "minimum") puts the lr.

`LRFindResult.suggest` documents the rules and the noise test.
"""

from __future__ import annotations

import bisect
import functools
import math

import numpy as np

SUGGESTION_METHODS = ("steep", "valley", "minimum")
MIN_POINTS = 3  # fewest points any suggestion rule is computed from
# The noise a fall of the smoothed loss must exceed (see `LRFindResult.suggest`):
ROUNDING_ULPS = 4  # the float32 moving average's rounding error: 4 ulps per 1 / (1 - smoothing)
CHANCE = 0.01  # how often a model that does not learn may seem to (a fall beyond noise)
SIMULATIONS = 2000  # simulated sweeps that set the batch noise's part of that noise
FLOAT32_EPS = float(np.finfo(np.float32).eps)  # 2**-23
MAD_TO_STD = 0.6745  # the median of |N(0, 1)|


def fall_and_noise(losses: np.ndarray, smoothed: np.ndarray, beta: float,
                    skip_start: int) -> tuple[float, float]:
    """The fall of `smoothed` that most exceeds its noise, and that noise (`suggest`)."""
    falls = np.maximum.accumulate(smoothed) - smoothed
    rounding = ROUNDING_ULPS * FLOAT32_EPS / (1 - beta) * np.maximum.accumulate(np.abs(smoothed))
    j = int(np.argmax(falls - rounding))
    q = _chance_fall(len(losses), beta, skip_start)
    return float(falls[j]), float(rounding[j] + q * _sigma(losses))


def _sigma(losses: np.ndarray) -> np.ndarray:
    """The noise of the losses (along the last axis) from their successive differences."""
    steps = np.diff(losses, axis=-1)
    deviations = np.abs(steps - np.median(steps, axis=-1, keepdims=True))
    return np.median(deviations, axis=-1) / (MAD_TO_STD * math.sqrt(2))


@functools.lru_cache(maxsize=16)
def _chance_fall(num_points: int, beta: float, skip_start: int) -> float:
    """The q of `suggest`: the fall, in units of `_sigma`, that independent N(0, 1) losses
    exceed in a fraction `CHANCE` of `SIMULATIONS` sweeps (a fixed seed: always the same q)."""
    rng = np.random.default_rng(0)
    block = max(1, min(SIMULATIONS, 2**21 // (skip_start + num_points)))  # <= 16 MB at a time
    ratios = []
    for done in range(0, SIMULATIONS, block):  # step i of every simulated sweep is row i
        losses = rng.standard_normal((skip_start + num_points, min(block, SIMULATIONS - done)))
        smoothed, average = np.empty_like(losses), 0.0
        for i, loss in enumerate(losses):
            average = beta * average + (1 - beta) * loss
            smoothed[i] = average / (1 - beta ** (i + 1))
        smoothed, losses = smoothed[skip_start:], losses[skip_start:]
        falls = np.max(np.maximum.accumulate(smoothed, axis=0) - smoothed, axis=0)
        ratios.append(falls / _sigma(losses.T))
    return float(np.quantile(np.concatenate(ratios), 1 - CHANCE))


def steep(lrs: np.ndarray, losses: np.ndarray) -> tuple[float | None, str | None]:
    if len(lrs) < 2:  # linear mode, min_lr = 0 among the few usable points
        return None, f"only {len(lrs)} usable points with lr > 0."
    slopes = np.gradient(losses, np.log(lrs))
    i = int(np.argmin(slopes))
    if not slopes[i] < 0:
        return None, "the smoothed loss never falls over the usable points; lower min_lr."
    return float(lrs[i]), None


def valley(lrs: np.ndarray, losses: np.ndarray) -> tuple[float | None, str | None]:
    # length[i]: the longest strictly decreasing subsequence ending at i, by patience sorting
    # (O(n log n); fastai's double loop is O(n^2)).
    values = losses.tolist()
    length: list[int] = []
    tails: list[float] = []  # tails[k]: the highest last value of a run of length k + 1
    for value in values:
        k = bisect.bisect_left(tails, -value)
        tails[k:k + 1] = [-value]
        length.append(k + 1)
    end = length.index(max(length))  # the first end of a longest run, as in fastai
    if length[end] < 2:
        return None, "the smoothed loss never falls over the usable points; lower min_lr."
    # Back from the end through the earliest predecessor each time (fastai's choice). Points
    # with the same length have non-decreasing losses (a higher earlier one would lengthen the
    # later one's run), so the earliest predecessor higher than the current point is found by
    # bisection in its length class.
    members: dict[int, list[int]] = {}
    for i, n in enumerate(length):
        members.setdefault(n, []).append(i)
    start = end
    while length[start] > 1:
        group = members[length[start] - 1]
        k = bisect.bisect_right([values[j] for j in group], values[start])
        start = group[k]
    third = (end - start) / 3
    return float(lrs[start + int(third) + int(third / 2)]), None
