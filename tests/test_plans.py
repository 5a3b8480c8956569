"""Changing the plan: `cooldown`, `shift`, `extend` and `noise` against float64 references of
their documented formulas; exact ends, continuity, horizons, traced branch points under `vmap`,
and noise that is the same under jit, eagerly, under vmap, across restarts and on 8 devices."""

import contextlib
import io
import math
import re
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js
from tests.helpers import anneal_reference, assert_close, run_on_eight_cpu_devices

SHAPES = ("linear", "cosine", "sqrt", "square", "mirror_cosine", "exponential")


def cooldown_reference(base, start, steps, shape, end, t):
    """`cooldown` as documented, over a float64 function `base` of the step."""
    if t < start:
        return base(t)
    if t >= start + steps:
        return end
    return anneal_reference(shape, base(t), end, (t - start) / steps)


def cosine64(init, n, t):
    return 0.5 * init * (1 + math.cos(math.pi * min(t, n) / n))


def values(schedule, steps):
    return np.asarray(jax.jit(schedule)(jnp.asarray(steps, jnp.int32)), np.float64)


# -- cooldown -------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_cooldown_of_a_cosine_matches_its_formula_with_exact_ends(shape):
    start, steps, end = 30, 50, 0.01
    s = js.cooldown(js.cosine_annealing(1.0, 200), start, steps, shape=shape, end_value=end)
    t = np.arange(0, 100)
    expected = [cooldown_reference(lambda u: cosine64(1.0, 200, u), start, steps, shape, end, u)
                for u in t]
    got = values(s, t)
    assert_close(got, expected, rtol=3e-6, what=shape)
    base = values(js.cosine_annealing(1.0, 200), t)
    assert np.array_equal(got[: start + 1], base[: start + 1])  # untouched up to `start`
    assert np.all(got[start + steps:] == np.float32(end))  # exactly end_value from the horizon on
    assert s.horizon == start + steps


def test_cooldown_of_a_constant_is_wsd_and_zero_steps_jump_at_start():
    s = js.cooldown(js.constant(2.0), 5, 4, shape="cosine", end_value=0.5)
    got = values(s, np.arange(12))
    expected = [cooldown_reference(lambda u: 2.0, 5, 4, "cosine", 0.5, u) for u in range(12)]
    assert_close(got, expected, rtol=2e-7)
    jump = js.cooldown(js.constant(2.0), 5, 0, end_value=0.25)
    assert values(jump, np.arange(8)).tolist() == [2.0] * 5 + [0.25] * 3
    assert jump.horizon == 5
    fractional = js.cooldown(js.constant(2.0), 5, 2.5, end_value=0.5)  # e.g. 0.1 * 25 steps
    expected = [cooldown_reference(lambda u: 2.0, 5, 2.5, "linear", 0.5, u) for u in range(10)]
    assert_close(values(fractional, np.arange(10)), expected, rtol=2e-7)
    assert fractional.horizon == 8


def test_cooldown_traced_start_under_vmap_is_one_program_with_each_schedules_values():
    base = js.cosine_annealing(1.0, 400)
    steps = jnp.arange(0, 300, 7, dtype=jnp.int32)
    traces = []

    @jax.jit
    def branches(starts):
        traces.append(1)
        return jax.vmap(lambda s0: js.cooldown(base, s0, 60, shape="sqrt")(steps))(starts)

    for starts in ([40, 100, 200], [50, 120, 230]):
        got = np.asarray(branches(jnp.asarray(starts, jnp.int32)))
        for row, s0 in zip(got, starts):
            alone = values(js.cooldown(base, s0, 60, shape="sqrt"), np.asarray(steps))
            np.testing.assert_allclose(row, alone, rtol=3e-7, atol=1e-9)
    assert len(traces) == 1 and branches._cache_size() == 1
    traced = jax.jit(lambda s0: jnp.asarray(js.cooldown(base, s0, 60).horizon is None))(10)
    assert bool(traced)


def test_cooldown_bad_arguments_name_themselves():
    c = js.constant(1.0)
    for kwargs, name in [({"start": -1, "steps": 3}, "start"), ({"start": 0, "steps": -2}, "steps"),
                         ({"start": 0, "steps": 3, "shape": "cos"}, "shape"),
                         ({"start": 0, "steps": 3, "shape": "exponential"}, "end_value")]:
        with pytest.raises(ValueError, match=name):
            js.cooldown(c, **kwargs)
    with pytest.raises(ValueError, match="schedule"):
        js.cooldown(1.0, 0, 3)


# -- shift ----------------------------------------------------------------------------------------


def test_shift_moves_the_schedule_both_ways_and_saturates():
    plan = js.cooldown(js.constant(1.0), 10, 20)
    t = np.arange(0, 60)
    full = values(plan, np.arange(-40, 150))  # steps below 0 act as 0
    for k in (-7, 0, 13, 45):
        np.testing.assert_array_equal(values(js.shift(plan, k), t), full[t + k + 40])
        assert js.shift(plan, k).horizon == max(30 - k, 0)
    big = values(js.shift(js.cosine_annealing(1.0, 100), 5), [2**31 - 1, 2**31 - 3])
    assert big.tolist() == [0.0, 0.0]  # no wrap-around into negative steps


# -- extend ---------------------------------------------------------------------------------------


def test_extend_is_continuous_at_at_and_ends_exactly_at_the_new_horizon():
    plan = js.cooldown(js.cosine_annealing(1.0, 1000), 600, 400, shape="sqrt", end_value=0.001)
    assert plan.horizon == 1000
    at, horizon = 700, 1600
    s = js.extend(plan, at, horizon)
    assert s.horizon == horizon
    t = np.arange(0, 1700)
    got, old = values(s, t), values(plan, t)
    np.testing.assert_array_equal(got[: at + 1], old[: at + 1])  # the same up to and at `at`
    assert np.all(got[horizon:] == np.float32(0.001)) and got[horizon - 1] != got[horizon]

    def plan64(u):
        return cooldown_reference(lambda v: cosine64(1.0, 1000, v), 600, 400, "sqrt", 0.001, u)

    expected = [plan64(u if u < at else min(at + (u - at) * 300 / 900, 1000)) for u in t]
    assert_close(got, expected, rtol=2e-5)
    jumps = np.abs(np.diff(got[at - 3: at + 4]))
    assert jumps.max() < 2 * np.abs(np.diff(old[at - 3: at + 4])).max()


def test_extend_compresses_and_takes_a_planned_horizon_for_lifted_functions():
    lifted = js.schedule(lambda t: 1.0 - jnp.minimum(t, 100).astype(jnp.float32) / 100)
    with pytest.raises(ValueError, match="horizon"):
        js.extend(lifted, 10, 50)
    s = js.extend(lifted, 10, 55, planned_horizon=100)
    got = values(s, [0, 10, 15, 55, 70])
    assert_close(got, [1.0, 0.9, 0.8, 0.0, 0.0], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kwargs, name", [
    ({"at": 30, "horizon": 50}, "at"), ({"at": 10, "horizon": 10}, "horizon"),
    ({"at": -1, "horizon": 50}, "at"), ({"at": 5, "horizon": 50, "planned_horizon": -3},
                                        "planned_horizon"),
])
def test_extend_refuses_inconsistent_steps(kwargs, name):
    with pytest.raises(ValueError, match=name):
        js.extend(js.cooldown(js.constant(1.0), 10, 10), **kwargs)


def test_horizon_through_nested_plans():
    inner = js.cooldown(js.constant(1.0), 100, 50)  # 150
    assert js.shift(inner, 30).horizon == 120
    assert js.extend(js.shift(inner, 30), 60, 300).horizon == 300
    assert js.noise(inner, 0, 0.1, end=400).horizon == 400
    assert js.noise(inner, 0, 0.1, end=20).horizon == 150
    assert js.noise(inner, 0, 0.1).horizon is None
    assert js.cooldown(js.noise(inner, 0, 0.1), 200, 10).horizon == 210


def test_horizon_through_the_shapes_and_combinators():
    wsd = js.warmup(js.cooldown(js.constant(1.0), 800, 200), 100)
    assert wsd.horizon == 1100
    joined = js.join([js.linear(0.0, 1.0, 10), js.cosine_annealing(1.0, 90)], [10])
    assert joined.horizon == 100
    assert js.extend(joined, 50, 190).horizon == 190
    assert js.shift(js.warmup(js.cosine_annealing(1.0, 90), 10), 25).horizon == 75
    assert (2.0 * js.cooldown(js.sgdr(1.0, 10), 40, 10)).horizon == 50
    assert js.sgdr(1.0, 10).horizon is None


def test_wsd_cycles_is_the_composition_and_checks_each_cycle():
    s = js.wsd_cycles([1.0, 0.8, 0.6], [40, 30, 50], decay_steps=[10, 6, 20], warmup_steps=5,
                      rewarmup_steps=4, init_value=0.1, end_value=0.01, shape="sqrt")
    pieces = [js.warmup(js.cooldown(js.constant(1.0), 25, 10, shape="sqrt", end_value=0.01), 5,
                        init_value=0.1),
              js.warmup(js.cooldown(js.constant(0.8), 20, 6, shape="sqrt", end_value=0.01), 4,
                        init_value=0.01),
              js.warmup(js.cooldown(js.constant(0.6), 26, 20, shape="sqrt", end_value=0.01), 4,
                        init_value=0.01)]
    composed = js.join(pieces, [40, 70])
    t = np.arange(0, 130)
    np.testing.assert_array_equal(values(s, t), values(composed, t))
    assert s.horizon == 120 and js.to_config(s) == js.to_config(composed)
    got = values(s, [0, 5, 29, 30, 39, 40, 44, 120])
    assert_close(got, [0.1, 1.0, 1.0, 1.0, 0.01 + 0.99 * (1 - math.sqrt(0.9)), 0.01, 0.8, 0.01],
                 rtol=2e-6)
    with pytest.raises(ValueError, match=r"cycle_steps\[1\]"):
        js.wsd_cycles(1.0, [40, 8], decay_steps=6, rewarmup_steps=4)
    with pytest.raises(ValueError, match="peak_value"):
        js.wsd_cycles([1.0, 0.5], [40, 30, 20], decay_steps=6)


def test_plans_as_jit_arguments_and_stacked_under_vmap():
    base = js.cooldown(js.cosine_annealing(1.0, 300), 100, 50)
    t = jnp.arange(0, 420, 7, dtype=jnp.int32)
    run = jax.jit(lambda s, t: s(t))  # every hyperparameter traced
    for s in [js.extend(base, 120, 400), js.shift(base, -20), js.noise(base, 3, 0.1, end=200),
              js.cooldown(base, 20, 30.5, shape="exponential", end_value=0.01)]:
        np.testing.assert_allclose(run(s, t), values(s, t), rtol=3e-7, err_msg=s.kind)
    peaks = js.stack([js.extend(js.cooldown(js.constant(p), 100, 50), 120, 400) for p in (1, 2)])
    rows = np.asarray(jax.vmap(lambda s: s(t))(peaks))
    np.testing.assert_allclose(rows[1], 2 * rows[0], rtol=1e-7)


# -- configs --------------------------------------------------------------------------------------


def test_plans_round_trip_through_configs():
    base = js.cosine_annealing(1.0, 300)
    for s in [js.cooldown(base, 100, 50, shape="mirror_cosine", end_value=0.1),
              js.shift(base, -20), js.extend(js.cooldown(base, 100, 50), 120, 400),
              js.noise(base, jax.random.key(7), 0.2, start=3, end=200, kind="uniform",
                       limit=0.3),
              js.noise(base, 11, 0.05)]:
        config = js.to_config(s)
        again = js.from_config(config)
        assert js.to_config(again) == config
        t = np.arange(0, 420, 3)
        # A few ulps apart at most: from_config gives the shapes' numbers back as 0-d arrays, which
        # XLA folds differently from Python floats (the same formulas, the same draws).
        np.testing.assert_allclose(values(again, t), values(s, t), rtol=1e-6, atol=1e-12)


# -- noise ----------------------------------------------------------------------------------------

NOISY = js.noise(js.cosine_annealing(1.0, 500), 1234, std=0.3, start=10, end=400, limit=0.5)


def test_noise_is_the_same_under_jit_eager_vmap_and_after_a_restart():
    t = np.arange(0, 450)
    jitted = values(NOISY, t)
    vmapped = np.asarray(jax.jit(jax.vmap(NOISY))(jnp.asarray(t, jnp.int32)), np.float64)
    eager = np.array([float(NOISY(int(u))) for u in t[::37]])
    np.testing.assert_array_equal(vmapped, jitted)
    np.testing.assert_array_equal(eager, jitted[::37])
    restarted = js.from_config(js.to_config(NOISY))  # a new process would rebuild it so
    np.testing.assert_allclose(values(restarted, t[200:]), jitted[200:], rtol=1e-6)
    scanned = jax.lax.scan(lambda c, u: (c, NOISY(u)), 0, jnp.asarray(t, jnp.int32))[1]
    np.testing.assert_array_equal(np.asarray(scanned, np.float64), jitted)


def test_noise_window_bound_and_key_forms():
    t = np.arange(0, 450)
    clean = values(js.cosine_annealing(1.0, 500), t)
    got = values(NOISY, t)
    inside = (t >= 10) & (t < 400)
    np.testing.assert_array_equal(got[~inside], clean[~inside])
    eps = got[inside] / clean[inside] - 1
    assert np.all(np.abs(eps) < 0.5 + 1e-6) and np.all(eps != 0)
    assert 0.2 < eps.std() < 0.3  # a normal of std 0.3 truncated at 0.5 has std 0.24
    same = [js.noise(js.constant(1.0), k, 0.1) for k in
            (5, jax.random.key(5), jax.random.PRNGKey(5))]
    rows = [values(s, np.arange(20)) for s in same]
    np.testing.assert_array_equal(rows[0], rows[1])
    np.testing.assert_array_equal(rows[0], rows[2])
    assert not np.array_equal(rows[0], values(js.noise(js.constant(1.0), 6, 0.1), np.arange(20)))


def test_noise_bad_arguments_name_themselves():
    c = js.constant(1.0)
    for kwargs, name in [({"std": 0.0}, "std"), ({"std": 0.1, "limit": 1.5}, "limit"),
                         ({"std": 0.1, "kind": "gauss"}, "kind"),
                         ({"std": 0.1, "start": 5, "end": 4}, "end"),
                         ({"std": 0.1, "start": -1}, "start")]:
        with pytest.raises(ValueError, match=name):
            js.noise(c, 0, **kwargs)
    with pytest.raises(ValueError, match="key"):
        js.noise(c, [1, 2, 3], 0.1)


_DEVICES = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import jaxsched as js

    assert jax.device_count() == 8
    s = js.noise(js.cosine_annealing(1.0, 500), 1234, std=0.3, start=10, end=400, limit=0.5)
    steps = jnp.arange(0, 448, dtype=jnp.int32)
    one = np.asarray(jax.jit(s)(steps))
    mesh = Mesh(np.array(jax.devices()), ("d",))
    sharded = jax.device_put(steps, NamedSharding(mesh, P("d")))
    spread = np.asarray(jax.jit(s)(sharded))
    per_device = [np.asarray(jax.jit(s)(jax.device_put(steps[:64], d))) for d in jax.devices()]
    assert np.array_equal(one, spread)
    assert all(np.array_equal(p, one[:64]) for p in per_device)
    print("OK")
    """
)


def test_noise_is_the_same_on_eight_devices():
    run_on_eight_cpu_devices(_DEVICES)


# -- docs/horizon.md: every snippet runs and prints what the page shows -------------------------

DOC = (Path(__file__).resolve().parents[1] / "docs" / "horizon.md").read_text()
EXAMPLES = {title: re.findall(r"```python\n(.*?)```\s*```\n(.*?)```", body, re.S)
            for title, body in re.findall(r"^## (.+?)\n(.*?)(?=^## |\Z)", DOC, re.S | re.M)}


def test_every_snippet_of_the_page_is_checked():
    assert DOC.count("```python") == sum(len(pairs) for pairs in EXAMPLES.values()) == 7


@pytest.mark.parametrize("title", [t for t, pairs in EXAMPLES.items() if pairs])
def test_page_snippet_prints_what_the_page_says(title):
    ((code, shown),) = EXAMPLES[title]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"docs/horizon.md:{title}", "exec"), {})
    assert out.getvalue() == shown
