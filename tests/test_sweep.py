"""`js.stack` and sweeps in one compile: a run function jitted once takes each schedule as an
argument (b), or the stacked schedules under `jax.vmap` (c); both give the runs' final losses.

Constructors are called with positional arguments (their keyword names are being renamed).
"""

import contextlib
import io
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js

ROOT = Path(__file__).resolve().parents[1]


def _warmup_cosine(peak, warm, steps=60):
    return js.warmup(js.cosine_annealing(peak, steps - warm), warm)


# -- stack ----------------------------------------------------------------------------------------


def test_stack_gives_each_schedule_under_vmap():
    runs = [_warmup_cosine(p, w) for p, w in [(0.1, 5), (0.3, 10), (0.05, 20)]]
    stacked = js.stack(runs)
    leaves = jax.tree_util.tree_leaves(stacked)
    assert all(leaf.shape[0] == 3 for leaf in leaves)
    assert {leaf.dtype for leaf in leaves} <= {jnp.dtype(jnp.float32), jnp.dtype(jnp.int32)}
    steps = jnp.arange(60, dtype=jnp.int32)
    batched = np.asarray(jax.jit(jax.vmap(lambda s: s(steps)))(stacked))
    traced = jax.jit(lambda s: s(steps))  # each schedule as an argument: traced leaves, as vmap
    for row, s in zip(batched, runs):
        np.testing.assert_array_equal(row, np.asarray(traced(s)))
        # The closed-over schedule (constants, some worked out in float64 on the host): a few
        # float32 roundings of the peak apart.
        np.testing.assert_allclose(row, np.asarray(s(steps)), rtol=1e-6, atol=3e-7 * row.max())


def test_stack_promotes_leaves_to_their_common_dtype():
    stacked = js.stack([js.constant(1), js.constant(0.5)])  # an int and a float
    assert stacked.value.dtype == jnp.float32
    values = jax.jit(jax.vmap(lambda s: s(3)))(stacked)
    np.testing.assert_array_equal(np.asarray(values), [1.0, 0.5])


def test_stack_of_traced_schedules():
    @jax.jit
    def f(peaks):
        stacked = js.stack([js.cosine_annealing(peaks[0], 10), js.cosine_annealing(peaks[1], 10)])
        return jax.vmap(lambda s: s(5))(stacked)

    np.testing.assert_allclose(np.asarray(f(jnp.array([0.2, 0.4]))), [0.1, 0.2], rtol=1e-6)


@pytest.mark.parametrize("a, b, where", [
    (js.cosine_annealing(0.1, 10), js.linear(0.0, 1.0, 10), "the top: cosine_annealing vs linear"),
    (js.warmup(js.cosine_annealing(0.1, 10), 5), js.warmup(js.linear(0.1, 0.0, 10), 5),
     ".schedule: cosine_annealing vs linear"),
    (js.cyclic(0.1, 1.0, 5), js.cyclic(0.1, 1.0, 5, mode="triangular2"),
     ".mode: 'triangular' vs 'triangular2'"),
    (js.exponential_decay(0.1, 0.9, 3), js.exponential_decay(0.1, 0.9, 3, end_value=0.01),
     ".end_value: None vs float"),
    (js.join([js.constant(1.0)] * 2, [5]), js.join([js.constant(1.0)] * 3, [5, 6]),
     ".schedules: 2 vs 3 entries"),
    (js.piecewise_constant([1, 2], [1.0, 2.0, 3.0]), js.piecewise_constant([1], [1.0, 2.0]),
     ".boundaries: shape (2,) vs (1,)"),
])
def test_stack_names_the_first_difference(a, b, where):
    with pytest.raises(ValueError, match=r"schedules\[2\] differs from schedules\[0\] at "
                       + re.escape(where)):
        js.stack([a, a, b])


@pytest.mark.parametrize("bad, message", [
    ([], "non-empty list"),
    (js.constant(1.0), "non-empty list"),
    ([js.constant(1.0), 0.5], r"schedules\[1\] must be a Schedule, got float"),
])
def test_stack_refuses_what_is_not_a_list_of_schedules(bad, message):
    with pytest.raises(ValueError, match=message):
        js.stack(bad)


def test_stacked_horizon_is_a_step_from_which_no_run_changes():
    """stack([shift(plan, 0), shift(plan, 80)]).horizon was 20 (the largest shift subtracted),
    though run 0 changes until 100; a staircase took its largest `every` (10 for runs ending at
    10 and 12). Now: one int, at least every run's horizon, every run constant from it."""
    plan = js.cosine_annealing(1.0, 100)
    cases = [
        ([js.shift(plan, 0), js.shift(plan, 80)], 100),
        ([js.shift(plan, 0), js.shift(plan, 2**31 - 1)], 100),
        ([js.staircase(js.linear(1.0, 0.0, 10), e) for e in (4, 10)], 12),
        # Runs ending at 80 and 95: each length at its largest, 90 + 30 (documented).
        ([js.warmup(js.cosine_annealing(1.0, n), w) for n, w in [(50, 30), (90, 5)]], 120),
    ]
    for runs, want in cases:
        horizon = js.stack(runs).horizon
        assert type(horizon) is int and horizon == want >= max(s.horizon for s in runs)
        steps = jnp.arange(horizon, horizon + 50)
        for s in runs:
            values = np.asarray(s(steps))
            np.testing.assert_array_equal(values, values[0])


# -- a sweep in one compile -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_problem():
    """The benchmark's run function (MLP, SGD with momentum, one scan) on a tiny problem."""
    from benchmarks.bench_sweep import make_run

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(64, 8)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 3, 64), jnp.int32)
    params = [{"w": jnp.asarray(rng.normal(size=shape) / np.sqrt(shape[0]), jnp.float32),
               "b": jnp.zeros(shape[1], jnp.float32)} for shape in [(8, 16), (16, 3)]]
    idx = jnp.asarray(rng.integers(0, 64, (40, 8)), jnp.int32)
    schedules = [_warmup_cosine(p, w, 40) for p, w in [(0.05, 4), (0.2, 8), (0.5, 16)]]
    return make_run(40), schedules, (params, x, y, idx)


def test_one_jitted_run_compiles_once_and_matches_the_sequential_runs(tiny_problem):
    run, schedules, args = tiny_problem
    # The sequential runs: each schedule closed over by its own jitted run, as with optax.
    sequential = np.array([float(jax.jit(lambda *a, s=s: run(s, *a))(*args)) for s in schedules])
    one_jit = jax.jit(run)
    swept = np.array([float(one_jit(s, *args)) for s in schedules])
    assert one_jit._cache_size() == 1
    assert len(set(sequential)) == 3  # three different runs
    np.testing.assert_allclose(swept, sequential, rtol=1e-6)  # float32 round-off


def test_stacked_runs_under_vmap_match_the_sequential_runs(tiny_problem):
    run, schedules, args = tiny_problem
    one_jit = jax.jit(run)
    swept = np.array([float(one_jit(s, *args)) for s in schedules])
    batched = jax.jit(jax.vmap(run, in_axes=(0, None, None, None, None)))
    np.testing.assert_allclose(np.asarray(batched(js.stack(schedules), *args)), swept, rtol=1e-6)


def test_the_docs_sweep_example_runs_and_compiles_once():
    """docs/sweeps.md, "A sweep in one compile": run as a user runs it (standard promotion)."""
    page = (ROOT / "docs" / "sweeps.md").read_text()
    section = page.split("<!-- sweep-example -->", 1)[1].split("<!-- /sweep-example -->", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), jax.numpy_dtype_promotion("standard"):
        exec(compile(code, "docs/sweeps.md", "exec"), namespace := {})
    lines = out.getvalue().splitlines()
    assert lines.count("tracing run") == 2 and lines[-1] == "True", lines
    losses = namespace["losses"]
    assert len(set(losses)) == 4 and all(v < 0.5 * float(namespace["loss"](jnp.zeros(8)))
                                         for v in losses)  # four different runs that trained
