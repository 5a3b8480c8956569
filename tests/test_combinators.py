"""Combinators: identities with optax and the shapes, exact piecewise values, configs, bad input,
transformations, and the cost that must not grow with the number of pieces."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched as js
from tests.helpers import count_equations

# Steps that cross every interesting place: before 0, boundaries, and int32's end.
STEPS = np.concatenate([np.arange(-3, 130), [1000, 4321, 2**31 - 2, 2**31 - 1]]).astype(np.int32)


def optax_values(fn, steps):
    """An optax schedule over an array of steps (optax relies on standard dtype promotion)."""
    with jax.numpy_dtype_promotion("standard"):
        return np.asarray(jax.vmap(fn)(jnp.asarray(steps)))


def assert_ulps(actual, desired):
    """Equal to a float32 ulp or two: the same formulas, compiled in different contexts (XLA may
    fuse a gathered hyperparameter differently from a constant one)."""
    np.testing.assert_allclose(np.asarray(actual), np.asarray(desired), rtol=3e-7, atol=1e-9)


def random_pieces(rng, n):
    """Pieces of several kinds and structures, with random hyperparameters."""
    pieces = []
    for _ in range(n):
        kind = rng.integers(5)
        if kind <= 1:
            top = float(rng.uniform(0.1, 1.0))
            pieces.append(js.cosine_annealing(top, int(rng.integers(1, 40)),
                                              end_value=float(rng.uniform(0.0, 0.1))))
        elif kind == 2:
            pieces.append(js.linear(float(rng.uniform()), float(rng.uniform()),
                                    int(rng.integers(1, 20))))
        elif kind == 3:
            pieces.append(js.exponential_decay(float(rng.uniform(0.1, 1.0)),
                                               float(rng.uniform(0.5, 0.99)),
                                               staircase=bool(rng.integers(2))))
        else:
            pieces.append(js.constant(float(rng.uniform())))
    return pieces


# -- identities -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_join_equals_optax_join_schedules(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 9))
    pieces = random_pieces(rng, n)
    boundaries = np.sort(rng.integers(0, 120, n - 1))
    if n > 2:
        boundaries[1] = boundaries[0]  # a repeated boundary: the later piece wins
    ours = js.join(pieces, boundaries)
    # Our pieces are optax schedules; optax computes each of them at every step.
    theirs = optax.join_schedules(pieces, boundaries.tolist())
    # Exponential pieces of different gammas are gathered as float32 in the join but computed
    # from float64 ln(gamma) by optax's call of the same piece: the documented power error.
    np.testing.assert_allclose(np.asarray(ours(STEPS)),
                               optax_values(theirs, np.maximum(STEPS, 0)), rtol=2e-6, atol=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_piecewise_constant_equals_optax(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    boundaries = np.sort(rng.choice(np.arange(0, 150), n, replace=False))
    scales = rng.uniform(0.2, 1.5, n).astype(np.float32)
    # optax multiplies by a scale at each boundary, in float32: the same products, as values.
    values = np.cumprod(np.concatenate([[np.float32(0.7)], scales]), dtype=np.float32)
    ours = js.piecewise_constant(boundaries, values.tolist())
    theirs = optax.piecewise_constant_schedule(
        0.7, {int(b): float(s) for b, s in zip(boundaries, scales)})
    np.testing.assert_array_equal(np.asarray(ours(STEPS)),
                                  optax_values(theirs, np.maximum(STEPS, 0)))


def test_piecewise_constant_exact_values_and_repeated_boundaries():
    s = js.piecewise_constant([0, 3, 3, 2**31 - 1], [9.0, 0.1, 0.2, 0.3, 0.4])
    got = np.asarray(s(np.array([-5, 0, 2, 3, 4, 2**31 - 2, 2**31 - 1], np.int32)))
    np.testing.assert_array_equal(got, np.float32([0.1, 0.1, 0.1, 0.3, 0.3, 0.3, 0.4]))


def test_join_of_joins_equals_the_flat_join():
    rng = np.random.default_rng(7)
    a, b, c = random_pieces(rng, 3), random_pieces(rng, 2), random_pieces(rng, 2)
    flat = js.join(a + b + c, [10, 25, 40, 52, 70, 90])
    nested = js.join([js.join(a, [10, 25]), js.join(b, [12]), js.join(c, [20])], [40, 70])
    assert_ulps(nested(STEPS), flat(STEPS))


def test_staircase_of_exponential_decay_is_step_decay():
    steps = np.concatenate([np.arange(0, 100), [10**6, 2**31 - 1]]).astype(np.int32)
    step_decay = np.asarray(js.step_decay(0.5, 7, 0.8)(steps))
    # staircase keeps the step's units: the exponential must decay by gamma per k steps...
    stair = js.staircase(js.exponential_decay(0.5, 0.8, transition_steps=7), 7)
    np.testing.assert_array_equal(np.asarray(stair(steps)), step_decay)
    # ...while per_epoch counts in units of k.
    np.testing.assert_array_equal(
        np.asarray(js.per_epoch(js.exponential_decay(0.5, 0.8), 7)(steps)), step_decay)


def test_warmup_cosine_equals_optax_warmup_cosine_decay():
    init, peak, warm, total, end = 0.01, 0.7, 23, 100, 0.05
    ours = js.warmup(js.cosine_annealing(peak, total - warm, end_value=end), warm, init_value=init)
    theirs = optax.warmup_cosine_decay_schedule(init, peak, warm, total, end_value=end)
    steps = np.arange(0, 130)
    np.testing.assert_allclose(np.asarray(ours(steps)), optax_values(theirs, steps),
                               rtol=2e-6, atol=1e-7)
    assert float(ours(warm)) == np.float32(peak)  # exactly the peak after the ramp


@pytest.mark.parametrize("shape", ["linear", "cosine", "exponential"])
def test_warmup_shapes(shape):
    init, n = 0.01, 8
    s = js.warmup(js.step_decay(0.5, 3, 0.5), n, init_value=init, shape=shape)
    f = np.arange(n) / n
    ramp = {"linear": init + (0.5 - init) * f,
            "cosine": init + (0.5 - init) * (1 - np.cos(np.pi * f)) / 2,
            "exponential": init * (0.5 / init) ** f}[shape]
    after = 0.5 * 0.5 ** (np.arange(12) // 3)
    np.testing.assert_allclose(np.asarray(s(np.arange(-2, n + 12))),
                               np.concatenate([[init, init], ramp, after]), rtol=1e-6)


def test_repeat_warmup_cosine_with_decaying_peaks():
    s = js.repeat(js.warmup(js.cosine_annealing(1.0, 900), 100), 1000, decay=0.8)
    steps = np.array([0, 50, 100, 325, 550, 999, 1000, 1050, 1100, 1550, 2100, 5100, 10**6 + 100])
    k, r = steps // 1000, steps % 1000
    one = np.where(r < 100, r / 100, (1 + np.cos(np.pi * (r - 100) / 900)) / 2)
    np.testing.assert_allclose(np.asarray(s(steps)), 0.8**k * one, rtol=2e-6, atol=1e-12)
    assert float(s(1100)) == np.float32(0.8)


def test_piecewise_linear_matches_interp_and_jumps():
    rng = np.random.default_rng(3)
    knots = np.sort(rng.choice(np.arange(5, 120), 9, replace=False))
    values = rng.uniform(0.0, 1.0, 9)
    s = js.piecewise_linear(knots, values)
    steps = np.arange(-2, 130)
    np.testing.assert_allclose(np.asarray(s(steps)), np.interp(np.maximum(steps, 0), knots, values),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(np.asarray(s(knots)), values.astype(np.float32))  # exact knots
    jump = js.piecewise_linear([2, 4, 4, 8], [1.0, 0.0, 5.0, 6.0])
    np.testing.assert_allclose(np.asarray(jump(np.arange(10))),
                               [1, 1, 1, 0.5, 5, 5.25, 5.5, 5.75, 6, 6])
    assert float(js.piecewise_linear([3], [0.25])(10)) == 0.25
    last = js.piecewise_linear([2, 4, 4], [1.0, 0.0, 5.0])  # a jump at the last knot
    np.testing.assert_array_equal(np.asarray(last(np.array([3, 4, 9]))), [0.5, 5.0, 5.0])


def test_staircase_per_epoch_clip_values():
    base = js.linear(0.0, 1.0, steps=8)
    np.testing.assert_allclose(np.asarray(js.staircase(base, 3)(np.arange(10))),
                               [0, 0, 0, 3 / 8, 3 / 8, 3 / 8, 6 / 8, 6 / 8, 6 / 8, 1])
    np.testing.assert_allclose(np.asarray(js.per_epoch(base, 4)(np.array([0, 3, 4, 31, 40]))),
                               [0, 0, 1 / 8, 7 / 8, 1])
    np.testing.assert_allclose(np.asarray(js.clip(base, 0.2, 0.6)(np.arange(0, 9, 2))),
                               [0.2, 0.25, 0.5, 0.6, 0.6])
    np.testing.assert_allclose(np.asarray(js.clip(base, max_value=0.3)(np.array([0, 8]))),
                               [0.0, 0.3])


def test_lifted_function_composes_like_a_builtin():
    @js.schedule
    def log_decay(t):  # the seed's custom log(1/x) schedule, as a user writes it
        return 0.1 * jnp.log(100.0 / (t.astype(jnp.float32) + 1.0)) / jnp.log(100.0)

    assert isinstance(log_decay, js.Schedule) and repr(log_decay).startswith("schedule(")
    composed = js.join([js.warmup(log_decay, 5), 0.5 * log_decay + 0.01], [50])
    steps = np.arange(0, 80)
    base = 0.1 * np.log(100.0 / (np.maximum(steps - 5, 0) + 1.0)) / np.log(100.0)
    expected = np.where(steps < 5, steps / 5 * 0.1, base)
    expected[50:] = 0.5 * 0.1 * np.log(100.0 / (steps[50:] - 50 + 1.0)) / np.log(100.0) + 0.01
    np.testing.assert_allclose(np.asarray(composed(steps)), expected, rtol=2e-6, atol=1e-8)
    assert js.schedule(composed) is composed
    with pytest.raises(ValueError, match=r"schedules\[0\].schedule: schedule\(.*log_decay\)"):
        js.to_config(composed)


# -- configs and repr -----------------------------------------------------------------------------

CONFIG_CASES = [
    js.join([js.linear(0.0, 1e-3, 10), js.cosine_annealing(1e-3, 90, 1e-5)], [10]),
    js.join([js.constant(0.1)], []),
    js.piecewise_constant([5, 5, 30], [0.1, 0.01, 0.3, 1e-4]),
    js.piecewise_linear([0, 10, 100], [0.0, 1.0, 0.1]),
    js.warmup(js.sgdr(0.1, 30, cycle_mult=2), 7, init_value=1e-3, shape="exponential"),
    js.staircase(js.exponential_decay(0.1, 0.5, staircase=True), 4),
    js.repeat(js.warmup(js.cosine_annealing(1.0, 900), 100), 1000, decay=0.8),
    js.per_epoch(js.multistep_decay(0.1, [30, 60, 90]), 391),
    js.clip(js.inverse_sqrt(1.0, 10), min_value=1e-3),
    js.join([js.join([js.constant(1.0), js.linear(1.0, 0.5, 3)], [2]),
             js.clip(js.constant(3.0) * js.cosine_annealing(0.3, 9), None, 0.5) - 0.1], [5]),
]


@pytest.mark.parametrize("s", CONFIG_CASES, ids=lambda s: s.kind)
def test_config_round_trip_is_exact(s):
    config = js.to_config(s)
    text = json.dumps(config)
    rebuilt = js.from_config(json.loads(text))
    assert js.to_config(rebuilt) == config
    assert repr(rebuilt) == repr(s)
    assert type(rebuilt) is type(s)


def test_config_round_trip_values():
    s = CONFIG_CASES[-1]
    rebuilt = js.from_config(json.loads(json.dumps(js.to_config(s))))
    np.testing.assert_array_equal(np.asarray(rebuilt(STEPS)), np.asarray(s(STEPS)))


def test_repr_shows_the_expression():
    s = js.join([js.linear(0.0, 0.001, steps=1000), js.cosine_annealing(0.001, 9000)],
                boundaries=[1000])
    assert repr(s) == ("join(schedules=[linear(init_value=0.0, end_value=0.001, steps=1000), "
                       "cosine_annealing(init_value=0.001, steps=9000, end_value=0.0, k=1.0)], "
                       "boundaries=[1000])")
    assert repr(js.clip(js.constant(0.5), max_value=1.0) * 2) == (
        "(clip(schedule=constant(value=0.5), min_value=None, max_value=1.0) * 2)")


@pytest.mark.parametrize("config, message", [
    ({"kind": "join", "schedules": [{"kind": "constant", "value": 1.0},
                                    {"kind": "cosine", "init_value": 1.0}], "boundaries": [3]},
     r"^schedules\[1\]\.kind: unknown kind 'cosine'"),
    ({"kind": "join", "schedules": [{"kind": "constant", "value": 1.0},
                                    {"kind": "constant", "value": 1.0},
                                    {"kind": "cosine_annealing", "init_value": 1.0}],
      "boundaries": [3, 4]},
     r"^schedules\[2\]\.steps: missing field"),
    ({"kind": "join", "schedules": [{"kind": "constant", "value": 1.0},
                                    {"kind": "constant", "value": 1.0},
                                    {"kind": "cosine_annealing", "init_value": 1.0,
                                     "steps": -4}], "boundaries": [3, 4]},
     r"^schedules\[2\]\.steps must be a number of steps >= 0"),
    ({"kind": "repeat", "schedule": {"kind": "join", "schedules": [
        {"kind": "constant", "value": 1.0}, {"kind": "constant", "valeu": 1.0}],
        "boundaries": [3]}, "period": 10},
     r"^schedule\.schedules\[1\]\.valeu: unknown field for constant"),
    ({"kind": "warmup", "steps": 3}, r"^schedule: missing field, required by warmup"),
    ({"kind": "piecewise_constant", "boundaries": [3, 1], "values": [1.0, 2.0, 3.0]},
     r"^boundaries must be sorted"),
    ({"kind": "staircase", "schedule": {"value": 1.0}, "every": 2},
     r"^schedule: missing field 'kind'"),
])
def test_config_errors_name_the_path(config, message):
    with pytest.raises(ValueError, match=message):
        js.from_config(config)


# -- bad input ------------------------------------------------------------------------------------

C = js.constant(1.0)


@pytest.mark.parametrize("build, message", [
    (lambda: js.join([C, C], [-1]), r"^boundaries must hold integers >= 0.*-1"),
    (lambda: js.join([C, C, C], [5, 2]), r"^boundaries must be sorted.*\[5, 2\]"),
    (lambda: js.join([C, C], [1, 2]), r"^boundaries must hold len\(schedules\) - 1 = 1"),
    (lambda: js.join([C, C], []), r"^boundaries must hold len\(schedules\) - 1 = 1"),
    (lambda: js.join([], []), r"^schedules must hold at least one schedule"),
    (lambda: js.join(C, []), r"^schedules must be a list of schedules"),
    (lambda: js.join([C, 0.1], [3]), r"^schedules\[1\] must be a Schedule.*constant"),
    (lambda: js.join([C, optax.constant_schedule(0.1)], [3]),
     r"^schedules\[1\] must be a Schedule.*jaxsched.schedule"),
    (lambda: js.piecewise_constant([1, 0], [1.0, 2.0, 3.0]), r"^boundaries must be sorted"),
    (lambda: js.piecewise_constant([-3], [1.0, 2.0]), r"^boundaries must hold integers >= 0"),
    (lambda: js.piecewise_constant([1, 2], [1.0, 2.0]),
     r"^values must hold len\(boundaries\) \+ 1 = 3 values, got 2"),
    (lambda: js.piecewise_constant([1], [1.0, math.nan]), r"^values must be a finite number"),
    (lambda: js.piecewise_linear([1, 2], [1.0]), r"^values must hold len\(boundaries\) = 2"),
    (lambda: js.piecewise_linear([], []), r"^boundaries must hold at least one knot"),
    (lambda: js.piecewise_linear([3, 2], [1.0, 2.0]), r"^boundaries must be sorted"),
    (lambda: js.warmup(C, -1), r"^steps must be a number of steps >= 0.*steps=-1"),
    (lambda: js.warmup(C, 5, shape="exponential"), r"^init_value must be a finite number > 0"),
    (lambda: js.warmup(C, 5, init_value=-1.0, shape="exponential"), r"^init_value.*-1.0"),
    (lambda: js.warmup(C, 5, shape="quadratic"), r"^shape must be one of"),
    (lambda: js.warmup(lambda t: t, 5), r"^schedule must be a Schedule"),
    (lambda: js.staircase(C, 0), r"^every must be a number of steps >= 1.*every=0"),
    (lambda: js.staircase(C, -2), r"^every must be a number of steps >= 1.*every=-2"),
    (lambda: js.repeat(C, 0), r"^period must be a number of steps >= 1.*period=0"),
    (lambda: js.repeat(C, 10, decay=0.0), r"^decay must be a finite number > 0"),
    (lambda: js.repeat(C, 10, decay=1.5), r"^decay must be a finite number > 0.0 and <= 1.0"),
    (lambda: js.warmup(js.linear(0.0, 1.0, 5), 5, init_value=0.1, shape="exponential"),
     r"^shape='exponential' ramps up to schedule\(0\), which must be > 0"),
    (lambda: js.warmup(C, 5, init_value=1e-40, shape="exponential"),
     r"^init_value must be .* at least 1.175e-38"),
    (lambda: C * 1e39, r"numbers finite in float32"),
    (lambda: C / 1e-39, r"0 or numbers of magnitude at least 1.175e-38"),
    (lambda: C / 0.0, r"cannot be divided by zero, got divisor 0.0"),
    (lambda: C / np.array([1.0, 0.0]), r"cannot be divided by zero"),
    (lambda: js.join([C, C], [1j]), r"^boundaries must be a sequence of integers"),
    (lambda: js.per_epoch(C, 0), r"^steps_per_epoch must be a number of steps >= 1"),
    (lambda: js.clip(C, 0.5, 0.1), r"^max_value must be >= min_value"),
    (lambda: js.clip("C", 0.5), r"^schedule must be a Schedule"),
    (lambda: js.schedule(3), r"^fn must be a callable"),
])
def test_bad_input_raises_naming_the_argument(build, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build()


# -- found by the property tests (tests/test_properties.py) --------------------------------------


def test_division_by_a_number_is_the_same_in_every_compiled_form():
    """XLA rewrote ``x / 0.01`` as ``x * 100`` inside `scan` but divided exactly in `jit`."""
    s = js.piecewise_linear([0], [1e-6]) / 0.01
    steps = jnp.arange(5)
    scanned = jax.jit(lambda ts: jax.lax.scan(lambda c, t: (c, s(t)), 0, ts)[1])(steps)
    np.testing.assert_array_equal(np.asarray(scanned), np.asarray(jax.jit(s)(steps)))
    np.testing.assert_array_equal(np.asarray(s(3)), np.asarray(jax.jit(s)(steps))[3])


def test_exponential_warmup_from_a_tiny_value_stays_finite():
    """``init * (target / init) ** f`` overflowed (and was NaN) for a tiny init_value."""
    s = js.warmup(js.constant(10.0), 10, init_value=2e-38, shape="exponential")
    values = np.asarray(s(jnp.arange(12)), np.float64)
    assert np.all(np.isfinite(values)) and values[0] == np.float32(2e-38) and values[10] == 10
    want = 2e-38 * (10 / 2e-38) ** (np.arange(10) / 10)
    np.testing.assert_allclose(values[:10], want, rtol=2e-5)


def test_large_python_ints_as_float_hyperparameters():
    """A Python int beyond int32 (``max_value=20_030_808_918``) overflowed the int32 it was
    first converted to."""
    s = js.clip(js.constant(0.1), max_value=20_030_808_918) + 3_000_000_000
    assert float(s(3)) == pytest.approx(3e9, rel=1e-7)


@pytest.mark.parametrize("s", [
    js.cosine_annealing(jnp.array([0.1, 0.2]), 10),
    js.cosine_annealing(0.1, 10) * np.array([1.0, 2.0]),
    js.warmup(js.sgdr(np.array([0.5, 1.0]), 7), 3),
], ids=["array-init_value", "times-array", "nested"])
def test_config_round_trip_of_array_hyperparameters(s):
    """Arrays of hyperparameters (a batch of peak values) come back from JSON as arrays."""
    rebuilt = js.from_config(json.loads(json.dumps(js.to_config(s))))
    assert repr(rebuilt) == repr(s)
    for t in (0, 2, 5, 11):
        np.testing.assert_array_equal(np.asarray(rebuilt(t)), np.asarray(s(t)))
    assert np.shape(s(5)) == (2,)


def test_a_config_kind_that_is_not_a_string_names_its_path():
    config = {"kind": "join", "schedules": [{"kind": ["x"]}], "boundaries": []}
    with pytest.raises(ValueError, match=r"^schedules\[0\]\.kind: unknown kind \['x'\]"):
        js.from_config(config)


# -- transformations ------------------------------------------------------------------------------

MIXED = js.join([js.cosine_annealing(1.0, 10), js.linear(0.0, 1.0, 5),
                 js.cosine_annealing(0.5, 10, 0.1), js.constant(0.2)], [10, 15, 30])


def test_jit_with_the_schedule_as_an_argument():
    steps = jnp.asarray(STEPS[:60].reshape(3, 20))
    eager = np.asarray(MIXED(steps))
    assert eager.shape == (3, 20) and eager.dtype == np.float32
    traced = jax.jit(lambda s, t: s(t))(MIXED, steps)  # every leaf traced: stacked with jnp
    np.testing.assert_allclose(np.asarray(traced), eager, rtol=1e-6, atol=1e-7)
    scanned = jax.lax.scan(lambda c, t: (c, MIXED(t)), 0, jnp.arange(40))[1]
    np.testing.assert_allclose(np.asarray(scanned), np.asarray(MIXED(np.arange(40))),
                               rtol=1e-6, atol=1e-7)


def test_vmap_over_hyperparameters_and_grad():
    def value(peak, t):
        s = js.warmup(js.join([js.cosine_annealing(peak, 10), js.cosine_annealing(2 * peak, 10)],
                              [10]), 4)
        return s(t)

    peaks = jnp.array([0.5, 1.0, 2.0])
    batched = jax.vmap(value, in_axes=(0, None))(peaks, 4 + 12)
    w = (1 + np.cos(np.pi * 2 / 10)) / 2  # piece 1 at its step 2
    np.testing.assert_allclose(np.asarray(batched), 2 * np.asarray(peaks) * w, rtol=1e-6)
    grads = jax.vmap(jax.grad(value), in_axes=(None, 0))(1.0, jnp.array([0, 2, 4, 9, 16]))
    expected = [0.0, 0.5, 1.0, (1 + np.cos(np.pi * 5 / 10)) / 2, 2 * w]
    np.testing.assert_allclose(np.asarray(grads), expected, rtol=1e-5, atol=1e-7)
    assert np.all(np.isfinite(np.asarray(grads)))
    # Gradient with respect to piecewise values: one-hot on the active value.
    g = jax.grad(lambda v: js.piecewise_constant([2, 4], v)(3))(jnp.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(np.asarray(g), [0.0, 1.0, 0.0])


def test_float_steps_and_float64():
    s = js.join([js.linear(0.0, 1.0, 4), js.cosine_annealing(1.0, 4)], [4])
    np.testing.assert_allclose(np.asarray(s(np.array([1.5, 4.0, 6.0], np.float32))),
                               [0.375, 1.0, 0.5], rtol=1e-6)
    with jax.enable_x64(True):
        out = s(jnp.array([2.5, 5.0], jnp.float64))
        assert out.dtype == jnp.float64
        np.testing.assert_allclose(np.asarray(out), [0.625, (1 + np.cos(np.pi / 4)) / 2],
                                   rtol=1e-14)
        assert float(js.piecewise_constant([2**31 - 1], [1.0, 2.0])(np.int64(2**40))) == 2.0


def test_search_is_searchsorted_right():
    from jaxsched._numerics import search as _search

    rng = np.random.default_rng(5)
    for n in (1, 2, 7, 32, 33, 100):
        boundaries = np.sort(rng.integers(0, 50, n)).astype(np.int32)
        boundaries[-1] = 2**31 - 1 if n > 4 else boundaries[-1]
        steps = np.concatenate([np.arange(0, 60), [2**31 - 2, 2**31 - 1]]).astype(np.int32)
        got = np.asarray(_search(boundaries, jnp.asarray(steps)))
        np.testing.assert_array_equal(got, np.searchsorted(boundaries, steps, side="right"))


# -- cost -----------------------------------------------------------------------------------------


def test_piecewise_constant_jaxpr_is_small_and_constant_size():
    sizes = []
    for n in (10, 100, 1000):
        s = js.piecewise_constant(np.arange(1, n + 1) * 7, np.linspace(1.0, 0.0, n + 1))
        sizes.append(count_equations(jax.make_jaxpr(s)(jnp.int32(3)).jaxpr))
    assert max(sizes) <= 32
    assert sizes[1] == sizes[2]  # a binary search from 33 boundaries on: log n is in the loop


def test_join_jaxpr_does_not_grow_with_pieces():
    def size(n):
        pieces = [js.cosine_annealing(0.5 + i / 1024, 10 + i, 0.01 * (i % 3)) for i in range(n)]
        s = js.join(pieces, np.arange(1, n) * 20)
        return count_equations(jax.make_jaxpr(s)(jnp.int32(3)).jaxpr)

    assert size(4) <= size(64) == size(512)
    # One evaluation per kind of piece, not per piece: 2 kinds cost the same at 34 or 64 pieces.
    two = [js.sgdr(1.0, 5, cycle_mult=2), js.constant(0.1)]
    small = js.join(two * 17, np.arange(1, 34) * 5)
    large = js.join(two * 32, np.arange(1, 64) * 5)
    step = jnp.int32(3)
    assert count_equations(jax.make_jaxpr(small)(step).jaxpr) == count_equations(
        jax.make_jaxpr(large)(step).jaxpr)
    np.testing.assert_array_equal(np.asarray(large(np.arange(0, 170))),
                                  np.asarray(small(np.arange(0, 170))))
