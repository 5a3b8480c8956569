"""reduce_on_plateau fuzzed against a plain Python reference of the documented rules (API.md §4).

Hypothesis draws the options (mode, threshold_mode, factor, patience, threshold, cooldown,
min_scale, accumulation_steps) and a metric sequence built from pieces: fresh values of any sign
and magnitude, values on a coarse grid (repeats, zero crossings), NaN, +inf and -inf, long flat
stretches, values *exactly at the improvement bound* of the best so far (or one float32 ulp
either side), and values between that bound and the best (improvements under a wrong sign).
A second test strings knife edges together: one observation after another at the bound of the
current best. Every update's state (scale, best_value, wait, cooldown_count, count,
accumulated_value) and its update are compared with `_reference`, exactly.

Float32, and the choice made here: the library's state and arithmetic are float32, and the
decision at the knife edge (a value at ``best - |best| * threshold``) depends on what is
rounded. The reference therefore computes in float64 Python but rounds to float32 (`f32`) at
each place where the documented computation (`js.reduce_on_plateau`'s docstring: the test is
``best - v > margin``) holds a float32: the margin ``|best| * threshold``, the difference
``best - v`` (``v - best`` in "max" mode), the running sum of a window, the mean, and the scale
product. One IEEE operation on float32 inputs carried out in float64 and rounded once to
float32 gives the float32 result exactly, so this mirrors float32 arithmetic bit for bit
without borrowing anything from the library, and the knife-edge draws are kept, not avoided
(`test_knife_edge_is_decided_in_float32` shows that a float64 reference would disagree there).
All drawn values are float32 numbers (``width=32``).

This fuzzing found that the library's former test ``v < best - |best| * threshold`` was fused
into a multiply-add under jit (one rounding) but not in eager mode (two roundings), so the two
could take different decisions at the bound. The regression test:
`test_eager_and_jit_take_the_same_decision_at_the_bound`.

What is kept away on purpose: subnormal numbers. XLA on CPU flushes them to zero, which the
library documents for the scale only. Finite metric values are 0 or have a magnitude in
[2**-60, 2**60] and thresholds are 0 or at least 1e-6, so no margin, difference, sum or mean is
subnormal; a scale that underflows (tiny factors, ``min_scale=0``) is allowed to be flushed
to 0, as documented, and compared exactly otherwise.

The first finite observation always becomes the best (documented in `js.reduce_on_plateau`:
PyTorch's initial best is +-inf and its "rel" test with threshold >= 1 would never leave it).

Cost: one jitted runner (`_run`, a `lax.scan` over the sequence) shared by every example, with
every numeric hyperparameter passed as a traced array and the sequence padded to ``LENGTH``:
one compilation per (mode, threshold_mode), four in all. The golden PyTorch sequences are
checked in tests/test_plateau.py.
"""

from __future__ import annotations

import functools
import math
import types
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

import jaxsched as js
from tests.helpers import f32, plateau_improves, plateau_reference

LENGTH = 96  # every sequence is padded to this many updates; only its first n are compared
TINY = float(np.finfo(np.float32).tiny)
LOW, HIGH = 2.0**-60, 2.0**60  # magnitudes of finite nonzero metric values


# -- the reference ---------------------------------------------------------------------------


def _bound(best: float, mode: str, threshold_mode: str, threshold: float) -> float:
    """About where the decision flips for a finite `best`: the float32 nearest to
    ``best -/+ margin`` (for drawing values at the knife edge, not part of the reference)."""
    margin = f32(abs(best) * threshold) if threshold_mode == "rel" else threshold
    return f32(best - margin) if mode == "min" else f32(best + margin)


# -- the library, one compiled runner ----------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("mode", "threshold_mode"))
def _run(values, hp, *, mode, threshold_mode):
    """The updates (of a 1) and the state after every update of ``values``; ``hp`` traced."""
    tx = js.reduce_on_plateau(**hp, mode=mode, threshold_mode=threshold_mode)

    def body(state, v):
        updates, state = tx.update(jnp.ones((), jnp.float32), state, value=v)
        return state, (updates, state)

    return jax.lax.scan(body, tx.init(None), values)[1]


def _library(values, options):
    n = len(values)
    padded = np.zeros(LENGTH, np.float32)
    padded[:n] = values
    assert np.array_equal(padded[:n], np.asarray(values), equal_nan=True)  # float32 values
    hp = {
        "factor": jnp.float32(options["factor"]),
        "patience": jnp.int32(options["patience"]),
        "threshold": jnp.float32(options["threshold"]),
        "cooldown": jnp.int32(options["cooldown"]),
        "min_scale": jnp.float32(options["min_scale"]),
        "accumulation_steps": jnp.int32(options["accumulation_steps"]),
    }
    updates, states = _run(jnp.asarray(padded), hp, mode=options["mode"],
                           threshold_mode=options["threshold_mode"])
    fields = {name: np.asarray(x)[:n] for name, x in states.unpack().items()}
    return np.asarray(updates)[:n], types.SimpleNamespace(**fields)


# -- what hypothesis draws ---------------------------------------------------------------------


def _f32s(lo, hi, **kw):
    return st.floats(f32(lo), f32(hi), width=32, allow_nan=False, allow_subnormal=False, **kw)


_magnitude = _f32s(LOW, HIGH)
_fresh = st.one_of(
    st.builds(lambda m, negative: -m if negative else m, _magnitude, st.booleans()),
    st.integers(-40, 40).map(lambda i: i / 8.0),   # a grid: exact sums, repeats, zero crossings
    st.sampled_from([0.0, -0.0, 1.0, -1.0]),
)
_special = st.sampled_from([math.nan, math.inf, -math.inf])
_repeats = st.one_of(st.integers(1, 3), st.integers(1, 30))  # single values, flat stretches
_ulps = st.sampled_from([-1, 0, 0, 1])  # an "edge" piece: ulps beyond the bound
_piece = st.one_of(  # (kind, value, ulps, repeats)
    st.tuples(st.just("fresh"), _fresh, st.just(0), _repeats),
    st.tuples(st.just("special"), _special, st.just(0), _repeats),
    st.tuples(st.sampled_from(["again", "edge", "inside"]), st.just(0.0), _ulps, _repeats),
    st.lists(st.integers(-4, 4).map(lambda i: i / 32), min_size=1, max_size=24).map(
        lambda steps: ("walk", steps, 0, len(steps))),  # a loss curve
)


def _normal(x: float) -> bool:
    """0 or a finite magnitude in [LOW, HIGH]: what every drawn finite value is."""
    return x == 0 or LOW <= abs(x) <= HIGH


def _beside(x: float, ulps: int) -> float:
    """The float32 `ulps` steps from x (toward +inf for ulps > 0)."""
    y = np.float32(x)
    for _ in range(abs(ulps)):
        y = np.nextafter(y, np.float32(math.copysign(math.inf, ulps)))
    return float(y)


_options = st.fixed_dictionaries({
    "mode": st.sampled_from(["min", "max"]),
    "threshold_mode": st.sampled_from(["rel", "abs"]),
    "factor": st.one_of(st.sampled_from([0.1, 0.5]).map(f32), _f32s(1e-6, 1.0, exclude_max=True)),
    "patience": st.one_of(st.integers(0, 3), st.integers(0, 40)),
    "threshold": st.one_of(st.sampled_from([0.0, 1e-4, 0.1, 1.0]).map(f32), _f32s(1e-6, 4.0)),
    "cooldown": st.one_of(st.integers(0, 2), st.integers(0, 20)),
    "min_scale": st.one_of(st.just(0.0), st.sampled_from([0.05, 0.3]).map(f32),
                           _f32s(1e-6, 1.0, exclude_max=True)),
    "accumulation_steps": st.one_of(st.just(1), st.integers(1, 6)),
})
# Knife edges: one value per observation, each at (or an ulp beside, or inside) the bound of the
# best so far, now and then a fresh value to move elsewhere.
_edge_piece = st.tuples(st.sampled_from(["edge", "edge", "edge", "inside", "fresh"]), _fresh,
                        st.sampled_from([-1, 0, 1]), st.just(1))


@st.composite
def cases(draw, knife_edges=False):
    options = draw(_options)
    if knife_edges:
        options["accumulation_steps"] = 1
        pieces = draw(st.tuples(_fresh.map(lambda v: ("fresh", v, 0, 1)),
                                st.lists(_edge_piece, min_size=8, max_size=LENGTH - 1)))
        pieces = [pieces[0], *pieces[1]]
    else:
        pieces = draw(st.lists(_piece, min_size=4, max_size=20))
    values: list[float] = []
    last = None  # the last finite value so far
    for kind, value, ulps, repeats in pieces:
        best = plateau_reference(values, **options)[-1][1] if values else math.inf
        anchor = best if math.isfinite(best) else last  # the best so far, else the last value
        if kind in ("fresh", "special"):
            new = [value] * repeats
        elif anchor is None:
            new = [math.nan] * repeats
        elif kind == "again":
            new = [last] * repeats
        elif kind == "walk":  # `value`: relative steps from the last value
            new, v = [], last
            for step in value:
                nxt = f32(v * (1 + step)) if v != 0 else step
                v = nxt if _normal(nxt) else v
                new.append(v)
        else:  # at the improvement bound, a few ulps to either side, or between it and the best
            bound = _bound(anchor, options["mode"], options["threshold_mode"],
                           options["threshold"])
            v = _beside(bound, ulps) if kind == "edge" else f32((anchor + bound) / 2)
            new = [v if _normal(v) else anchor] * repeats
        values.extend(new)
        last = next((v for v in reversed(values) if math.isfinite(v)), None)
    return options, values[:LENGTH]


_EDGE = _bound(4.0, "min", "rel", f32(0.1))  # exactly at the bound of best = 4


def _case(values, **options):
    """An explicit example: the defaults below, the options given; numbers rounded to float32."""
    base = dict(mode="min", threshold_mode="rel", factor=0.5, patience=1, threshold=0.1,
                cooldown=0, min_scale=0.0, accumulation_steps=1) | options
    for name in ("factor", "threshold", "min_scale"):
        base[name] = f32(base[name])
    return base, [f32(v) for v in values]


# -- the properties ----------------------------------------------------------------------------


@given(cases())
@example(_case([1.0, -math.inf, -math.inf, 0.5, math.nan, 0.5, 0.5]))  # -inf is never the best
@example(_case([math.inf, 3.0, 2.0, 2.0, 2.0], mode="max", threshold=2.0))  # first finite: best
@example(_case([2.0, -2.0, -2.0, -2.2, -2.3, -2.3, -2.3, -2.3], threshold=0.1))  # |best| rule
@example(_case([1.0, 2.0, math.inf, -math.inf, 1.0, 1.0, 0.0, 0.0, 0.0], accumulation_steps=2,
               cooldown=1, patience=0))  # inf + -inf in one window is NaN: a bad observation
@example(_case([1.0] * 30, factor=0.5, patience=0, min_scale=0.1))  # the floor holds
@example(_case([4.0, _EDGE, _EDGE, _beside(_EDGE, -1)], patience=0))  # at and beside the bound
def test_matches_reference_at_every_update(case):
    _check(*case)


@given(cases(knife_edges=True))
def test_matches_reference_at_knife_edges(case):
    _check(*case)


def _check(options, values):
    """The library against `_reference` at every update of `values`, and its invariants."""
    updates, state = _library(values, options)
    rows = plateau_reference(values, **options)
    scale, best, wait, cooldown_count, count, total = (np.asarray(c) for c in zip(*rows))
    where = f"options {options}\nvalues {values}"

    # The decisions and counters, exactly.
    np.testing.assert_array_equal(state.best_value, best.astype(np.float32), err_msg=where)
    np.testing.assert_array_equal(state.wait, wait, err_msg=where)
    np.testing.assert_array_equal(state.cooldown_count, cooldown_count, err_msg=where)
    np.testing.assert_array_equal(state.count, count, err_msg=where)
    np.testing.assert_array_equal(state.accumulated_value, total.astype(np.float32),
                                  err_msg=where)
    # The scale, exactly; one that underflows float32's normal range may be flushed to 0.
    normal = scale >= TINY
    np.testing.assert_array_equal(state.scale[normal], scale[normal].astype(np.float32),
                                  err_msg=where)
    flushed = state.scale[~normal]
    assert np.all((flushed == 0) | (flushed == scale[~normal].astype(np.float32))), where
    np.testing.assert_array_equal(updates, state.scale, err_msg=where)

    # Invariants that hold whatever the reference says.
    assert np.all(np.diff(state.scale) <= 0), where
    assert np.all(state.scale >= np.float32(options["min_scale"])), where
    assert np.all((0 <= state.wait) & (state.wait <= options["patience"])), where
    assert np.all((0 <= state.cooldown_count) & (state.cooldown_count <= options["cooldown"]))
    assert np.all((0 <= state.count) & (state.count < options["accumulation_steps"])), where
    worst = np.inf if options["mode"] == "min" else -np.inf
    assert np.all(np.isfinite(state.best_value) | (state.best_value == worst)), where


def test_knife_edge_is_decided_in_float32():
    """Next to the bound, exact arithmetic (and a float64 reference) can call a value an
    improvement where the documented float32 computation does not, or the other way round; the
    library follows the float32 one. This is why `_reference` rounds where the library holds
    float32 numbers."""
    threshold = f32(0.3)
    found = []
    for i in range(1, 200):
        best = f32(1.0 + i / 1024.0)
        edge = _bound(best, "min", "rel", threshold)
        for v in (_beside(edge, k) for k in (-1, 0, 1)):
            exact = Fraction(v) < Fraction(best) * (1 - Fraction(threshold))
            if exact != plateau_improves(v, best, "min", "rel", threshold):
                found.append((best, v))
    assert len(found) >= 3
    for best, v in found[:3]:
        options, values = _case([best, v, v], threshold=threshold, patience=5)
        _, state = _library(values, options)
        expected = v if plateau_improves(v, best, "min", "rel", threshold) else best
        assert list(state.best_value) == [np.float32(best), np.float32(expected),
                                          np.float32(expected)]
        rows = plateau_reference(values, **options)
        assert [row[1] for row in rows] == [best, expected, expected]


def test_eager_and_jit_take_the_same_decision_at_the_bound():
    """Regression: `best - |best| * threshold` was fused into a multiply-add under jit (one
    rounding) but not in eager mode (two), so the two could disagree about a value at the
    bound (here best 0.625, threshold 0.8675, value 0.08281397: eager improved, jit did not).
    The test is now ``best - value > margin``, which has no product feeding a sum."""
    rng = np.random.default_rng(7)
    pairs = [(0.625, f32(0.8674976825714111))] + [
        (f32(rng.uniform(0.1, 100.0)), f32(rng.uniform(1e-4, 0.9))) for _ in range(5)]
    for best, threshold in pairs:
        fused = f32(Fraction(best) - Fraction(best) * Fraction(threshold))  # one rounding
        edge = _bound(best, "min", "rel", threshold)                         # two roundings
        for v in {_beside(edge, -1), edge, _beside(edge, 1), fused}:
            options, values = _case([best, v], threshold=threshold, patience=5)
            _, jitted = _library(values, options)
            tx = js.reduce_on_plateau(factor=0.5, patience=5, threshold=threshold)
            state = tx.init(None)
            for x in values:
                _, state = tx.update(jnp.ones(()), state, value=x)  # op by op, not compiled
            expected = v if plateau_improves(v, best, "min", "rel", threshold) else best
            where = f"best {best!r}, threshold {threshold!r}, value {v!r}"
            assert float(jitted.best_value[-1]) == float(state.best_value) == expected, where
