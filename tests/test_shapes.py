"""Every shape against its float64 formula, at small and huge steps, and its exact endpoints."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched as js
from tests.helpers import assert_close, power_tolerance, references

CASES = [
    ("constant", dict(value=0.3)),
    ("linear", dict(init_value=0.0, end_value=1e-3, steps=37)),
    ("linear", dict(init_value=0.5, end_value=0.1, steps=3)),
    ("step_decay", dict(init_value=0.1, every=7, gamma=0.5)),
    ("step_decay", dict(init_value=1.0, every=100_000_000, gamma=0.1)),
    ("multistep_decay", dict(init_value=0.1, boundaries=[0, 5, 5, 30], gamma=0.3)),
    ("exponential_decay", dict(init_value=0.1, gamma=0.97)),
    ("exponential_decay", dict(init_value=2.0, gamma=0.5, transition_steps=50_000_000,
                               staircase=False, transition_begin=3)),
    ("exponential_decay", dict(init_value=1.0, gamma=0.9, transition_steps=4, staircase=True,
                               end_value=0.5)),
    ("exponential_decay", dict(init_value=1e-4, gamma=1.5, transition_steps=10, end_value=1e-2)),
    ("polynomial_decay", dict(init_value=1.0, steps=50, power=2.0, end_value=0.01)),
    ("polynomial_decay", dict(init_value=0.3, steps=2**31 - 1, power=0.5)),
    ("inverse_time_decay", dict(init_value=0.1, decay_rate=0.5, transition_steps=10)),
    ("inverse_time_decay", dict(init_value=0.1, decay_rate=2.0, transition_steps=3,
                                staircase=True)),
    ("inverse_sqrt", dict(init_value=1e-3, warmup_steps=20)),
    ("inverse_sqrt", dict(init_value=1e-3)),
    ("inverse_sqrt", dict(init_value=1e-3, warmup_steps=5, timescale=100)),
    ("cosine_annealing", dict(init_value=0.1, steps=40, end_value=1e-3)),
    ("cosine_annealing", dict(init_value=1.0, steps=2**31 - 1)),
    ("sgdr", dict(init_value=0.1, cycle_steps=7, end_value=1e-3)),
    ("sgdr", dict(init_value=0.1, cycle_steps=3, cycle_mult=2, cycle_decay=0.8)),
    ("sgdr", dict(init_value=1.0, cycle_steps=1, cycle_mult=3, end_value=0.01)),
    ("sgdr", dict(init_value=1.0, cycle_steps=1000, cycle_mult=7)),
    ("cyclic", dict(min_value=0.01, max_value=0.1, up_steps=5)),
    ("cyclic", dict(min_value=0.01, max_value=0.1, up_steps=3, down_steps=8,
                    mode="triangular2")),
    ("cyclic", dict(min_value=0.01, max_value=0.1, up_steps=4, mode="exp_range", gamma=0.99)),
    ("one_cycle", dict(peak_value=0.1, steps=50)),
    ("one_cycle", dict(peak_value=0.1, steps=41, pct_start=0.25, anneal="linear",
                       three_phase=True)),
    ("one_cycle", dict(peak_value=1.0, steps=2_000_000_000, pct_start=0.1)),
    ("one_cycle_momentum", dict(steps=50)),
    ("one_cycle_momentum", dict(steps=41, pct_start=0.25, anneal="linear",
                                three_phase=True, min_value=0.8, max_value=0.9)),
    ("log_annealing", dict(init_value=0.1, steps=60, end_value=1e-3)),
    ("log_annealing", dict(init_value=1.0, steps=2**31 - 2)),
    ("warmup_stable_decay", dict(peak_value=1e-3, warmup_steps=5, stable_steps=10,
                                 decay_steps=20)),
    ("warmup_stable_decay", dict(peak_value=1e-3, warmup_steps=0, stable_steps=3,
                                 decay_steps=9, end_value=1e-5, shape="cosine")),
    ("warmup_stable_decay", dict(peak_value=1e-3, warmup_steps=4, stable_steps=0,
                                 decay_steps=1_000_000_000, init_value=1e-5, shape="sqrt")),
]
IDS = [f"{kind}-{i}" for i, (kind, _) in enumerate(CASES)]

HUGE = [2**24 + 1, 2**30 - 1, 2**30, 2**30 + 1, 2**31 - 2, 2**31 - 1]
STEPS = np.unique(np.concatenate([
    np.arange(0, 130),
    np.array(HUGE),
    np.random.default_rng(0).integers(0, 2**31 - 1, size=64),
    # the neighbourhood of every horizon the cases use
    np.array([h + d for h in (1_000_000_000, 1_000_000_004, 2_000_000_000, 1_999_999_999)
              for d in (-2, -1, 0, 1, 2)]),
])).astype(np.int32)


@pytest.mark.parametrize(("kind", "kw"), CASES, ids=IDS)
def test_matches_float64_formula_at_every_step(kind, kw):
    s = getattr(js, kind)(**kw)
    got = np.asarray(jax.jit(s)(jnp.asarray(STEPS)), np.float64)
    want = references(kind, kw, STEPS)
    assert got.dtype == np.float64 and np.all(np.isfinite(got))
    init = next(iter(kw.values())) if kind not in ("one_cycle_momentum",) else 1.0
    rtol = power_tolerance(want, init)
    bad = np.abs(got - want) > rtol * np.abs(want) + 1e-30
    assert not bad.any(), (
        f"{kind}{kw}: first bad step {STEPS[bad][0]}: got {got[bad][0]!r}, "
        f"want {want[bad][0]!r}")


@pytest.mark.parametrize(("kind", "kw"), CASES, ids=IDS)
def test_eager_jit_vmap_scan_agree(kind, kw):
    """Compiled evaluations agree: jit and vmap bit for bit, eager and scan within 1 ulp. (Op-by-op
    evaluation, e.g. `jax.vmap` outside `jit`, may differ more: XLA fuses and contracts differently
    when it sees the whole formula.)"""
    s = getattr(js, kind)(**kw)
    steps = np.array([0, 1, 2, 5, 29, 30, 101, 2**31 - 1], np.int32)
    eager = np.array([np.asarray(s(int(t))) for t in steps])
    jitted = np.asarray(jax.jit(s)(jnp.asarray(steps)))
    vmapped = np.asarray(jax.jit(jax.vmap(s))(jnp.asarray(steps)))
    scan = jax.jit(lambda ts: jax.lax.scan(lambda c, t: (c, s(t)), 0, ts)[1])
    scanned = scan(jnp.asarray(steps))
    np.testing.assert_array_equal(vmapped, jitted)
    # A scalar program and a scan body may contract a multiply-add differently from an array
    # program: within 1 ulp (tests/test_properties.py::check_agreement).
    np.testing.assert_array_max_ulp(eager, jitted, maxulp=1)
    np.testing.assert_array_max_ulp(np.asarray(scanned), jitted, maxulp=1)


@pytest.mark.parametrize(("kind", "kw"), CASES, ids=IDS)
def test_config_and_repr_round_trip(kind, kw):
    s = getattr(js, kind)(**kw)
    config = js.to_config(s)
    assert config["kind"] == kind
    rebuilt = js.from_config(config)
    assert repr(rebuilt) == repr(s)
    assert repr(s).startswith(f"{kind}(")
    steps = jnp.asarray(STEPS)
    np.testing.assert_array_equal(np.asarray(rebuilt(steps)), np.asarray(s(steps)))


def test_negative_steps_act_as_step_zero():
    s = js.cosine_annealing(0.1, 10)
    assert float(s(-5)) == float(s(0)) == pytest.approx(0.1)
    np.testing.assert_array_equal(np.asarray(s(jnp.array([-3, -1, 0]))), np.full(3, s(0)))


def test_step_kinds_and_result_dtype():
    s = js.polynomial_decay(1.0, steps=10)
    for step in (3, 3.0, np.int32(3), np.int64(3), jnp.int32(3), jnp.float32(3), np.float32(3)):
        out = s(step)
        assert isinstance(out, jax.Array) and out.dtype == jnp.float32 and out.shape == ()
        assert float(out) == pytest.approx(0.7)
    grid = s(jnp.arange(12).reshape(3, 4))
    assert grid.shape == (3, 4) and grid.dtype == jnp.float32
    assert float(s(2.5)) == pytest.approx(0.75)  # a fractional step interpolates
    with pytest.raises(TypeError, match="step"):
        s(True)


def test_float64_steps_give_float64_under_x64():
    with jax.enable_x64(True):
        s = js.sgdr(0.1, cycle_steps=10, cycle_mult=2)
        assert s(jnp.float64(15.0)).dtype == jnp.float64
        assert s(jnp.int64(15)).dtype == jnp.float32
        big = jnp.int64(2**40 + 17)  # int64 steps: cycle arithmetic stays exact
        assert np.isfinite(float(s(big)))
        assert float(s(jnp.int64(15))) == pytest.approx(float(s(15)), rel=1e-6)


def test_exact_endpoints():
    assert float(js.polynomial_decay(0.3, 77, power=1.7, end_value=0.01)(77)) == np.float32(0.01)
    assert float(js.polynomial_decay(0.3, 77, power=1.7, end_value=0.01)(0)) == np.float32(0.3)
    assert float(js.cosine_annealing(0.3, 77, end_value=0.01)(77)) == np.float32(0.01)
    assert float(js.cosine_annealing(0.3, 77, end_value=0.01)(0)) == np.float32(0.3)
    assert float(js.linear(0.1, 0.7, 3)(3)) == np.float32(0.7)
    assert float(js.linear(0.1, 0.7, 3)(0)) == np.float32(0.1)
    assert float(js.log_annealing(0.3, 77, 0.01)(77)) == np.float32(0.01)
    assert float(js.log_annealing(0.3, 77, 0.01)(0)) == np.float32(0.3)
    wsd = js.warmup_stable_decay(0.3, 3, 4, 5, init_value=0.02, end_value=0.01, shape="sqrt")
    assert [float(wsd(t)) for t in (0, 3, 6, 12)] == [np.float32(v) for v in (0.02, .3, .3, .01)]
    oc = js.one_cycle(0.3, 100, final_div_factor=7.0)
    assert float(oc(99)) == np.float32(np.float32(np.float32(0.3) / 25.0) / 7.0)
    assert float(js.inverse_sqrt(0.3, 10)(10)) == np.float32(0.3)
    assert float(js.sgdr(0.3, 10, end_value=0.01, cycle_mult=2)(30)) == np.float32(0.3)


def test_horizons_hold_their_final_value():
    late = jnp.array([1000, 10**6, 2**31 - 1])
    for s, final in [
        (js.cosine_annealing(0.1, 100, 0.01), 0.01),
        (js.polynomial_decay(0.1, 100, end_value=0.02), 0.02),
        (js.one_cycle(0.1, 100), 0.1 / 25 / 1e4),
        (js.log_annealing(0.1, 100, 0.03), 0.03),
        (js.linear(0.1, 0.2, 100), 0.2),
        (js.warmup_stable_decay(0.1, 10, 10, 10, end_value=0.04), 0.04),
    ]:
        np.testing.assert_allclose(np.asarray(s(late)), final, rtol=1e-6)


def test_periodic_shapes_are_periodic():
    t = jnp.arange(0, 200)
    s = js.sgdr(0.1, 13, 0.01)
    np.testing.assert_array_equal(np.asarray(s(t)), np.asarray(s(t + 13 * 1000)))
    c = js.cyclic(0.01, 0.1, 4, 9)
    np.testing.assert_array_equal(np.asarray(c(t)), np.asarray(c(t + 13 * 7777)))


def test_sgdr_is_constant_size_whatever_the_number_of_cycles():
    def size(s):
        return len(jax.make_jaxpr(s)(jnp.int32(0)).eqns)

    few, many = js.sgdr(0.1, 1000, cycle_mult=2), js.sgdr(0.1, 1, cycle_mult=2)
    assert size(few) == size(many) < 128  # optax: 247 equations for 10 cycles
    assert size(js.sgdr(0.1, 10)) == size(js.sgdr(0.1, 10**6))
    # The same call sees cycles 0 and 30 of a doubling schedule.
    np.testing.assert_allclose(float(many(2**30 - 1)), 0.1, rtol=1e-6)


# -- transformations ------------------------------------------------------------------------------


def test_vmap_over_hyperparameters_and_grad():
    peaks = jnp.array([0.1, 0.2, 0.4])
    values = jax.vmap(lambda p: js.cosine_annealing(p, 10, 0.0)(5))(peaks)
    chex.assert_shape(values, (3,))
    chex.assert_trees_all_close(values, peaks * 0.5, rtol=1e-6)

    # vmap over a schedule whose leaves are batched arrays: map the array leaves only
    batch = js.sgdr(peaks, 10, 0.0, cycle_mult=2)
    axes = jax.tree_util.tree_map(lambda x: 0 if jnp.ndim(x) else None, batch)
    np.testing.assert_allclose(np.asarray(jax.vmap(lambda s: s(5), in_axes=(axes,))(batch)),
                               np.asarray(peaks) * 0.5, rtol=1e-6)

    g = jax.grad(lambda p: js.one_cycle(p, 100)(40))(0.3)
    want = float(js.one_cycle(1.0, 100)(40))  # one_cycle is linear in max_lr
    assert float(g) == pytest.approx(want, rel=1e-5)

    g = jax.grad(lambda gamma: js.exponential_decay(1.0, gamma)(3))(0.5)
    assert float(g) == pytest.approx(3 * 0.5**2, rel=1e-5)


def test_schedule_is_a_pytree_of_its_hyperparameters():
    s = js.cyclic(0.01, 0.1, 5, mode="exp_range", gamma=0.9)
    leaves, treedef = jax.tree_util.tree_flatten(s)
    assert leaves == [0.01, 0.1, 5, 0.9]  # down_steps=None has no leaf; mode is structure
    doubled = jax.tree_util.tree_unflatten(treedef, [0.02, 0.2, 5, 0.9])
    assert float(doubled(3)) == pytest.approx(2 * float(s(3)), rel=1e-6)
    with pytest.raises(AttributeError, match="immutable"):
        s.max_lr = 1.0


def test_inside_jit_with_traced_hyperparameters_skips_checks():
    @jax.jit
    def f(peak, length):
        return js.cosine_annealing(peak, length)(5)

    assert float(f(1.0, 10)) == pytest.approx(0.5, rel=1e-6)


@jax.numpy_dtype_promotion("standard")  # optax itself is not written for strict promotion
def test_optax_takes_a_schedule_as_it_is():
    s = js.step_decay(0.1, every=2, gamma=0.5)
    params = {"w": jnp.ones(3)}
    grads = {"w": jnp.ones(3)}
    with jax.numpy_dtype_promotion("standard"):  # optax is not written for strict promotion
        for opt in (optax.sgd(s), optax.chain(optax.scale_by_schedule(s), optax.scale(-1.0))):
            state = opt.init(params)
            update = jax.jit(opt.update)
            seen = []
            for _ in range(5):
                updates, state = update(grads, state, params)
                seen.append(float(-updates["w"][0]))
            np.testing.assert_allclose(seen, [float(s(t)) for t in range(5)], rtol=1e-6)
            assert seen[2] == pytest.approx(0.05)

        opt = optax.adam(js.cosine_annealing(1e-3, 10))
        state = opt.init(params)
        updates, state = jax.jit(opt.update)(grads, state, params)
        np.testing.assert_allclose(np.asarray(updates["w"]), -1e-3, rtol=1e-4)


def test_matches_optax_equivalents():
    t = jnp.arange(0, 300)
    pairs = [
        (js.linear(0.1, 0.01, 50), optax.linear_schedule(0.1, 0.01, 50)),
        (js.polynomial_decay(0.1, 80, power=2.0, end_value=0.01),
         optax.polynomial_schedule(0.1, 0.01, 2.0, 80)),
        (js.exponential_decay(0.1, 0.9, 7, staircase=True, transition_begin=5, end_value=0.02),
         optax.exponential_decay(0.1, 7, 0.9, transition_begin=5, staircase=True,
                                 end_value=0.02)),
        (js.cosine_annealing(0.1, 120, 0.01), optax.cosine_decay_schedule(0.1, 120, alpha=0.1)),
        (js.constant(0.3), optax.constant_schedule(0.3)),
    ]
    for ours, theirs in pairs:
        with jax.numpy_dtype_promotion("standard"):  # optax is not strict-promotion clean
            expected = theirs(t)
        assert_close(ours(t), expected, rtol=2e-6, atol=1e-9, what=repr(ours))


def test_array_hyperparameters_broadcast_with_scalar_steps():
    s = js.cosine_annealing(jnp.array([0.1, 0.2]), 10)
    chex.assert_shape(s(5), (2,))
    chex.assert_trees_all_close(s(5), jnp.array([0.05, 0.1]), rtol=1e-6)


class WithAndWithoutJit(chex.TestCase):
    """A schedule is a pure function of the step: jitted or not, the same value (chex runs the
    test once per variant)."""

    @chex.variants(with_jit=True, without_jit=True)
    def test_cosine_annealing_at_its_quarter_points(self):
        s = js.cosine_annealing(0.1, 8, end_value=0.02)
        values = self.variant(s)(jnp.array([0, 2, 4, 6, 8, 9], jnp.int32))
        chex.assert_shape(values, (6,))
        quarter = 0.02 + 0.04 * (1 + math.cos(math.pi / 4))
        want = jnp.array([0.1, quarter, 0.06, 0.12 - quarter, 0.02, 0.02], jnp.float32)
        chex.assert_trees_all_close(values, want, rtol=2e-7, atol=0.0)


# -- bad input ------------------------------------------------------------------------------------

BAD = [
    (js.constant, dict(value=math.nan), "value"),
    (js.linear, dict(init_value=0.1, end_value=0.0, steps=-1), "steps"),
    (js.linear, dict(init_value=0.1, end_value=0.0, steps=math.nan), "steps"),
    (js.step_decay, dict(init_value=0.1, every=-3), "every"),
    (js.step_decay, dict(init_value=0.1, every=3, gamma=0.0), "gamma"),
    (js.step_decay, dict(init_value=math.inf, every=3), "init_value"),
    (js.multistep_decay, dict(init_value=0.1, boundaries=[5, 3]), "boundaries"),
    (js.multistep_decay, dict(init_value=0.1, boundaries=[-1, 3]), "boundaries"),
    (js.exponential_decay, dict(init_value=0.1, gamma=-0.5), "gamma"),
    (js.exponential_decay, dict(init_value=0.1, gamma=1.01), "gamma"),
    (js.step_decay, dict(init_value=0.1, every=3, gamma=2.0), "gamma"),
    (js.sgdr, dict(init_value=0.1, cycle_steps=10, cycle_decay=1.5), "cycle_decay"),
    (js.exponential_decay, dict(init_value=0.1, gamma=0.5, transition_steps=0),
     "transition_steps"),
    (js.exponential_decay, dict(init_value=0.1, gamma=0.5, transition_begin=-1),
     "transition_begin"),
    (js.polynomial_decay, dict(init_value=0.1, steps=-0.5), "steps"),
    (js.polynomial_decay, dict(init_value=0.1, steps=10, power=0.0), "power"),
    (js.inverse_time_decay, dict(init_value=0.1, decay_rate=-1.0, transition_steps=3),
     "decay_rate"),
    (js.inverse_sqrt, dict(init_value=0.1, warmup_steps=-2), "warmup_steps"),
    (js.inverse_sqrt, dict(init_value=0.1, timescale=0), "timescale"),
    (js.cosine_annealing, dict(init_value=0.1, steps=math.inf), "steps"),
    (js.cosine_annealing, dict(init_value=0.1, steps=10, k=0.0), "k"),
    (js.cosine_annealing, dict(init_value=0.1, steps=10, end_value=0.2), "init_value"),
    (js.sgdr, dict(init_value=0.1, cycle_steps=10, cycle_mult=0), "cycle_mult"),
    (js.sgdr, dict(init_value=0.1, cycle_steps=10, cycle_mult=0.5), "cycle_mult"),
    (js.sgdr, dict(init_value=0.1, cycle_steps=10, cycles=0), "cycles"),
    (js.sgdr, dict(init_value=0.1, cycle_steps=0.5), "cycle_steps"),
    (js.sgdr, dict(init_value=0.1, cycle_steps=10, cycle_decay=0.0), "cycle_decay"),
    (js.cyclic, dict(min_value=0.2, max_value=0.1, up_steps=3), "max_value"),
    (js.cyclic, dict(min_value=0.01, max_value=0.1, up_steps=0), "up_steps"),
    (js.cyclic, dict(min_value=0.01, max_value=0.1, up_steps=3, mode="sine"), "mode"),
    (js.cyclic, dict(min_value=0.01, max_value=0.1, up_steps=3, mode="exp_range", gamma=1.5),
     "gamma"),
    (js.one_cycle, dict(peak_value=0.1, steps=100, pct_start=1.0), "pct_start"),
    (js.one_cycle, dict(peak_value=0.1, steps=100, pct_start=0.0), "pct_start"),
    (js.one_cycle, dict(peak_value=0.1, steps=100, pct_start=0.01), "pct_start"),
    (js.one_cycle, dict(peak_value=0.1, steps=100, pct_start=0.6, three_phase=True),
     "pct_start"),
    (js.one_cycle, dict(peak_value=0.1, steps=1), "steps"),
    (js.one_cycle, dict(peak_value=0.1, steps=100, anneal="cosine"), "anneal"),
    (js.one_cycle, dict(peak_value=0.1, steps=100, div_factor=0.0), "div_factor"),
    (js.one_cycle_momentum, dict(steps=100, min_value=0.99), "max_value"),
    (js.log_annealing, dict(init_value=0.1, steps=-3), "steps"),
    (js.tanh_decay, dict(init_value=0.1, steps=10, lower=3.0, upper=-7.0), "upper"),
    (js.tanh_decay, dict(init_value=0.1, steps=-1), "steps"),
    (js.warmup_stable_decay, dict(peak_value=0.1, warmup_steps=1, stable_steps=1,
                                  decay_steps=-2), "decay_steps"),
    (js.warmup_stable_decay, dict(peak_value=0.1, warmup_steps=1, stable_steps=1,
                                  decay_steps=5, shape="exponential"), "end_value"),
    (js.warmup_stable_decay, dict(peak_value=0.1, warmup_steps=1, stable_steps=1,
                                  decay_steps=5, shape="exp"), "shape"),
    (js.warmup_stable_decay, dict(peak_value=0.1, warmup_steps=2**30, stable_steps=2**30,
                                  decay_steps=5), "warmup_steps"),
]


@pytest.mark.parametrize(("ctor", "kw", "name"), BAD,
                         ids=[f"{c.__name__}-{n}-{i}" for i, (c, _, n) in enumerate(BAD)])
def test_bad_hyperparameters_raise_at_construction(ctor, kw, name):
    with pytest.raises(ValueError, match=name) as info:
        ctor(**kw)
    message = str(info.value)
    assert "got" in message, message


@pytest.mark.parametrize("bad", ["0.1", None, True, [0.1], 1j, np.complex64(1)])
def test_non_numbers_raise_type_error(bad):
    with pytest.raises(TypeError, match="init_value"):
        js.cosine_annealing(bad, 10)


# -- found by the property tests (tests/test_properties.py) --------------------------------------


@pytest.mark.parametrize("s, t, want", [
    # A rise from 0: ``end * (1 - w)`` lost the precision of 1 - w; linear(0, 1, 1e8) was 0.
    (js.linear(0.0, 1.0, 10**8), 1, 1e-8),
    (js.linear(0.0, 1.0, 10**6), 1, 1e-6),
    (js.polynomial_decay(0.0, 10**6, power=2.0, end_value=1.0), 1, 1 - (1 - 1e-6) ** 2),
    (js.one_cycle(1.0, 10**6, div_factor=1e4), 1,
     1e-4 + (1 - 1e-4) * (1 - math.cos(math.pi / (0.3 * 10**6 - 1))) / 2),
    (js.cyclic(0.0, 1.0, up_steps=10**7), 1, 1e-7),
    (js.warmup_stable_decay(1.0, 10**7, 0, 5), 1, 1e-7),
], ids=["linear-1e8", "linear-1e6", "polynomial", "one_cycle", "cyclic", "wsd"])
def test_rising_values_keep_their_precision_near_the_start(s, t, want):
    assert float(s(t)) == pytest.approx(want, rel=2e-6)


@pytest.mark.parametrize("build, message", [
    (lambda: js.constant(1e39), r"^value must be a finite number within float32's range"),
    (lambda: js.cosine_annealing(np.float64(1e300), 10), r"^init_value must be .*float32's range"),
    (lambda: js.step_decay(0.1, 10, gamma=1e-40), r"^gamma must be .*smallest normal number"),
    (lambda: js.multistep_decay(0.1, [True, 3]), r"^boundaries must be a sequence of integers"),
    (lambda: js.multistep_decay(0.1, [1j]), r"^boundaries must be a sequence of integers"),
    (lambda: js.multistep_decay(0.1, [2**40]),
     r"^boundaries must hold integers of at most 2\*\*31"),
    (lambda: js.linear(0.0, 1.0, -1), r"^steps must be a number of steps >= 0, got steps=-1"),
    (lambda: js.linear(0.0, 1.0, 2**31), r"^steps must be at most 2\*\*31 - 1"),
    (lambda: js.cosine_annealing(0.1, 2**64), r"^steps must be at most 2\*\*31 - 1"),
    (lambda: js.multistep_decay(0.1, [3, 5], gamma=3e38), r"^gamma must keep the value within"),
    (lambda: js.exponential_decay(-1.0, 2.0, end_value=1.0), r"^gamma > 1 grows the value"),
    (lambda: js.multistep_decay(0.0, [0, 0, 0], gamma=7e12), r"^gamma must keep the value"),
    (lambda: js.cyclic(0.0, 1.0, up_steps=2**30),
     r"^up_steps \+ down_steps \(a cycle\)"),
    (lambda: js.one_cycle(1.0, 4, pct_start=0.625, three_phase=True),
     r"^pct_start must leave room for the third phase of three_phase=True"),
    (lambda: js.one_cycle(3e38, 100, div_factor=0.5), r"^div_factor must keep the starting"),
    (lambda: js.one_cycle(1.0, 100, div_factor=1e-30, final_div_factor=1e-30),
     r"^final_div_factor must keep the starting"),
])
def test_out_of_range_hyperparameters_raise(build, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build()


def test_sgdr_cycle_ending_beyond_int32_is_exact():
    """Cycle 3 of sgdr(178, cycle_mult=230) ends after int32's largest step; its length was then
    a float32 estimate and the position near its end lost 6e-6 relative."""
    s = js.sgdr(1.0, 178, cycle_mult=230)
    start, length = 178 * (1 + 230 + 230**2), 178 * 230**3
    for t in (2**31 - 2, 2**31 - 1, start + 5):
        want = math.sin(math.pi * (start + length - t) / length / 2) ** 2
        assert float(s(t)) == pytest.approx(want, rel=2e-6)


@pytest.mark.parametrize("kind", ["one_cycle", "one_cycle_momentum"])
def test_one_cycle_step_just_past_an_end_below_an_integer(kind):
    """pct_start·N = 29.999999999999996: the first phase ends at 28.999999999999996, whose
    fraction is 1.0 in float32. Step 29 was taken as the end of phase 1; in PyTorch it starts
    phase 2, a hair (4e-15 steps) past its start: a momentum of 3.7e-32 above base 0, not 0."""
    kw = dict(steps=117, pct_start=0.2564102564102564, three_phase=True)
    kw.update(peak_value=1.0) if kind == "one_cycle" else kw.update(min_value=0.0, max_value=1.0)
    s = getattr(js, kind)(**kw)
    steps = np.arange(26, 33)
    assert_close(s(jnp.asarray(steps)), references(kind, kw, steps), rtol=2e-6, what=kind)


def test_exponential_bound_follows_gamma_in_float64():
    """gamma = 0.9999999999999999 is 1.0 in float32, which chose the growth branch: the value was
    bounded from above by end_value = 0, i.e. 0 from step 0 on."""
    s = js.exponential_decay(1.0, 0.9999999999999999, end_value=0.0)
    assert float(s(0)) == 1.0


def test_growth_from_zero_stays_finite():
    """``0 * gamma**p`` was NaN once the power overflowed (for gamma > 1 with end_value)."""
    s = js.exponential_decay(0.0, 2.0, end_value=1.0)
    np.testing.assert_array_equal(np.asarray(s(jnp.array([0, 200, 2**31 - 1]))), np.zeros(3))


def test_extreme_cyclic_ranges_stay_finite():
    """The shrinking amplitude was ``base + (high - base) * s``: inf for base = -3e38, high =
    3e38."""
    for mode in ("triangular2", "exp_range"):
        s = js.cyclic(-3e38, 3e38, up_steps=3, mode=mode, gamma=0.5)
        assert np.all(np.isfinite(np.asarray(s(jnp.arange(20)))))


@pytest.mark.parametrize("step", [np.int64(2**31), np.array([5, 2**31], np.int64),
                                  np.uint32(2**31 + 5)], ids=["int64", "int64-array", "uint32"])
def test_numpy_steps_beyond_int32_raise_instead_of_wrapping(step):
    """JAX converts a NumPy int64 to int32 by wrapping: 2**31 became -2**31, i.e. step 0."""
    with pytest.raises(ValueError, match=r"at most 2\*\*31 - 1"):
        js.linear(0.0, 1.0, 10)(step)


def test_traced_hyperparameters_give_the_same_values():
    """A schedule passed into `jit` as an argument: its hyperparameters are traced."""
    steps = jnp.array([0, 1, 7, 100, 10_000, 2**31 - 1])
    call = jax.jit(lambda s, t: s(t))
    for kind, kw in CASES:
        if kind in ("exponential_decay",):  # traced gamma is float32: see its docstring
            continue
        s = getattr(js, kind)(**kw)
        assert_close(call(s, steps), s(steps), rtol=2e-6, what=f"{kind}{kw}")
