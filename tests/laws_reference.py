"""The two loss laws evaluated directly in float64 NumPy, every term of their sums (for tests).

Written from the formulas (Luo et al. 2025, eq. of the multi-power law; Tissue et al. 2024), not
from jaxsched's code: S_k(t) is summed afresh for each t (a reversed cumulative sum of the rates
up to t), every step k = 1..t is a term (zero changes included), and the momentum is run step by
step.
"""

import numpy as np


def multi_power(params, rates, t):
    """L(t) of the multi-power law for the rates eta_0..eta_T (T >= t)."""
    p = params
    eta = np.asarray(rates, np.float64)[: t + 1]
    s_from = np.cumsum(eta[::-1])[::-1]  # s_from[k] = sum_{tau=k..t} eta_tau
    ld = 0.0
    for k in range(1, t + 1):
        change = eta[k] - eta[k - 1]
        if change == 0.0:
            continue
        if eta[k] > 0:
            kept = (1.0 + p["C"] * eta[k] ** -p["gamma"] * s_from[k]) ** -p["beta"]
        else:  # the limit eta_k -> 0
            kept = 0.0 if s_from[k] > 0 else 1.0
        ld += change * (1.0 - kept)
    return p["L0"] + p["A"] * s_from[0] ** -p["alpha"] + p["B"] * ld


def momentum(params, rates, t, decay=0.999):
    """L(t) of the momentum law for the rates eta_0..eta_T (T >= t)."""
    p = params
    eta = np.asarray(rates, np.float64)
    m = s2 = 0.0
    for i in range(1, t + 1):
        m = decay * m + (eta[i - 1] - eta[i])
        s2 += m
    return p["L0"] + p["A"] * np.sum(eta[: t + 1]) ** -p["alpha"] - p["C"] * s2
