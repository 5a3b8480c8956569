"""Issue 20's shapes and combinators: shape "power" (warmup, cooldown, warmup_stable_decay),
`power_decay`, `hold` and `interleave`: values against float64 formulas, bad arguments refused
when built, and the plain-value contract (config, repr, pickle, ==, hash, jit, vmap, scan, stack).
The upstream rows built from them are checked in tests/test_golden_codebases.py."""

from __future__ import annotations

import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js

T = np.arange(0, 40)
RTOL = 2e-6


def power_reference(v0, p, tau, t):
    return v0 * (1.0 + np.asarray(t, np.float64) / tau) ** -p


BUILT = {
    "power_warmup": js.warmup(js.constant(2.0), 10, init_value=0.5, shape="power", power=2.5),
    "power_cooldown": js.cooldown(js.linear(1.0, 0.5, 40), 5, 20, shape="power", power=0.5,
                                  end_value=0.1),
    "power_wsd": js.warmup_stable_decay(1.0, 4, 6, 12, end_value=0.05, shape="power", power=3),
    "power_decay": js.power_decay(0.3, power=0.75, timescale=7),
    "hold": js.hold(js.cosine_annealing(1.0, 30), start=3, end=20),
    "interleave": js.interleave([js.linear(1.0, 0.0, 30), js.constant(0.2), js.power_decay(
        1.0, 0.5)], boundaries=[3, 4], period=6),
}


def expected(name: str, t: np.ndarray) -> np.ndarray:
    """Each schedule of BUILT from its formula, in float64."""
    t = np.asarray(t, np.float64)
    if name == "power_warmup":
        return np.where(t < 10, 0.5 + (2.0 - 0.5) * np.minimum(t / 10, 1) ** 2.5, 2.0)
    if name == "power_cooldown":
        base = 1.0 + (0.5 - 1.0) * np.minimum(t / 40, 1)
        f = np.clip((t - 5) / 20, 0, 1)
        return np.where(t < 5, base, 0.1 + (base - 0.1) * (1 - f) ** 0.5)
    if name == "power_wsd":
        f = np.clip((t - 10) / 12, 0, 1)
        return np.where(t < 4, t / 4, np.where(t < 10, 1.0, 0.05 + 0.95 * (1 - f) ** 3))
    if name == "power_decay":
        return power_reference(0.3, 0.75, 7, t)
    if name == "hold":
        u = np.clip(t, 3, 20)
        return 0.5 * (1 + np.cos(np.pi * np.minimum(u, 30) / 30))
    if name == "interleave":
        r = t % 6
        return np.where(r < 3, 1 - np.minimum(t / 30, 1), np.where(r < 4, 0.2, (1 + t) ** -0.5))
    raise KeyError(name)


@pytest.mark.parametrize("name", sorted(BUILT))
def test_values_match_the_formula_eager_jit_and_vmap(name):
    s, want = BUILT[name], expected(name, T)
    np.testing.assert_allclose(np.asarray(s(jnp.asarray(T))), want, rtol=RTOL, atol=1e-7)
    np.testing.assert_allclose(np.asarray(jax.jit(jax.vmap(s))(jnp.asarray(T))), want,
                               rtol=RTOL, atol=1e-7)
    np.testing.assert_allclose([float(s(int(t))) for t in T[::9]], want[::9], rtol=RTOL,
                               atol=1e-7)


@pytest.mark.parametrize("name", sorted(BUILT))
def test_plain_value_config_repr_pickle(name):
    s = BUILT[name]
    assert js.from_config(js.to_config(s)) == s
    copy = pickle.loads(pickle.dumps(s))
    assert copy == s and hash(copy) == hash(s) and repr(copy) == repr(s)
    assert repr(s).startswith(js.to_config(s)["kind"] + "(")


def test_scan_and_a_stacked_sweep():
    s = BUILT["power_cooldown"]

    def body(carry, t):
        return carry + s(t), s(t)

    _, values = jax.lax.scan(body, jnp.float32(0), jnp.arange(40))
    np.testing.assert_allclose(np.asarray(values), expected("power_cooldown", T), rtol=RTOL)
    # one run per exponent, and per hold end, in one vmapped program: no eager call inside
    sweep = js.stack([js.hold(js.warmup(js.power_decay(1.0, p), 4, shape="power", power=q), end=e)
                      for p, q, e in [(0.5, 2.0, 10), (1.0, 3.0, 20)]])
    got = jax.vmap(lambda sch: sch(jnp.arange(30)))(sweep)
    for row, (p, q, e) in zip(np.asarray(got), [(0.5, 2.0, 10), (1.0, 3.0, 20)]):
        u = np.minimum(np.arange(30), e)
        want = np.where(u < 4, (u / 4) ** q, power_reference(1.0, p, 1, np.maximum(u - 4, 0)))
        np.testing.assert_allclose(row, want, rtol=RTOL, atol=1e-7)


def test_power_is_not_square_and_power_one_is_linear():
    up = [js.warmup(js.constant(1.0), 10, shape=shape, **kw)(5) for shape, kw in
          [("power", {"power": 2.0}), ("square", {}), ("power", {"power": 1}), ("linear", {})]]
    assert float(up[0]) == pytest.approx(0.25) and float(up[1]) == pytest.approx(0.75)
    assert float(up[2]) == float(up[3]) == 0.5
    down = js.cooldown(js.constant(1.0), 0, 10, shape="power", power=2.0)
    assert float(down(5)) == pytest.approx(0.25)  # (1 - f)**2: polynomial_decay's curve
    assert float(js.polynomial_decay(1.0, 10, power=2.0)(5)) == float(down(5))


def test_power_decay_special_cases_and_growth():
    t = jnp.arange(0, 50)
    np.testing.assert_allclose(np.asarray(js.power_decay(2.0, 0.5, timescale=9)(t)),
                               np.asarray(js.inverse_sqrt(2.0, timescale=9)(t)), rtol=RTOL)
    np.testing.assert_allclose(np.asarray(js.power_decay(2.0, 1.0, timescale=8)(t)),
                               np.asarray(js.inverse_time_decay(2.0, 1.0, 8)(t)), rtol=RTOL)
    grow = js.power_decay(1e-3, power=-1.0)  # TF DirectPowerDecay's default power=1.0
    assert float(grow(2**31 - 1)) == pytest.approx(1e-3 * 2**31, rel=1e-6)
    assert js.power_decay(1.0, 0.0).horizon == 0 and js.power_decay(1.0, 0.5).horizon is None
    big = 2**31 - 7
    assert float(js.power_decay(1.0, 0.5, timescale=3)(big)) == pytest.approx(
        power_reference(1.0, 0.5, 3, big), rel=2e-6)


def test_horizons():
    assert js.hold(js.linear(1.0, 0.0, 30), start=2, end=10).horizon == 10
    assert js.hold(js.linear(1.0, 0.0, 30), start=2).horizon == 30
    assert js.hold(js.linear(1.0, 0.0, 5), start=8).horizon == 0
    assert js.hold(js.power_decay(1.0, 0.5), end=7).horizon == 7
    assert BUILT["interleave"].horizon is None
    assert js.interleave([js.linear(1.0, 0.0, 4)], [], period=3).horizon == 4
    assert BUILT["power_wsd"].horizon == 22 and BUILT["power_warmup"].horizon == 10


def test_a_traced_hold_end_under_vmap():
    s = js.linear(1.0, 0.0, 20)
    got = jax.vmap(lambda e: js.hold(s, end=e)(15))(jnp.array([5, 10, 20]))
    np.testing.assert_allclose(np.asarray(got), [0.75, 0.5, 0.25], rtol=RTOL)


@pytest.mark.parametrize("build, message", [
    (lambda: js.warmup(js.constant(1.0), 4, shape="power"), r"^shape='power' needs"),
    (lambda: js.cooldown(js.constant(1.0), 0, 4, power=2.0), r"^power is the exponent of"),
    (lambda: js.warmup_stable_decay(1.0, 1, 1, 1, shape="power", power=0.0), r"^power must be"),
    (lambda: js.power_decay(1.0, float("nan")), r"^power must be a finite number"),
    (lambda: js.power_decay(1.0, 0.5, timescale=0), r"^timescale must be"),
    (lambda: js.power_decay(1.0, -5.0), r"^a negative power grows the value"),
    (lambda: js.hold(js.constant(1.0), start=-1), r"^start must be"),
    (lambda: js.hold(js.constant(1.0), start=5, end=4), r"^end must be >= start"),
    (lambda: js.hold(0.1, start=1), r"^schedule must be a Schedule"),
    (lambda: js.interleave([js.constant(1.0)], [1], period=2), r"^boundaries must hold"),
    (lambda: js.interleave([js.constant(1.0)] * 2, [3], period=2), r"^boundaries must be pos"),
    (lambda: js.interleave([js.constant(1.0)] * 2, [1], period=0), r"^period must be"),
    (lambda: js.interleave([], [], period=2), r"^schedules must hold"),
])
def test_bad_arguments_are_refused_when_built(build, message):
    with pytest.raises(ValueError, match=message):
        build()
