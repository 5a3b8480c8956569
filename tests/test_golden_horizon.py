"""Golden parity of the plans: cooldowns, re-warming cycles, WSD-S and noise as jaxsched
expressions, against `tests/golden/horizon.json`, written by `tests/golden/generate_horizon.py`
from each project's own formula (big_vision, Hägele et al., levanter, OLMo-core, transformers,
timm; the file and commit of each are in the generator and in each case's ``reference``).

Each builder below is the jaxsched expression of one source's schedule: what a user of that
project would write to get the same values. Noise is compared as a distribution (PyTorch's and
JAX's random numbers differ), and its window exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js
from tests.helpers import assert_close

CASES = json.loads((Path(__file__).parent / "golden" / "horizon.json").read_text())
BY_ID = {c["id"]: c for c in CASES}
RTOL = 2e-5  # as tests/test_golden.py; every value is > 0 or exactly 0


def big_vision(p, plan):
    """rsqrt with a linear cooldown: big_vision multiplies by min(1, (T - t)/C), a linear anneal
    to 0 that starts at T - C."""
    rsqrt = js.inverse_sqrt(p["base"], p["warmup_steps"], timescale=p["timescale"])
    return js.cooldown(rsqrt, start=plan["cooldown_start"], steps=p["cooldown_steps"])


HAEGELE_SHAPES = {"linear": "linear", "sqrt": "sqrt", "cosine": "cosine",
                  "miror_cosine": "mirror_cosine", "square": "square", "exp": "exponential"}


def haegele(p, plan):
    """WSD: a warmup from lr/init_div_factor, then a cooldown of the constant."""
    lr = p["lr"]
    ramp = js.warmup(js.constant(lr), p["n_warmup"], init_value=lr / p["init_div_factor"])
    return js.cooldown(ramp, start=plan["hold_until"], steps=plan["decay_steps"],
                       shape=HAEGELE_SHAPES[p["decay_type"]],
                       end_value=lr * p["final_lr_factor"])


def levanter(p, plan):
    """Cycles: each re-warms from the previous cycle's end value, holds, and decays; the
    composition (as docs/horizon.md writes it), checked against `wsd_cycles`."""
    lr, floor = p["learning_rate"], p["learning_rate"] * p["min_lr_ratio"]
    pieces = []
    for c in plan["cycles"]:
        stable = c["end"] - c["start"] - c["warmup_steps"] - c["decay_steps"]
        decay = js.cooldown(js.constant(lr), stable, c["decay_steps"], shape=p["lr_schedule"],
                            end_value=floor)
        pieces.append(js.warmup(decay, c["warmup_steps"], init_value=c["warmup_from"]))
    composed = js.join(pieces, boundaries=[c["start"] for c in plan["cycles"][1:]])
    (rewarmup,) = {c["warmup_steps"] for c in plan["cycles"][1:]}
    built = js.wsd_cycles(lr, [c["end"] - c["start"] for c in plan["cycles"]],
                          [c["decay_steps"] for c in plan["cycles"]],
                          warmup_steps=plan["cycles"][0]["warmup_steps"],
                          rewarmup_steps=rewarmup, end_value=floor, shape=p["lr_schedule"])
    assert js.to_config(built) == js.to_config(composed)
    return built


def olmo(p, plan):
    """WSD-S: a warmup in the first period only, then per period a stable phase and a linear
    decay to decay_min_lr. A period after the first starts one step after the previous one's
    end (OLMo-core's periods are (end_{i-1}, end_i]), hence the shift by 1."""
    lr, d, floor = p["initial_lr"], p["decay"], p["decay_min_lr"]
    peaks = [lr * m for m in p["period_lr_multipliers"] or [1.0] * len(p["period_lengths"])]
    lengths = plan["adjusted_period_lengths"]
    pieces = [js.cooldown(js.constant(peaks[0]), lengths[0] - d, d, end_value=floor)]
    pieces += [js.shift(js.cooldown(js.constant(peak), n - d, d, end_value=floor), 1)
               for peak, n in zip(peaks[1:], lengths[1:])]
    cycles = js.join(pieces, boundaries=[e + 1 for e in plan["cum_period_end"][:-1]])
    return js.warmup(cycles, p["warmup"], init_value=p["warmup_min_lr"])


TRANSFORMERS_SHAPES = {"linear": "linear", "cosine": "cosine", "1-sqrt": "sqrt"}


def transformers(p, plan):
    """get_wsd_schedule: a cooldown of a warmed-up constant; both ends at min_lr_ratio·lr."""
    lr, w, floor = p["lr"], p["num_warmup_steps"], p["lr"] * p["min_lr_ratio"]
    ramp = js.warmup(js.constant(lr), w, init_value=floor,
                     shape=TRANSFORMERS_SHAPES[p["warmup_type"]])
    return js.cooldown(ramp, start=w + p["num_stable_steps"], steps=p["num_decay_steps"],
                       shape=TRANSFORMERS_SHAPES[p["decay_type"]], end_value=floor)


BUILDERS = {"big_vision": big_vision, "haegele": haegele, "levanter": levanter, "olmo": olmo,
            "transformers": transformers}


def test_every_source_is_covered():
    sources = {c["source"] for c in CASES}
    assert sources == set(BUILDERS) | {"timm"}, sources


@pytest.mark.parametrize("case_id", [c["id"] for c in CASES if c["source"] in BUILDERS])
def test_plan_matches_its_source(case_id):
    case = BY_ID[case_id]
    s = BUILDERS[case["source"]](case["params"], case["plan"])
    got = jax.jit(s)(jnp.asarray(case["steps"], jnp.int32))
    assert_close(got, case["values"], rtol=RTOL, atol=0.0, what=f"{case_id}: {case['reference']}")


# -- timm's noise ---------------------------------------------------------------------------------


def timm_noise(case, **overrides):
    """The noise factors ε_t of jaxsched's noise with the case's timm settings."""
    p = dict(case["params"], **overrides)
    window = p["noise_range_t"]
    start, end = (window, None) if isinstance(window, int) else window
    s = js.noise(js.constant(1.0), p["noise_seed"], p["noise_std"], start=start, end=end,
                 kind=p["noise_type"], limit=p["noise_pct"])
    return np.asarray(jax.jit(s)(jnp.asarray(case["steps"], jnp.int32)), np.float64) - 1.0


def ks_statistic(a, b):
    """The two-sample Kolmogorov–Smirnov statistic: the largest gap between the two empirical
    distribution functions."""
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    return np.max(np.abs(np.searchsorted(a, grid, side="right") / len(a)
                         - np.searchsorted(b, grid, side="right") / len(b)))


@pytest.mark.parametrize("case_id", [c["id"] for c in CASES
                                     if c["source"] == "timm" and len(c["steps"]) >= 1000])
def test_noise_has_timms_distribution(case_id):
    case = BY_ID[case_id]
    ours, theirs = timm_noise(case), np.asarray(case["values"])
    limit = case["params"]["noise_pct"]
    assert np.all(np.abs(ours) < limit + 1e-6) and np.all(np.abs(theirs) < limit)
    n = len(ours)
    critical = 1.95 * np.sqrt(2 / n)  # the 0.1% critical value of the two-sample test
    assert ks_statistic(ours, theirs) < critical
    # The comparison tells distributions apart: a wider uniform, a normal without timm's clip
    # (limit 1), or one of a third of the spread give a statistic far beyond the critical value.
    p = case["params"]
    if p["noise_type"] == "uniform":
        other = timm_noise(case, noise_pct=2 * limit)
    elif p["noise_std"] >= limit:
        other = timm_noise(case, noise_pct=1.0)
    else:
        other = timm_noise(case, noise_std=p["noise_std"] / 3)
    assert ks_statistic(other, theirs) > 2 * critical


@pytest.mark.parametrize("case_id", [c["id"] for c in CASES
                                     if c["source"] == "timm" and len(c["steps"]) < 1000])
def test_noise_window_matches_timm(case_id):
    case = BY_ID[case_id]
    ours, theirs = timm_noise(case), np.asarray(case["values"])
    np.testing.assert_array_equal(ours == 0, theirs == 0)
    assert np.any(theirs != 0) and np.any(theirs == 0)
