"""Property tests: every shape and combinator, drawn hyperparameters, steps across all of int32.

For each drawn schedule: finite at every step; within the shape's documented bounds; monotone
where the shape is monotone; periodic where it is periodic; `jit` and `jit(vmap)` agree bit for
bit, eager calls and `jit(lax.scan)` within a few ulps (see `check_agreement`); the float32 values
agree with a float64 NumPy version of the documented formula (`tests/helpers.py`);
`from_config(to_config(s))` is the same schedule. Bad hyperparameters, drawn from every kind of
wrong (zero, negative, NaN, inf, beyond float32's range, wrong type, unsorted, wrong length),
raise `ValueError`/`TypeError` naming the argument, and a schedule that was built is finite
everywhere.

Each drawn schedule is a compilation, so the number of examples is set by the hypothesis profile
(tests/conftest.py: ``ci`` by default, ``HYPOTHESIS_PROFILE=thorough`` for many more).
"""

from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import jaxsched as js
from tests.helpers import power_tolerance, reference_config

INT32_MAX = 2**31 - 1
F32_MAX = float(np.finfo(np.float32).max)
F32_TINY = float(np.finfo(np.float32).tiny)
# Tests that compile two programs per example draw half the profile's examples.
HEAVY_EXAMPLES = max(5, settings().max_examples // 2)

# -- drawing valid hyperparameters ----------------------------------------------------------------

lrs = st.floats(1e-6, 10.0)
# Fractions of a learning rate: 0, or large enough that the product is a normal float32.
fractions = st.one_of(st.just(0.0), st.floats(1e-30, 1.0, exclude_max=True))
# Lengths: mostly small (so that steps cross many cycles and boundaries), sometimes anywhere in
# int32 (so that huge horizons are exercised).
lengths = st.one_of(st.integers(1, 60), st.integers(1, INT32_MAX))
counts = st.one_of(st.integers(0, 60), st.integers(0, INT32_MAX))


@st.composite
def lr_range(draw, high="init_value", low="end_value"):
    top = draw(lrs)
    bottom = draw(fractions.map(lambda f: f * top))
    return {high: top, low: bottom}


@st.composite
def one_cycle_timing(draw):
    """steps and pct_start that leave every phase at least one step (as PyTorch needs)."""
    three = draw(st.booleans())
    total = draw(st.one_of(st.integers(4, 300), st.integers(4, INT32_MAX)))
    cap = (total + 1) / 2 if three else total  # the warmup's end must stay below this
    up = 1 + draw(st.floats(0.01, 0.99)) * (cap - 1)
    pct = up / total
    assume(0 < pct < 1 and pct * total > 1 and (not three or 2 * pct * total - 2 < total - 1))
    return {"steps": total, "pct_start": pct, "three_phase": three,
            "anneal": draw(st.sampled_from(["cos", "linear"]))}


@st.composite
def exponential_kwargs(draw):
    init = draw(lrs)
    kw = {"init_value": init, "transition_steps": draw(lengths),
          "staircase": draw(st.booleans()), "transition_begin": draw(counts)}
    if draw(st.booleans()):  # decay, with or without a floor
        kw["gamma"] = draw(st.floats(1e-3, 1.0, exclude_max=True))
        kw["end_value"] = draw(st.one_of(st.none(), fractions.map(lambda f: f * init)))
    else:  # growth, bounded by end_value
        kw["gamma"] = draw(st.floats(1.0, 2.0, exclude_min=True))
        kw["end_value"] = init * draw(st.floats(1.0, 100.0))
    return kw


@st.composite
def wsd_kwargs(draw):
    peak = draw(lrs)
    kw = {"peak_value": peak, "warmup_steps": draw(counts), "stable_steps": draw(counts),
          "decay_steps": draw(lengths), "init_value": draw(fractions) * peak,
          "end_value": draw(fractions) * peak,
          "shape": draw(st.sampled_from(["linear", "cosine", "sqrt", "square",
                                         "mirror_cosine"]))}
    assume(kw["warmup_steps"] + kw["stable_steps"] + kw["decay_steps"] <= INT32_MAX)
    return kw


def _merge(*parts):
    return st.tuples(*parts).map(lambda ds: {k: v for d in ds for k, v in d.items()})


SPECS = {
    "constant": st.fixed_dictionaries({"value": lrs}),
    "linear": st.fixed_dictionaries({"init_value": st.one_of(st.just(0.0), lrs),
                                     "end_value": st.one_of(st.just(0.0), lrs),
                                     "steps": lengths}),
    "step_decay": st.fixed_dictionaries({"init_value": lrs, "every": lengths,
                                         "gamma": st.floats(1e-3, 1.0)}),
    "multistep_decay": st.fixed_dictionaries({
        "init_value": lrs, "gamma": st.floats(1e-3, 1.0),
        "boundaries": st.lists(st.one_of(st.integers(0, 80), st.integers(0, INT32_MAX)),
                               max_size=6).map(sorted)}),
    "exponential_decay": exponential_kwargs(),
    "polynomial_decay": lrs.flatmap(lambda init: st.fixed_dictionaries({
        "init_value": st.just(init), "steps": lengths, "power": st.floats(0.1, 5.0),
        "end_value": fractions.map(lambda f: f * init)})),
    "inverse_time_decay": st.fixed_dictionaries({
        "init_value": lrs, "decay_rate": st.one_of(st.just(0.0), st.floats(1e-30, 10.0)),
        "transition_steps": lengths,
        "staircase": st.booleans()}),
    "inverse_sqrt": st.fixed_dictionaries({"init_value": lrs, "warmup_steps": counts,
                                           "timescale": st.one_of(st.none(), lengths)}),
    "cosine_annealing": _merge(lr_range(), st.fixed_dictionaries({
        "steps": lengths, "k": st.one_of(st.just(1.0), st.floats(0.25, 4.0))})),
    "tanh_decay": _merge(lr_range(), st.fixed_dictionaries({"steps": lengths})),
    "sgdr": _merge(lr_range(), st.fixed_dictionaries({
        "cycle_steps": lengths, "cycles": st.one_of(st.none(), st.integers(1, 5)),
        "cycle_mult": st.one_of(st.just(1), st.integers(1, 4), st.integers(1, 1000)),
        "cycle_decay": st.one_of(st.just(1.0), st.floats(1e-3, 1.0))})),
    "cyclic": _merge(lr_range("max_value", "min_value"), st.fixed_dictionaries({
        "up_steps": lengths, "down_steps": st.one_of(st.none(), counts),
        "mode": st.sampled_from(["triangular", "triangular2", "exp_range"]),
        "gamma": st.one_of(st.just(1.0), st.floats(0.5, 1.0))})).filter(
        lambda kw: kw["up_steps"] + (kw["down_steps"] if kw["down_steps"] is not None
                                         else kw["up_steps"]) <= INT32_MAX),
    "one_cycle": _merge(one_cycle_timing(), st.fixed_dictionaries({
        "peak_value": lrs, "div_factor": st.floats(1.0, 100.0),
        "final_div_factor": st.floats(1.0, 1e4)})),
    "one_cycle_momentum": _merge(one_cycle_timing(),
                                 lr_range("max_value", "min_value").filter(
                                     lambda d: d["max_value"] <= 1.0)),
    "log_annealing": _merge(lr_range(), st.fixed_dictionaries({"steps": lengths})),
    "warmup_stable_decay": wsd_kwargs(),
}
def test_every_shape_is_drawn():
    """The strategies cover the whole catalogue of shapes."""
    modules = (js._decays, js._anneals, js._wsd, js._cycles, js._sgdr, js._one_cycle)
    assert set(SPECS) == {name for module in modules for name in module.__all__}


# -- what each shape promises ---------------------------------------------------------------------


def bounds(kind: str, kw: dict) -> tuple[float, float]:
    """The documented range of the values (lower, upper)."""
    if kind == "constant":
        return kw["value"], kw["value"]
    if kind == "linear":
        return min(kw["init_value"], kw["end_value"]), max(kw["init_value"], kw["end_value"])
    if kind in ("step_decay", "multistep_decay", "inverse_time_decay", "inverse_sqrt"):
        return 0.0, kw["init_value"]
    if kind == "exponential_decay":
        end = kw["end_value"]
        if kw["gamma"] < 1:
            return (0.0 if end is None else end), kw["init_value"]
        return kw["init_value"], end
    if kind == "polynomial_decay":
        return kw["end_value"], kw["init_value"]
    if kind in ("cosine_annealing", "sgdr", "log_annealing", "tanh_decay"):
        return kw["end_value"], kw["init_value"]
    if kind == "cyclic":
        return kw["min_value"], kw["max_value"]
    if kind == "one_cycle":
        return kw["peak_value"] / kw["div_factor"] / kw["final_div_factor"], kw["peak_value"]
    if kind == "one_cycle_momentum":
        return kw["min_value"], kw["max_value"]
    if kind == "warmup_stable_decay":
        return min(kw["init_value"], kw["end_value"]), kw["peak_value"]
    raise KeyError(kind)


def monotony(kind: str, kw: dict) -> str | None:
    """"down" (non-increasing), "up", "peak" (up, then down), "valley" (down, then up) or None."""
    if kind == "linear":
        return "up" if kw["end_value"] > kw["init_value"] else "down"
    if kind == "exponential_decay" and kw["gamma"] > 1:
        return "up"
    if kind in ("inverse_sqrt", "one_cycle", "warmup_stable_decay"):
        return "peak"
    if kind == "one_cycle_momentum":
        return "valley"
    if kind in ("sgdr", "cyclic"):
        return None
    return "down"


def period(kind: str, kw: dict) -> int | None:
    """The period of a periodic shape, or None."""
    if kind == "sgdr" and kw["cycle_mult"] == 1 and kw["cycle_decay"] == 1.0 and \
            kw["cycles"] is None:
        return kw["cycle_steps"]
    if kind == "cyclic" and kw["mode"] == "triangular":
        down = kw["down_steps"]
        total = kw["up_steps"] + (kw["up_steps"] if down is None else down)
        return total
    return None


def horizons(config: dict) -> list[int]:
    """Every integer hyperparameter in a config (and sums of neighbours): where shapes turn."""
    found: list[int] = []

    def walk(v):
        if isinstance(v, dict):
            ints = [x for x in v.values() if isinstance(x, int) and not isinstance(x, bool)]
            found.extend(ints)
            found.extend(a + b for a, b in zip(ints, ints[1:]))
            if len(ints) >= 3:
                found.append(sum(ints))
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
            if all(isinstance(x, int) for x in v):
                found.extend(v)

    walk(config)
    return found


@st.composite
def steps_for(draw, config: dict) -> np.ndarray:
    """Steps 0-40, every horizon of the config ± 2, 24 drawn int32 steps, and the largest."""
    near = [h + d for h in horizons(config) for d in (-2, -1, 0, 1, 2)]
    drawn = draw(st.lists(st.integers(0, INT32_MAX), min_size=24, max_size=24))
    steps = np.concatenate([np.arange(41), near, drawn, [INT32_MAX - 1, INT32_MAX]])
    return np.unique(np.clip(steps, 0, INT32_MAX)).astype(np.int32)


# -- the compiled forms, one compilation for three of them ----------------------------------------


def compiled_forms(s: js.Schedule, steps: np.ndarray):
    """``(jit(s), jit(vmap(s)), jit(scan(s)))`` at `steps`, from one compiled program."""

    def forms(ts):
        scanned = jax.lax.scan(lambda c, t: (c, s(t)), 0, ts)[1]
        return s(ts), jax.vmap(s)(ts), scanned

    return [np.asarray(x) for x in jax.jit(forms)(jnp.asarray(steps))]


# The schedule as an argument: one compilation per structure, shared by every drawn example.
_AS_ARGUMENT = jax.jit(lambda s, ts: s(ts))


def check_agreement(s: js.Schedule, steps: np.ndarray, maxulp: int = 4) -> np.ndarray:
    """The compiled forms agree; returns the values.

    ``jit(s)`` and ``jit(vmap(s))`` on an array of steps agree bit for bit. Eager calls (a scalar
    program) and a `lax.scan` body agree with them within a few ulps: XLA:CPU contracts a
    multiply and an add into one fused multiply-add when both land in the same kernel, and it
    fuses a scalar program or a loop body differently from an array program. The library's
    formulas avoid the patterns where this was seen (a division by a constant, ``1 -`` a
    product), so the forms agree bit for bit in almost every draw; the few that differ do so by
    a rounding or two: a sum of two products of runtime values (1 ulp), `log_annealing`'s
    ``log1p`` (XLA expands it into a polynomial; 2 ulps seen), and in a composition XLA folds
    and reassociates products of constants (``(s * 0.01) * (c / 3)``, with ``c`` constant after
    step 0, became one constant in one program and two products in another: 1 ulp). A
    composition adds these up (`maxulp`).
    """
    jitted, vmapped, scanned = compiled_forms(s, steps)
    np.testing.assert_array_equal(vmapped, jitted, err_msg=f"vmap vs jit: {s!r}")
    np.testing.assert_array_max_ulp(scanned, jitted, maxulp=maxulp)
    few = steps[:: max(1, len(steps) // 6)]
    eager = np.array([np.asarray(s(int(t))) for t in few])
    np.testing.assert_array_max_ulp(eager, jitted[:: max(1, len(steps) // 6)], maxulp=maxulp)
    assert jitted.dtype == np.float32
    return jitted


def check_config_round_trip(s: js.Schedule, steps: np.ndarray) -> dict:
    """`from_config(to_config(s))` through JSON text is the same schedule, value for value."""
    config = js.to_config(s)
    rebuilt = js.from_config(json.loads(json.dumps(config)))
    assert repr(rebuilt) == repr(s)
    assert jax.tree.structure(rebuilt) == jax.tree.structure(s)
    for a, b in zip(jax.tree.leaves(rebuilt), jax.tree.leaves(s)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(np.asarray(_AS_ARGUMENT(rebuilt, steps)),
                                  np.asarray(_AS_ARGUMENT(s, steps)))
    return config


# Below this, float32 values lose relative precision (near its smallest normal number, 1.2e-38,
# and in the subnormals that XLA flushes to 0): the comparison with float64 stops there.
PRECISION_FLOOR = 1e-36


def check_reference(config: dict, steps: np.ndarray, got: np.ndarray, init: float,
                    rtol: float) -> None:
    """float32 values against the float64 formula: `rtol` relative (plus powers' error), unless
    the value is below `PRECISION_FLOOR`."""
    want = np.array([reference_config(config, int(t)) for t in steps])
    tol = power_tolerance(want, init, rtol) * np.abs(want)
    bad = (np.abs(got.astype(np.float64) - want) > tol) & (np.abs(want) >= PRECISION_FLOOR)
    assert not bad.any(), (
        f"{config}: first bad step {steps[bad][0]}: got {got[bad][0]!r}, want {want[bad][0]!r}")


# -- shapes ---------------------------------------------------------------------------------------

KINDS = sorted(SPECS)


NEGATIVE = np.array([-1, -7, -(2**31)], np.int32)


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
@settings(max_examples=HEAVY_EXAMPLES)
def test_shape_properties(kind, data):
    kw = data.draw(SPECS[kind], label="kwargs")
    s = getattr(js, kind)(**kw)
    config = js.to_config(s)
    steps = data.draw(steps_for(config), label="steps")
    p = period(kind, kw)
    shifted = steps[steps <= INT32_MAX - p] + p if p is not None else steps[:0]

    # One compiled program for the steps, negative steps and the steps one period on.
    everything = check_agreement(s, np.concatenate([steps, NEGATIVE, shifted]))
    values, negative, later = np.split(everything, [len(steps), len(steps) + len(NEGATIVE)])
    assert np.all(np.isfinite(values)), f"{s!r} is not finite"

    # Steps below 0 act as step 0.
    np.testing.assert_array_equal(negative, np.full(len(NEGATIVE), values[0]))

    # Periodic where the shape is: exactly, since positions are integer arithmetic.
    np.testing.assert_array_equal(later, values[: len(later)], err_msg=f"{s!r} period {p}")

    # Within the documented bounds, up to float32's rounding of the bound (2 ulps); exactly
    # when the lower bound is 0 (never a negative learning rate).
    low, high = (0.0 if abs(b) < F32_TINY else b for b in bounds(kind, kw))  # XLA flushes
    slack = 2 * float(np.finfo(np.float32).eps)                               # subnormals
    assert values.min() >= np.float32(low) * (1 - slack), (s, values.min(), low)
    assert values.max() <= np.float32(high) * (1 + slack), (s, values.max(), high)

    # Monotone where the shape is, on increasing steps, up to float32 rounding: no step goes
    # the wrong way by more than 2 ulps of its value.
    direction = monotony(kind, kw)
    diffs = np.diff(values.astype(np.float64))
    wobble = 2 * np.spacing(np.abs(values[1:])).astype(np.float64)
    if direction in ("up", "down"):
        wrong = (diffs if direction == "down" else -diffs) > wobble
        assert not wrong.any(), f"{s!r} is not monotone {direction} at step {steps[1:][wrong]}"
    elif direction in ("peak", "valley"):
        sign = 1 if direction == "peak" else -1
        turned = np.cumsum(sign * diffs < -wobble) > 0  # past the first clear step back
        wrong = turned & (sign * diffs > wobble)
        assert not wrong.any(), f"{s!r} is not one {direction}: steps {steps[1:][wrong]}"

    # The float64 formula, at every step.
    init = 1.0 if kind == "one_cycle_momentum" else next(iter(kw.values()))
    for name in ("init_value", "max_value", "peak_value", "value"):
        init = kw.get(name, init)
    check_reference(config, steps, values, init, rtol=2e-6)

    check_config_round_trip(s, steps)


# -- combinators ----------------------------------------------------------------------------------

# Leaves for trees: every shape, with small lengths mostly (so that compositions cross pieces).
leaf_shapes = st.sampled_from(KINDS).flatmap(
    lambda kind: SPECS[kind].map(lambda kw: getattr(js, kind)(**kw)))


def _warmup(args):
    """A warmup; an exponential one only over a schedule that starts above 0 (as it must)."""
    child, steps, init, shape = args
    if shape == "exponential" and not float(_AS_ARGUMENT(child, jnp.zeros((), jnp.int32))) > 0:
        shape = "cosine"
    return js.warmup(child, steps, init_value=init, shape=shape)


def combinators(children):
    """One combinator over schedules drawn from `children`."""
    small = st.integers(1, 50)
    return st.one_of(
        st.lists(children, min_size=1, max_size=4).flatmap(
            lambda ss: st.lists(st.one_of(st.integers(0, 100), st.integers(0, INT32_MAX)),
                                min_size=len(ss) - 1, max_size=len(ss) - 1).map(
                lambda bs: js.join(ss, sorted(bs)))),
        st.tuples(children, st.one_of(st.integers(0, 60), counts), lrs,
                  st.sampled_from(["linear", "cosine", "exponential"])).map(_warmup),
        st.tuples(children, st.one_of(small, lengths)).map(lambda a: js.staircase(*a)),
        st.tuples(children, st.one_of(small, lengths),
                  st.one_of(st.just(1.0), st.floats(0.1, 1.0))).map(
            lambda a: js.repeat(a[0], a[1], decay=a[2])),
        st.tuples(children, st.one_of(small, lengths)).map(lambda a: js.per_epoch(*a)),
        st.tuples(children, st.one_of(st.none(), st.just(0.0), st.floats(1e-30, 1e-3)),
                  st.one_of(st.none(), st.floats(1e-3, 10.0))).map(
            lambda a: js.clip(a[0], a[1], a[2])),
        st.tuples(children, st.floats(0.01, 100.0)).map(lambda a: a[0] * a[1]),
        st.tuples(children, st.floats(0.01, 100.0)).map(lambda a: a[0] / a[1]),
        st.tuples(children, fractions).map(lambda a: a[0] + a[1]),
        st.tuples(children, children).map(lambda a: a[0] + a[1]),
        st.tuples(children, children).map(lambda a: a[0] * a[1]),
    )


sorted_knots = st.lists(st.one_of(st.integers(0, 100), st.integers(0, INT32_MAX)),
                        min_size=1, max_size=5).map(sorted)
piecewise = st.one_of(
    sorted_knots.flatmap(lambda bs: st.lists(lrs, min_size=len(bs) + 1, max_size=len(bs) + 1)
                         .map(lambda vs: js.piecewise_constant(bs, vs))),
    sorted_knots.flatmap(lambda bs: st.lists(lrs, min_size=len(bs), max_size=len(bs))
                         .map(lambda vs: js.piecewise_linear(bs, vs))),
)
trees = st.recursive(st.one_of(leaf_shapes, piecewise), combinators, max_leaves=4)


@given(data=st.data())
def test_combinator_properties(data):
    s = data.draw(trees, label="schedule")
    config = js.to_config(s)
    steps = data.draw(steps_for(config), label="steps")

    maxulp = 4 * len(jax.tree.leaves(s))
    values = check_agreement(s, steps, maxulp=maxulp)
    assert np.all(np.isfinite(values)), f"{s!r} is not finite"
    # Another compiled program (one step): within the same budget as `check_agreement`.
    np.testing.assert_array_max_ulp(np.asarray(s(jnp.array([-3], jnp.int32))), values[:1],
                                    maxulp=maxulp)

    # Every leaf's values are positive, and combinators add, multiply, divide by positive
    # numbers and bound: no cancellation, so the relative error adds up along the tree.
    check_reference(config, steps, values, init=1.0, rtol=8e-6)
    check_config_round_trip(s, steps)


@given(s=trees, bound=st.floats(1e-4, 1.0), data=st.data())
def test_clip_bounds_exactly(s, bound, data):
    lo, hi = np.float32(bound) / np.float32(4), np.float32(bound)
    clipped = js.clip(s, min_value=float(lo), max_value=float(hi))
    steps = data.draw(steps_for(js.to_config(s)), label="steps")
    values = np.asarray(clipped(jnp.asarray(steps)))
    assert values.min() >= lo and values.max() <= hi


@given(s=trees, p=st.one_of(st.integers(1, 50), lengths), decay=st.floats(0.1, 1.0),
       data=st.data())
def test_repeat_is_periodic(s, p, decay, data):
    """``repeat(s, p)`` has period p exactly; with a decay, the next period is `decay` times
    the last."""
    steps = data.draw(steps_for({"p": p}), label="steps")
    steps = steps[steps <= INT32_MAX - p]
    flat, decaying = js.repeat(s, p), js.repeat(s, p, decay=decay)
    here, there = (np.asarray(flat(jnp.asarray(x))) for x in (steps, steps + p))
    np.testing.assert_array_equal(here, there)
    here, there = (np.asarray(decaying(jnp.asarray(x)), np.float64) for x in (steps, steps + p))
    k = steps // p
    tol = 4e-6 + 1.2e-7 * np.abs((k + 1) * math.log(decay))
    normal = np.abs(there) > 1e-30  # far above float32's subnormals, where precision ends
    np.testing.assert_array_less(np.abs(there - decay * here)[normal],
                                 (tol * np.abs(there))[normal])


# -- bad hyperparameters --------------------------------------------------------------------------

# What each argument must be. Categories: "real" (a finite number), "positive", "nonneg",
# "unit" ((0, 1]), "open_unit" ((0, 1)), "posint" (an integer >= 1), "int0" (>= 0), "int2",
# "flag", "choice", "seq" (sorted integers >= 0), "len0"/"len1" (a number of steps >= 0 / >= 1:
# an integer or a non-integral float, at most 2**31 - 1), "mult" (a number >= 1). A "?" suffix:
# None is allowed.
ARGUMENTS = {
    "constant": {"value": "real"},
    "linear": {"init_value": "real", "end_value": "real", "steps": "len0"},
    "step_decay": {"init_value": "real", "every": "len1", "gamma": "unit"},
    "multistep_decay": {"init_value": "real", "boundaries": "seq", "gamma": "positive"},
    "exponential_decay": {"init_value": "real", "gamma": "positive",
                          "transition_steps": "len1", "staircase": "flag",
                          "transition_begin": "len0", "end_value": "real?"},
    "polynomial_decay": {"init_value": "real", "steps": "len0", "power": "positive",
                         "end_value": "real"},
    "inverse_time_decay": {"init_value": "real", "decay_rate": "nonneg",
                           "transition_steps": "len1", "staircase": "flag"},
    "inverse_sqrt": {"init_value": "real", "warmup_steps": "len0", "timescale": "len1?"},
    "cosine_annealing": {"init_value": "real", "steps": "len0", "end_value": "real",
                         "k": "positive"},
    "tanh_decay": {"init_value": "real", "steps": "len0", "end_value": "real"},
    "sgdr": {"init_value": "real", "cycle_steps": "len1", "end_value": "real",
             "cycle_mult": "mult", "cycle_decay": "unit", "cycles": "posint?"},
    "cyclic": {"min_value": "real", "max_value": "real", "up_steps": "len1",
               "down_steps": "len0?", "mode": "choice", "gamma": "unit"},
    "one_cycle": {"peak_value": "nonneg", "steps": "int2", "pct_start": "open_unit",
                  "anneal": "choice", "div_factor": "positive", "final_div_factor": "positive",
                  "three_phase": "flag"},
    "one_cycle_momentum": {"steps": "int2", "pct_start": "open_unit", "anneal": "choice",
                           "min_value": "real", "max_value": "real",
                           "three_phase": "flag"},
    "log_annealing": {"init_value": "real", "steps": "len0", "end_value": "real"},
    "warmup_stable_decay": {"peak_value": "real", "warmup_steps": "len0",
                            "stable_steps": "len0", "decay_steps": "len0",
                            "init_value": "real", "end_value": "real", "shape": "choice"},
}

NAN, INF = float("nan"), float("inf")
NUMBERS = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 3, 0, -1, -3, 1e-45, 1e-30, 3e38, -3e38,
                     1e39, -1e39, 1e300, NAN, INF, -INF, 2**31 - 1, 2**31, -(2**31), 1.5,
                     np.float32(0.25), np.int64(7), np.nan]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**40), 2**40),
)
NOT_NUMBERS = st.sampled_from(["0.1", "", None, True, False, np.bool_(True), [0.1], (1,), 1j,
                               {"a": 1}, object()])
WILD = st.one_of(NUMBERS, NOT_NUMBERS)
WILD_SEQ = st.one_of(
    st.lists(st.one_of(st.integers(-3, 2**32), st.floats(allow_nan=True)), max_size=5),
    st.sampled_from(["abc", 3, None, [[1, 2]], [True, False], [1, "2"], np.array([[1, 2]])]),
)


def is_valid(category: str, v) -> bool:
    """Whether `v` is acceptable on its own for an argument of `category`."""
    if category.endswith("?"):
        return v is None or is_valid(category[:-1], v)
    if category == "flag":
        return isinstance(v, (bool, np.bool_))
    if category == "choice":
        return False  # every wild value is a non-option (options are drawn separately)
    if category == "seq":
        if isinstance(v, (str, bytes)) or np.ndim(v) != 1:
            return False
        a = np.asarray(v)
        if a.size and a.dtype.kind not in "iuf":
            return False
        a = a.astype(np.float64)
        return bool(np.all(np.isfinite(a)) and np.all(a == np.round(a)) and np.all(a >= 0)
                    and np.all(a <= INT32_MAX) and np.all(np.diff(a) >= 0))
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer,
                                                             np.floating)):
        return False
    x = float(v)
    if category in ("len0", "len1"):  # lengths are counts, not float32 values: no subnormal rule
        return math.isfinite(x) and {"len0": 0, "len1": 1}[category] <= x <= INT32_MAX
    if not math.isfinite(x) or abs(x) > F32_MAX or 0 < abs(x) < F32_TINY:
        return False
    if category in ("posint", "int0", "int2"):
        low = {"posint": 1, "int0": 0, "int2": 2}[category]
        return x == round(x) and low <= x <= INT32_MAX
    return {"real": True, "positive": x > 0, "nonneg": x >= 0, "unit": 0 < x <= 1,
            "open_unit": 0 < x < 1, "mult": x >= 1}[category]


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_bad_hyperparameters_raise_naming_the_argument(kind, data):
    """Corrupt one or two arguments of a valid draw: a value that is wrong on its own raises
    ValueError or TypeError naming an argument it corrupted; any schedule that does get built
    (e.g. a corruption that happens to be valid) is finite at every step."""
    kw = dict(data.draw(SPECS[kind], label="valid kwargs"))
    names = data.draw(st.lists(st.sampled_from(sorted(ARGUMENTS[kind])), min_size=1,
                               max_size=2, unique=True), label="corrupted")
    for name in names:
        wild = WILD_SEQ if ARGUMENTS[kind][name] == "seq" else WILD
        kw[name] = data.draw(wild, label=name)
    must_raise = any(not is_valid(ARGUMENTS[kind][n], kw[n]) for n in names)
    try:
        s = getattr(js, kind)(**kw)
    except (ValueError, TypeError) as e:
        assert any(n in str(e) for n in names), f"{kind}({kw}): {e} names none of {names}"
        return
    assert not must_raise, f"{kind}({kw}) was accepted"
    steps = data.draw(steps_for(js.to_config(s)), label="steps")
    assert np.all(np.isfinite(np.asarray(s(jnp.asarray(steps))))), f"{s!r} is not finite"


COMBINATOR_ARGUMENTS = {
    "join": lambda c, v: js.join([c, c], [v]),
    "piecewise_constant": lambda c, v: js.piecewise_constant([v], [0.1, 0.01]),
    "piecewise_linear": lambda c, v: js.piecewise_linear([0, v], [0.1, 0.01]),
    "warmup.steps": lambda c, v: js.warmup(c, v),
    "warmup.init_value": lambda c, v: js.warmup(c, 10, init_value=v),
    "warmup.init_value.exponential": lambda c, v: js.warmup(c, 10, init_value=v,
                                                             shape="exponential"),
    "staircase": lambda c, v: js.staircase(c, v),
    "repeat.period": lambda c, v: js.repeat(c, v),
    "repeat.decay": lambda c, v: js.repeat(c, 10, decay=v),
    "per_epoch": lambda c, v: js.per_epoch(c, v),
    "clip.min_value": lambda c, v: js.clip(c, min_value=v),
    "clip.max_value": lambda c, v: js.clip(c, max_value=v),
    "mul": lambda c, v: c * v,
    "div": lambda c, v: c / v,
    "add": lambda c, v: v + c,
}
COMBINATOR_CATEGORY = {
    "join": "int0", "piecewise_constant": "int0", "piecewise_linear": "int0",
    "warmup.steps": "len0", "warmup.init_value": "real", "warmup.init_value.exponential":
    "positive", "staircase": "len1", "repeat.period": "len1", "repeat.decay": "unit",
    "per_epoch": "len1", "clip.min_value": "real?", "clip.max_value": "real?", "mul": "real",
    "div": "real", "add": "real",
}


@pytest.mark.parametrize("where", sorted(COMBINATOR_ARGUMENTS))
@given(value=WILD)
def test_bad_combinator_arguments_raise(where, value):
    """A combinator's bad argument raises at construction; an accepted one gives finite values."""
    child = js.cosine_annealing(0.1, 20, end_value=0.001)
    category = COMBINATOR_CATEGORY[where]
    if where == "div" and is_valid("real", value) and float(value) == 0:
        category = "positive"  # a division by zero is refused too
    try:
        s = COMBINATOR_ARGUMENTS[where](child, value)
    except (ValueError, TypeError):
        return
    assert is_valid(category, value), f"{where}={value!r} was accepted"
    values = np.asarray(s(jnp.asarray([0, 5, 10, 19, 20, 1000, INT32_MAX], jnp.int32)))
    assert np.all(np.isfinite(values)), f"{s!r} is not finite: {values}"
