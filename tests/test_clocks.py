"""js.scale_by_schedule: steps, tokens and samples clocks.

The position is checked against Python integers (exact), the rate applied against the schedule
at that position, and the value at 10**13 tokens against the float64 formula. One jitted
``lax.scan`` per configuration runs many updates at once.
"""

from __future__ import annotations

import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched as js
from jaxsched import _clocks
from tests.helpers import _cos, run_on_eight_cpu_devices

SCHEDULE = js.warmup(js.cosine_annealing(1.0, 200), 50)  # positional: safe across the renames


def _scan_rates(tx, counts, clock):
    """Runs `tx` over the counts in one scan; the rate each update applied and the last state."""

    def body(state, n):
        updates, state = tx.update(jnp.ones(1), state, **({clock: n} if clock else {}))
        return state, -updates[0]

    return jax.jit(lambda c: jax.lax.scan(body, tx.init(jnp.zeros(1)), c))(counts)


def _positions(counts, unit):
    """Whole units seen before each update, as Python integers."""
    before = np.concatenate([[0], np.cumsum([int(n) for n in counts], dtype=object)[:-1]])
    return [int(b) // unit for b in before]


def test_steps_clock_is_optax_scale_by_learning_rate():
    grads = jax.random.normal(jax.random.key(0), (30, 4))

    def run(tx):
        def body(state, g):
            updates, state = tx.update(g, state)
            return state, updates

        return jax.jit(lambda gs: jax.lax.scan(body, tx.init(gs[0]), gs)[1])(grads)

    ours = run(js.scale_by_schedule(SCHEDULE))
    theirs = run(optax.scale_by_learning_rate(SCHEDULE))
    np.testing.assert_allclose(ours, theirs, rtol=2e-7, atol=0)


@pytest.mark.parametrize("clock", ["tokens", "samples"])
def test_the_rate_follows_the_count_as_the_batch_size_changes(clock):
    counts = jax.random.randint(jax.random.key(1), (300,), 0, 160)  # to ~240 of 250 units
    state, rates = _scan_rates(js.scale_by_schedule(SCHEDULE, clock, unit=100), counts, clock)
    expected = jax.jit(jax.vmap(SCHEDULE))(jnp.asarray(_positions(counts, 100), jnp.int32))
    np.testing.assert_allclose(rates, expected, rtol=1e-6, atol=0)
    assert 0 < float(rates[-1]) < float(jnp.max(rates))  # warmup and decay were both crossed
    total = sum(int(n) for n in counts)
    assert _clocks.exact_count(state[0]) == total
    assert float(js.hyperparams(state)[clock]) == total
    np.testing.assert_allclose(js.learning_rate(state), SCHEDULE(total // 100), rtol=1e-6)


def test_three_billion_tokens_per_step_for_ten_thousand_steps_are_counted_exactly():
    """3e9 per update (more than int32 holds: uint32 counts) to 3e13, past 2**32 and 2**44."""
    tx = js.scale_by_schedule(js.constant(1.0), "tokens")
    state, _ = _scan_rates(tx, jnp.full((10**4,), 3 * 10**9, jnp.uint32), "tokens")
    assert _clocks.exact_count(state.tokens) == 3 * 10**13


def test_counts_are_exact_beyond_2_53_and_carry_between_words():
    tx = js.scale_by_schedule(js.constant(1.0), "samples", unit=7)
    start = 2**53 - 5
    units, rest = divmod(start, 7)
    state = js.SampleClockState(jnp.asarray([units >> 32, units & 0xFFFFFFFF, rest, 7],
                                            jnp.uint32), jnp.float32(1.0))
    counts = [2**32 - 1, 6, 1, 2**31, 2**32 - 7, 0, 13]
    update = jax.jit(lambda s, n: tx.update(jnp.ones(1), s, samples=n)[1])
    for n in counts:
        state = update(state, jnp.uint32(n))
    state = tx.update(jnp.ones(1), state, samples=2**40 + 3)[1]  # a Python int: split exactly
    assert _clocks.exact_count(state.samples) == start + sum(counts) + 2**40 + 3


def test_value_at_ten_trillion_tokens_is_within_1e_6_of_float64():
    """The schedule in units of 10**6 tokens: its step is the exact number of whole units."""
    steps = 2 * 10**7  # units: 2e13 tokens
    schedule = js.cosine_annealing(1.0, steps, 0.1)
    counts = 999_999_937 + jnp.arange(10**4, dtype=jnp.uint32)  # to 1e13 tokens, uneven
    state, rates = _scan_rates(js.scale_by_schedule(schedule, "tokens", unit=10**6), counts,
                               "tokens")
    positions = _positions(np.asarray(counts), 10**6)
    expected = [_cos(1.0, 0.1, min(p, steps) / steps) for p in positions]
    np.testing.assert_allclose(rates, expected, rtol=1e-6, atol=0)
    total = _clocks.exact_count(state.tokens)
    assert total > 10**13
    np.testing.assert_allclose(state.value, _cos(1.0, 0.1, (total // 10**6) / steps), rtol=1e-6)


def test_without_units_a_huge_count_holds_the_end_value():
    """unit=1: past int32 the step is capped at 2**31 - 1, where a finished schedule holds."""
    tx = js.scale_by_schedule(js.cosine_annealing(1.0, 10**9, 0.25), "tokens")
    state, _ = _scan_rates(tx, jnp.full((4000,), 4 * 10**9, jnp.uint32), "tokens")
    assert _clocks.exact_count(state.tokens) == 16 * 10**12
    assert float(state.value) == 0.25


def test_x64_counts_64_bit_batches_and_the_schedule_sees_int64_steps():
    with jax.enable_x64(True):
        tx = js.scale_by_schedule(js.sgdr(1.0, 10**9), "tokens")  # periodic: no cap with x64
        counts = jnp.full((50,), 5 * 10**12 + 12345, jnp.int64)
        state, rates = _scan_rates(tx, counts, "tokens")
        hyper = js.hyperparams(state)
    total = 50 * (5 * 10**12 + 12345)
    assert hyper["tokens"].dtype == jnp.int64 and int(hyper["tokens"]) == total
    cycle = 10**9
    expected = [_cos(1.0, 0.0, (p % cycle) / cycle) for p in _positions(np.asarray(counts), 1)]
    np.testing.assert_allclose(rates, expected, rtol=1e-6, atol=1e-7)


def test_missing_and_bad_counts_and_arguments():
    tx = js.scale_by_schedule(SCHEDULE, "tokens")
    state = tx.init(jnp.zeros(2))
    with pytest.raises(TypeError, match=r"tokens=n"):
        tx.update(jnp.ones(2), state)
    with pytest.raises(TypeError, match=r"tokens=n"):
        tx.update(jnp.ones(2), state, samples=3)  # the other clock's count
    with pytest.raises(TypeError, match="integer"):
        tx.update(jnp.ones(2), state, tokens=1.5)
    with pytest.raises(ValueError, match="scalar"):
        tx.update(jnp.ones(2), state, tokens=jnp.ones(2, jnp.int32))
    with pytest.raises(ValueError, match="2\\*\\*64"):
        tx.update(jnp.ones(2), state, tokens=-1)
    with pytest.raises(ValueError, match="clock"):
        js.scale_by_schedule(SCHEDULE, "epochs")
    with pytest.raises(ValueError, match="unit"):
        js.scale_by_schedule(SCHEDULE, "tokens", unit=0)
    with pytest.raises(ValueError, match="unit"):
        js.scale_by_schedule(SCHEDULE, "steps", unit=10)
    with pytest.raises(TypeError, match="callable"):
        js.scale_by_schedule(0.1)
    # A steps clock ignores token counts, so one update call serves every transformation.
    steps = js.scale_by_schedule(SCHEDULE)
    steps.update(jnp.ones(2), steps.init(jnp.zeros(2)), tokens=5)


def test_save_and_restore_continues_bit_for_bit(tmp_path):
    schedule = js.warmup(js.cosine_annealing(0.05, 40), 8)
    opt = optax.chain(optax.scale_by_adam(), js.scale_by_schedule(schedule, "tokens", unit=64))
    counts = np.asarray(jax.random.randint(jax.random.key(2), (30,), 100, 2000), np.int32)
    grads = jax.random.normal(jax.random.key(3), (30, 5))

    @jax.jit
    def step(params, state, g, n):
        updates, state = opt.update(g, state, params, tokens=n)
        return optax.apply_updates(params, updates), state

    with jax.numpy_dtype_promotion("standard"):  # optax's Adam is not written for strict mode
        params = jnp.zeros(5)
        run = [(params, opt.init(params))]
        for k in range(30):
            run.append(step(*run[-1], grads[k], counts[k]))
        np.savez(tmp_path / "ckpt.npz", *jax.tree.leaves(jax.tree.map(np.asarray, run[11])))
        with np.load(tmp_path / "ckpt.npz") as f:
            leaves = [jnp.asarray(f[f"arr_{i}"]) for i in range(len(f.files))]
        resumed = jax.tree.unflatten(jax.tree.structure(run[11]), leaves)
        for k in range(11, 30):
            resumed = step(*resumed, grads[k], counts[k])
            for a, b in zip(jax.tree.leaves(resumed), jax.tree.leaves(run[k + 1])):
                np.testing.assert_array_equal(a, b)
    assert _clocks.exact_count(resumed[1][1].tokens) == int(counts.sum())


_SHARDED = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np, optax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import jaxsched as js

    assert jax.device_count() == 8
    schedule = js.warmup(js.cosine_annealing(0.2, 300), 50)
    opt = optax.chain(optax.scale_by_adam(),
                      js.scale_by_schedule(schedule, "tokens", unit=16))
    x = jax.random.normal(jax.random.key(0), (40, 64, 8))
    lengths = jax.random.randint(jax.random.key(1), (40, 64), 1, 60)  # tokens per example

    def step(w, state, xb, lb):
        loss, g = jax.value_and_grad(lambda w: jnp.mean((jnp.tanh(xb @ w) - 0.5) ** 2))(w)
        updates, state = opt.update(g, state, w, tokens=jnp.sum(lb))  # the global batch's
        return optax.apply_updates(w, updates), state, js.hyperparams(state)

    def run(w, xs, ls, jitted):
        state, out = opt.init(w), []
        for k in range(40):
            w, state, hyper = jitted(w, state, xs[k], ls[k])
            out.append((state[1], hyper))
        return w, out

    with jax.numpy_dtype_promotion("standard"):
        w0 = jnp.zeros((8, 16))
        w1, ref = run(w0, x, lengths, jax.jit(step))
        mesh = Mesh(np.array(jax.devices()), ("d",))
        rows = NamedSharding(mesh, P(None, "d"))
        w8, sharded = run(jax.device_put(w0, NamedSharding(mesh, P(None, "d"))),
                          jax.device_put(x, rows), jax.device_put(lengths, rows),
                          jax.jit(step))
    for (a, ha), (b, hb) in zip(ref, sharded):
        np.testing.assert_array_equal(a.tokens, b.tokens)
        np.testing.assert_array_equal(a.value, b.value)
        assert b.tokens.sharding.is_fully_replicated
        assert {k: float(v) for k, v in ha.items()} == {k: float(v) for k, v in hb.items()}
    np.testing.assert_allclose(w1, w8, rtol=1e-5, atol=1e-6)
    assert float(ref[-1][1]["tokens"]) == float(jnp.sum(lengths))
    print("OK")
    """
)


def test_sharded_over_eight_devices_matches_one_device():
    run_on_eight_cpu_devices(_SHARDED)


# -- issue 18: batched states, a resumed unit, 64-bit counts ---------------------------------------


def test_hyperparams_and_learning_rate_of_a_vmapped_token_clock_are_batched():
    """A sweep's state (a batch axis before the words) reads as a batch of counts and rates,
    as under jax.vmap (the batch axis was read as the words: four garbage counts)."""
    tx = js.scale_by_schedule(js.linear(0.0, 1.0, 100), "tokens", unit=2)
    counts = jnp.asarray([[10, 20], [20, 40], [30, 61]], jnp.int32)  # 3 updates of 2 runs

    def run(per_update):
        state = tx.init(jnp.zeros(1))
        for n in per_update:
            _, state = tx.update(jnp.ones(1), state, tokens=n)
        return state

    states = jax.jit(jax.vmap(run, in_axes=1))(counts)
    hyper = js.hyperparams(states)
    np.testing.assert_array_equal(hyper["tokens"], [60, 121])
    np.testing.assert_array_equal(hyper["tokens"], jax.vmap(js.hyperparams)(states)["tokens"])
    np.testing.assert_allclose(js.learning_rate(states), [0.30, 0.60], rtol=1e-6)  # 30, 60 units
    assert hyper["learning_rate"].shape == (2,)


def test_a_state_keeps_its_unit_and_another_unit_is_refused():
    """Saved with unit=1000, updated with unit=1: 5 units of 1000 were read as 5 tokens past a
    unit of 1 (6,000 tokens as 1,005,000). Refused eagerly; inside jit the rate is NaN."""
    s = js.linear(0.0, 1.0, 10_000)
    old = js.scale_by_schedule(s, "tokens", unit=1000)
    state = old.init(jnp.zeros(1))
    for _ in range(5):
        _, state = old.update(jnp.ones(1), state, tokens=1000)
    new = js.scale_by_schedule(s, "tokens", unit=1)
    with pytest.raises(ValueError, match=r"unit=1\) got a state that counts in units of 1000"):
        new.update(jnp.ones(1), state, tokens=1000)
    updates, after = jax.jit(lambda st: new.update(jnp.ones(1), st, tokens=1000))(state)
    assert np.isnan(float(updates[0])) and np.isnan(float(js.learning_rate(after)))
    assert _clocks.exact_count(after.tokens) == 5000  # not advanced in the wrong unit
    _, state = old.update(jnp.ones(1), state, tokens=1000)  # its own unit: on it goes
    assert _clocks.exact_count(state.tokens) == 6000


def test_x64_counts_past_2_pow_63_hold_the_largest_step_instead_of_wrapping():
    """2**63 units was read as the int64 step -2**63 (and its count as -9.2e18)."""
    with jax.enable_x64(True):
        tx = js.scale_by_schedule(js.linear(0.0, 1.0, 100), "tokens")
        _, state = tx.update(jnp.ones(1), tx.init(jnp.zeros(1)), tokens=2**63)
        hyper = js.hyperparams(state)
        assert int(hyper["tokens"]) == 2**63 - 1 and float(js.learning_rate(state)) == 1.0
        big = js.scale_by_schedule(js.constant(1.0), "samples", unit=2**31 - 1)
        _, state = big.update(jnp.ones(1), big.init(jnp.zeros(1)), samples=2**64 - 1)
        assert int(js.hyperparams(state)["samples"]) == 2**63 - 1  # 2**64 - 1 samples, capped
        assert _clocks.exact_count(state.samples) == 2**64 - 1  # the state itself is exact
        assert int(_clocks.schedule_step(state.samples)) == (2**64 - 1) // (2**31 - 1)


def test_sixty_four_bit_numpy_counts_without_x64():
    """Documented (scale_by_schedule's Returns): without x64, JAX turns a 64-bit NumPy integer
    passed to a jitted function into an int32 before the clock sees it (2**32 + 7 becomes 7);
    eagerly it is split exactly, and under jit a uint32 count is exact to 2**32 - 1."""
    tx = js.scale_by_schedule(js.constant(1.0), "tokens")
    state = tx.init(jnp.zeros(1))
    _, eager = tx.update(jnp.ones(1), state, tokens=np.int64(2**32 + 7))
    assert _clocks.exact_count(eager.tokens) == 2**32 + 7
    update = jax.jit(tx.update)
    _, jitted = update(jnp.ones(1), state, tokens=np.uint32(2**32 - 1))
    assert _clocks.exact_count(jitted.tokens) == 2**32 - 1
    _, wrapped = update(jnp.ones(1), state, tokens=np.int64(2**32 + 7))  # the pinned limitation
    assert _clocks.exact_count(wrapped.tokens) == 7
    assert "64-bit NumPy integer" in js.scale_by_schedule.__doc__
