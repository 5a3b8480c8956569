"""Issue 18 (Hardening 2), the schedule-value half: each reproducer of ``repro/hardening-2`` as a
test, and a property test of `sgdr` against an exact (`fractions`) reference that would have
caught the float ``cycle_mult`` ones."""

from __future__ import annotations

import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxsched as js
from tests.helpers import count_equations, power_tolerance

INT32_MAX = 2**31 - 1
EPS32 = float(np.finfo(np.float32).eps)


def decimal(x) -> Fraction:
    """A hyperparameter as the decimal it prints as (what `sgdr` documents it reads)."""
    return Fraction(repr(x)) if isinstance(x, float) else Fraction(x)


def cycle_start(n: Fraction, m: Fraction, i: int) -> Fraction:
    return n * i if m == 1 else n * (m**i - 1) / (m - 1)


def sgdr_cycle(n: Fraction, m: Fraction, t: int) -> int:
    """The cycle that step `t` is in: a float64 estimate, corrected in exact arithmetic."""
    if m == 1:
        return math.floor(t / n)
    i = max(0, int(math.log1p(t * float(m - 1) / float(n)) / math.log(float(m))))
    while i > 0 and cycle_start(n, m, i) > t:
        i -= 1
    while cycle_start(n, m, i + 1) <= t:
        i += 1
    return i


def sgdr_reference(init, n, end, m, decay, cycles, t: int) -> tuple[float, int, float]:
    """``(value, cycle, length)`` of `sgdr` at step `t`: cycle starts in exact arithmetic, the
    cosine in float64."""
    n, m = decimal(n), decimal(m)
    i = sgdr_cycle(n, m, t)
    length = n * m**i
    position = float((t - cycle_start(n, m, i)) / length)
    if cycles is not None and i >= cycles:
        return end, i, float(length)
    peak = max(init * decay**i, end)
    return end + (peak - end) * (1 + math.cos(math.pi * position)) / 2, i, float(length)


STACKED = jax.jit(jax.vmap(lambda s, t: s(t), in_axes=(0, None)))


# -- High: silent wrong values ---------------------------------------------------------------------


def test_sgdr_float_cycle_mult_restarts_at_integer_cycle_starts():
    """Cycles of 1000, 1100, 1210, 1331 steps: cycle 4 starts at step 4641 exactly (timm: the
    peak there); 10 + 25 = 35 with cycle_mult 2.5 - eagerly, jitted, float steps, stacked."""
    s = js.sgdr(1.0, cycle_steps=1000, cycle_mult=1.1)
    assert float(s(4641)) == 1.0
    assert float(s(4640)) < 1e-5
    s = js.sgdr(1.0, cycle_steps=10, end_value=0.01, cycle_mult=2.5)
    assert float(s(35)) == float(s(35.0)) == float(jax.jit(s)(35)) == 1.0
    assert np.asarray(s(np.array([35, 36])))[0] == 1.0
    assert np.asarray(STACKED(js.stack([s, s]), 35)).tolist() == [1.0, 1.0]


def test_sgdr_float_cycle_mult_under_x64_beyond_2_pow_31():
    """Under x64 the cycle starts go on to 2**63 (they stopped just past 2**31)."""
    with jax.enable_x64(True):
        s = js.sgdr(1.0, cycle_steps=10**9, cycle_mult=1.5)
        want, _, _ = sgdr_reference(1.0, 10**9, 0.0, 1.5, 1.0, None, 6 * 10**9)
        assert float(s(6 * 10**9)) == pytest.approx(want, rel=1e-6)  # 0.6980, not 0.5868
        tx = js.scale_by_schedule(s, clock="tokens")
        state = tx.init(jnp.zeros(1))
        for _ in range(12):
            _, state = tx.update(jnp.ones(1), state, tokens=jnp.int64(500_000_000))
        assert float(js.learning_rate(state)) == pytest.approx(want, rel=1e-6)
        limited = js.sgdr(1.0, cycle_steps=10**9, cycle_mult=1.5, cycles=60)
        assert float(limited(2**40)) == pytest.approx(
            sgdr_reference(1.0, 10**9, 0.0, 1.5, 1.0, 60, 2**40)[0], abs=1e-7)


def test_sgdr_stacked_and_traced_cycle_mult_1_is_finite_with_a_finite_gradient():
    runs = [js.sgdr(1.0, cycle_steps=10, cycle_mult=m) for m in (1, 1.5, 2)]
    np.testing.assert_allclose(np.asarray(STACKED(js.stack(runs), 5)),
                               [float(s(5)) for s in runs], rtol=1e-6)
    at = jax.jit(lambda m, t: js.sgdr(1.0, cycle_steps=10, cycle_mult=m)(t))
    assert float(at(1.0, 25)) == float(runs[0](25))
    grad = jax.jit(jax.grad(lambda m: js.sgdr(1.0, cycle_steps=10, cycle_mult=m)(25)))(1.0)
    assert np.isfinite(float(grad))


def test_sgdr_cycle_mult_too_close_to_1_is_refused_when_built():
    with pytest.raises(ValueError, match=r"cycle_mult must be .* got cycle_mult=1.0000001"):
        js.sgdr(1.0, cycle_steps=10, cycle_mult=1.0000001)
    js.sgdr(1.0, cycle_steps=10, cycle_mult=1.001)(10**9)  # 14,600 cycles: within the table


def test_sgdr_fractional_cycle_steps_keep_integer_positions():
    """``sgdr(1, 2.5)`` counted positions in float32 (2**31 - 1 read as 2**31); with
    cycle_mult 1.1 the step was made float32 before the exact table was consulted."""
    for kw, t in (({}, INT32_MAX), ({"end_value": 0.01, "cycle_mult": 1.1}, 1000),
                  ({"cycle_mult": 3}, 10**9 + 7)):
        s = js.sgdr(1.0, cycle_steps=2.5, **kw)
        want, _, _ = sgdr_reference(1.0, 2.5, kw.get("end_value", 0.0), kw.get("cycle_mult", 1),
                                    1.0, None, t)
        assert float(s(t)) == pytest.approx(want, rel=2e-6), kw


def test_sgdr_horizon_with_a_float_cycle_mult_is_the_exact_end():
    """Cycles 10 + 12: the run is over from step 22 (float64 arithmetic gave 23)."""
    assert js.sgdr(1.0, 10, cycle_mult=1.2, cycles=2).horizon == 22
    assert js.sgdr(1.0, 100, cycle_mult=1.1, cycles=3).horizon == 331
    assert js.sgdr(1.0, 1000, cycle_mult=1.1, cycles=4).horizon == 4641
    assert js.sgdr(1.0, 2.5, cycles=3).horizon == 8


# -- the property that would have caught them --------------------------------------------------


@st.composite
def sgdr_settings(draw):
    """(cycle_steps, cycle_mult, cycles, end_value, cycle_decay): whole and fractional lengths,
    whole and decimal multipliers (those with few digits make whole-step cycle starts)."""
    n = draw(st.one_of(st.integers(1, 40).map(lambda k: 1000 * k), st.integers(1, 2000),
                       st.integers(1, 200).map(lambda k: k + 0.5), st.integers(1, INT32_MAX // 64)))
    m = draw(st.one_of(st.sampled_from([1.1, 1.25, 1.5, 2.5, 1.2, 1.75]),
                       st.integers(105, 400).map(lambda k: k / 100), st.integers(1, 3)))
    return (n, m, draw(st.one_of(st.none(), st.integers(1, 60))),
            draw(st.sampled_from([0.0, 0.01, 0.3])), draw(st.sampled_from([1.0, 0.5])))


def whole_starts(n, m, limit: int, count: int = 8) -> list[int]:
    """The first `count` cycle starts (after 0) that are whole steps within `limit`."""
    n, m = decimal(n), decimal(m)
    found, i = [], 1
    while len(found) < count and i < 2000:
        start = cycle_start(n, m, i)
        if start > limit:
            break
        if start.denominator == 1:
            found.append(int(start))
        i += 1
    return found


def check_against_reference(s, settings_, steps, limit, stacked_exact_below):
    n, m, cycles, end, decay = settings_
    steps = np.asarray(steps, np.int64 if limit > INT32_MAX else np.int32)
    refs = [sgdr_reference(1.0, n, end, m, decay, cycles, int(t)) for t in steps]
    want = np.array([r[0] for r in refs])
    tol = power_tolerance(want, 1.0, rtol=4e-6) * np.abs(want) + 1e-12
    forms = {"eager": [float(s(int(t))) for t in steps], "jit(vmap)": jax.jit(jax.vmap(s))(steps)}
    for form, got in forms.items():
        np.testing.assert_array_less(np.abs(np.asarray(got, np.float64) - want), tol,
                                     err_msg=f"{form}: {s!r} at {steps.tolist()}")
    # Stacked: traced hyperparameters, the closed form in float arithmetic (float32 positions
    # for int32 steps): within its rounding of the position, scaled by the cosine's slope.
    eps = EPS32 if limit <= INT32_MAX else float(np.finfo(np.float64).eps)
    cycle = np.array([r[1] for r in refs], np.float64)
    length = np.array([r[2] for r in refs])
    position = 8 * eps * (steps + float(n)) * (4 + 2 * cycle)
    slope = (1.0 - end) * np.pi / 2 * np.minimum(1.0, position / length)
    got = np.asarray(STACKED(js.stack([s, s]), steps), np.float64)
    for row in got:
        np.testing.assert_array_less(np.abs(row - want), tol + slope,
                                     err_msg=f"stacked: {s!r} at {steps.tolist()}")
        exact = steps < stacked_exact_below
        np.testing.assert_array_equal(row[exact & (want == 1.0)], 1.0)


def sgdr_property(settings_, random_steps, limit, stacked_exact_below):
    n, m, cycles, end, decay = settings_
    s = js.sgdr(1.0, cycle_steps=n, end_value=end, cycle_mult=m, cycle_decay=decay,
                cycles=cycles)
    starts = whole_starts(n, m, limit)
    peaks = [sgdr_reference(1.0, n, end, m, decay, cycles, t)[0] for t in starts]
    for t, peak in zip(starts, peaks):  # every whole-step cycle start is the cycle's peak
        assert float(s(t)) == pytest.approx(peak, rel=2e-6 + 1.2e-7 * t), (s, t)
    near = [t + d for t in starts[:3] for d in (-1, 1)]
    check_against_reference(s, settings_, [0, *starts, *near, *random_steps], limit,
                            stacked_exact_below)


@settings(max_examples=8)
@given(sgdr_settings(), st.lists(st.one_of(st.integers(2**30, INT32_MAX),
                                          st.integers(0, INT32_MAX)), min_size=4, max_size=4))
def test_sgdr_matches_an_exact_reference_in_every_form(settings_, random_steps):
    sgdr_property(settings_, random_steps, INT32_MAX, 2**24)


@settings(max_examples=4)
@given(sgdr_settings(), st.lists(st.one_of(st.integers(2**39, 2**40), st.integers(0, 2**40)),
                                min_size=4, max_size=4))
def test_sgdr_matches_an_exact_reference_in_every_form_under_x64(settings_, random_steps):
    with jax.enable_x64(True):
        sgdr_property(settings_, random_steps, 2**40, 2**53)


# -- Medium: nesting grows the program linearly ----------------------------------------------------


NESTINGS = {
    "warmup": lambda s: js.warmup(s, 10),
    "warmup(prefix=False)": lambda s: js.warmup(s, 10, prefix=False, shape="sqrt"),
    "cooldown": lambda s: js.cooldown(s, 50, 20, shape="cosine"),
    "extend": lambda s: js.extend(s, s.horizon - 5, s.horizon + 50),
    "shift": lambda s: js.shift(s, 7),
    "noise": lambda s: js.noise(s, 0, 0.1, end=100),
    "join": lambda s: js.join([js.constant(0.1), s], [20]),
    "staircase": lambda s: js.staircase(s, 3),
    "repeat": lambda s: js.repeat(s, 200, decay=0.5),
    "per_epoch": lambda s: js.per_epoch(s, 4),
    "clip": lambda s: js.clip(s, 0.01, 0.9),
    "hold": lambda s: js.hold(s, 1, 500),
    "interleave": lambda s: js.interleave([s, js.constant(0.1)], [3], 5),
    "sum": lambda s: 0.5 * s + 0.1,
    "power": lambda s: s**2,
}


@pytest.mark.parametrize("name", NESTINGS)
def test_nesting_a_combinator_grows_the_program_linearly(name):
    """`extend` evaluated its schedule twice: each re-extension doubled the program (depth 10:
    61k equations). Each level of every combinator must add no more equations than the first."""
    wrap = NESTINGS[name]
    s, sizes = js.cosine_annealing(1.0, 300), []
    for _ in range(4):
        s = wrap(s)
        sizes.append(count_equations(jax.make_jaxpr(s)(3).jaxpr))
    growth = np.diff(sizes)
    assert growth[-1] <= growth[0], (name, sizes)


# -- Medium: ramps and cooldowns ---------------------------------------------------------------


SHAPES = ["linear", "cosine", "sqrt", "square", "mirror_cosine", "exponential", "power"]


def ramp_plans(n, shape):
    """A warmup, a cooldown and a WSD of `shape` whose length `n` may be traced."""
    power = 0.5 if shape == "power" else None
    return [js.warmup(js.constant(1.0), n, init_value=0.01, shape=shape, power=power),
            js.cooldown(js.constant(1.0), 10, n, shape=shape, end_value=0.01, power=power)]


@pytest.mark.parametrize("shape", SHAPES)
def test_gradients_through_every_ramp_shape_are_finite(shape):
    """A root's derivative is infinite at 0: where `jnp.where` discarded the sqrt branch (before
    a cooldown, after a warmup) its gradient was NaN (the double-where rule)."""
    steps = jnp.array([0.0, 5.0, 15.0, 25.5, 50.0])

    def total(n, t):
        return sum(jnp.sum(jax.vmap(s)(t)) for s in ramp_plans(n, shape))

    d_length, d_step = jax.jit(jax.grad(total, argnums=(0, 1)))(20.5, steps)
    assert np.all(np.isfinite(np.asarray(d_length))) and np.all(np.isfinite(np.asarray(d_step)))


def test_exponential_cooldown_refuses_a_non_positive_start_and_is_floored_at_end_value():
    with pytest.raises(ValueError, match=r"schedule\(10\), which must be > 0"):
        js.cooldown(js.linear(1.0, -1.0, 10), start=10, steps=10, shape="exponential",
                    end_value=0.1)
    s = js.cooldown(js.linear(1.0, -1.0, 10), start=0, steps=10, shape="exponential",
                    end_value=0.1)
    got = np.asarray(s(np.arange(12)))
    assert np.all(np.isfinite(got)) and np.all(np.diff(got) <= 0) and got[-1] == np.float32(0.1)
    c = js.cooldown(js.cosine_annealing(1.0, 100), start=90, steps=20, shape="exponential",
                    end_value=1e-3)
    got = np.asarray(c(np.arange(90, 115)))  # the cosine reaches 0 at step 100: no dip to 0
    assert np.all(got >= np.float32(1e-3)) and np.all(np.diff(got) <= 0)


# -- Low -------------------------------------------------------------------------------------------


def test_noise_refuses_a_key_it_cannot_store():
    """An rbg key was accepted, then failed at the first call (its data read as threefry's)."""
    with pytest.raises(ValueError, match="key must be .* threefry"):
        js.noise(js.constant(1.0), key=jax.random.key(0, impl="rbg"), std=0.1)


def test_noise_draws_the_same_for_a_float_step_under_x64():
    with jax.enable_x64(True):
        s = js.noise(js.constant(1.0), key=1, std=0.1)
        assert float(s(50)) == float(np.float32(s(50.0))) == float(np.float32(s(50.5)))


def test_negative_zero_is_its_own_value():
    """``constant(-0.0) ** -1`` is -inf: it must not share the eager cache (and ``==``) with
    ``constant(0.0) ** -1``, which is +inf (eager gave +inf for both, jit -inf)."""
    a, b = js.constant(0.0) ** -1.0, js.constant(-0.0) ** -1.0
    assert a != b
    assert float(a(3)) == np.inf and float(b(3)) == float(jax.jit(lambda t: b(t))(3)) == -np.inf


def test_config_round_trip_of_array_hyperparameters_is_documented():
    """Documented, not changed: a config holds plain numbers, so a jnp / bfloat16 hyperparameter
    comes back as a Python number - the same values and repr, a different schedule value for
    ``==`` (which compares dtypes: they trace differently)."""
    s = js.cosine_annealing(jnp.float32(0.1), jnp.int32(100))
    t = js.from_config(js.to_config(s))
    assert repr(s) == repr(t) and float(s(50)) == float(t(50))
    assert s != t and js.to_config(t) == js.to_config(s)


def test_the_eager_cache_is_bounded_by_a_small_count():
    """4,096 compiled functions of about 2.5 MB each were a 10 GB ceiling (a sweep over 500
    values kept 820 MB); benchmarks/eager_memory.py measures the memory and the call speed."""
    from jaxsched import _eager

    assert _eager.compiled.cache_info().maxsize <= 64
    before = _eager.compiled.cache_info().currsize
    float(js.constant(0.123456)(1))  # a value called eagerly is cached
    assert _eager.compiled.cache_info().currsize <= min(before + 1, 64)


def test_extend_with_a_traced_horizon_has_no_known_horizon():
    """The argument hid the `horizon` property: it read as a tracer (docs: an int or None), and
    a staircase of it failed to build."""
    plan = js.warmup(js.cosine_annealing(1.0, 90), 10)
    assert js.extend(plan, 50, 200).horizon == 200

    @jax.jit
    def f(horizon):
        e = js.extend(plan, 50, horizon)
        assert e.horizon is None
        return js.extend(js.staircase(e, 10), 60, 500, planned_horizon=200)(75)

    known = js.extend(js.staircase(js.extend(plan, 50, 200), 10), 60, 500)
    assert float(f(200)) == float(known(75))


def test_cyclic_fractional_lengths_keep_integer_positions():
    """The class of `sgdr(1, 2.5)`: a fractional period made the step float32 (2**31 - 2 read
    as 2**31); positions are now integers in units of the lengths' common denominator."""
    for up, down in ((2.5, None), (1.5, 3), (10, 2.25)):
        s = js.cyclic(0.0, 1.0, up, down)
        period = decimal(up) + decimal(up if down is None else down)
        for t in (7, 1000, 2**31 - 2, 2**31 - 7, 123_456_789):
            p = t - (t // period) * period
            want = p / decimal(up) if p <= decimal(up) else (period - p) / (period - decimal(up))
            assert float(s(t)) == pytest.approx(float(want), abs=1e-6), (up, down, t)


def test_fractional_periods_of_combinators_keep_integer_positions():
    """`repeat`, `staircase` and `per_epoch` with a fractional period made the step float32 too:
    at 2**31 - 2 (read as 2**31) the period and position were those of another step."""
    t = 2**31 - 2
    cycle, rest = divmod(Fraction(t), Fraction("2.5"))
    assert float(js.repeat(js.linear(1.0, 0.0, 3), 2.5)(t)) == pytest.approx(
        float(1 - rest / 3), rel=1e-6)
    assert float(js.per_epoch(js.linear(0.0, 1.0, 10**9), 2.5)(t)) == pytest.approx(
        float(cycle / 10**9), rel=1e-6)
    assert float(js.staircase(js.linear(0.0, 1e9, 10**9), 2.5)(2**24 + 3)) == pytest.approx(
        float(divmod(Fraction(2**24 + 3), Fraction("2.5"))[0] * Fraction("2.5")), rel=1e-7)


def test_gradient_of_a_k_decay_cosine_at_step_0_is_finite():
    """The class of the masked sqrt: ``f**k`` with ``k < 1`` at ``f = 0`` (step 0) had an
    infinite derivative that ``0 * inf`` made NaN, for any argument's gradient."""
    for grad in (jax.grad(lambda n: js.cosine_annealing(1.0, n, k=0.5)(0))(10.5),
                 jax.grad(lambda k: js.cosine_annealing(1.0, 10, k=k)(0))(0.5)):
        assert float(grad) == 0.0


def test_gradient_of_a_polynomial_decay_past_its_end_is_finite():
    """``remaining**p`` with ``p < 1`` at ``remaining = 0`` (from the horizon on): NaN."""
    for grad in (jax.grad(lambda n: js.polynomial_decay(1.0, n, power=0.5)(20))(10.5),
                 jax.grad(lambda t: js.polynomial_decay(1.0, 10, power=0.5)(t))(20.0)):
        assert float(grad) == 0.0
