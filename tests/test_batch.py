"""Batch-size ramps (`js.batch_ramp`): the upstream rows against tests/golden/batch.json, the plan
as a plain value, exactness past 2**31, bad input, and the docs page's training loop (run here:
it asserts a bit-exact resume)."""

from __future__ import annotations

import functools
import json
import pickle
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js

ROOT = Path(__file__).resolve().parents[1]
CASES = json.loads((ROOT / "tests" / "golden" / "batch.json").read_text())


def _plan(case):
    args = dict(case["args"])
    if case["upstream"] in ("megatron_rampup", "maxtext_rampup"):
        build = getattr(js.BatchRamp, case["upstream"])
        return build(args.pop("start"), args.pop("increment"), args.pop("rampup_samples"),
                     args.pop("global_batch_size"), **args)
    if case["upstream"] == "megatron_schedule":
        return js.BatchRamp.megatron_schedule(args.pop("schedule"), **args)
    return js.BatchRamp.olmo_core(args.pop("batch_sizes"), args.pop("schedule"), **args)


def _columns(case):
    """The steps, batch sizes and samples seen before each step (OLMo-core counts tokens)."""
    rows = np.asarray(case["rows"], dtype=object)
    per = case["args"].get("sequence_length", 1) if case["upstream"] == "olmo_core" else 1
    return (np.asarray(rows[:, 0], np.int32), np.asarray(rows[:, 1], np.int64) // per,
            [int(x) // per for x in rows[:, 2]], np.asarray(rows[:, 3], np.float64))


@functools.cache
def _evaluated():
    """Every case's plan at its steps, in two compiled calls for the whole file (one without
    x64: sizes, micro-batches, rate factors, float32 counts; one with: int64 counts and the
    inverse), rather than two per case."""
    plans = [_plan(c) for c in CASES]
    scales = [p.lr_scale("sqrt") for p in plans]
    steps = [_columns(c)[0] for c in CASES]
    narrow = jax.jit(lambda ts: [(p.batch_size(t), p.micro_batches(t), s(t), p.samples(t))
                                 for p, s, t in zip(plans, scales, ts)])(steps)
    with jax.enable_x64(True):
        seen = [jnp.asarray(_columns(c)[2], jnp.int64) for c in CASES]
        wide = jax.jit(lambda ts, ns: [(p.samples(t), p.step_at(samples=n))
                                       for p, t, n in zip(plans, ts, ns)])(
            [jnp.asarray(t, jnp.int64) for t in steps], seen)
        wide = jax.tree.map(np.asarray, wide)
    return {c["id"]: (plan, *n, *w) for c, plan, n, w in zip(CASES, plans, narrow, wide)}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_the_upstream_rows(case):
    steps, size, seen, last = _columns(case)
    plan, sizes, micro, lr, counted, counted64, back = _evaluated()[case["id"]]
    np.testing.assert_array_equal(np.asarray(sizes), size)
    if case["upstream"] != "olmo_core":
        np.testing.assert_array_equal(np.asarray(micro), last)
    else:  # OLMo-core multiplies its base rate by sqrt(new / old) at each change
        np.testing.assert_allclose(np.asarray(lr), last, rtol=1e-6)
    # float32 without x64 (from exact two-word counts): within one rounding of the count
    np.testing.assert_allclose(np.asarray(counted), np.asarray(seen, np.float64), rtol=1.2e-7)
    np.testing.assert_array_equal(counted64, np.asarray(seen, np.int64))  # exact with x64
    np.testing.assert_array_equal(back, steps)  # and back
    assert [plan._step_at_int(n) for n in seen] == steps.tolist()
    assert [plan.offset(int(k)) for k in steps] == seen  # exact Python ints, on the host


@pytest.mark.parametrize("case", [c for c in CASES if "train_iters" in c],
                         ids=[c["id"] for c in CASES if "train_iters" in c])
def test_megatron_train_iters(case):
    """``update_train_iters``: the steps a sample budget buys."""
    plan = _plan(case)
    for total, iters in case["train_iters"]:
        if case["upstream"] == "megatron_schedule":  # steps until the budget is consumed
            budget = js.from_config({**js.to_config(plan), "total": total})
            assert budget.num_steps == iters
        else:  # the ramp's steps starting within min(R, total), then whole batches
            ramp = case["args"]["rampup_samples"]
            k = plan._step_at_int(min(ramp, total)) + 1
            k += max(0, total - plan.offset(k)) // case["args"]["global_batch_size"]
            assert k == iters


def test_a_plain_value():
    plan = js.batch_ramp([16, 32, 64], [96, 256], micro_batch=16, total=1000)
    again = js.from_config(json.loads(json.dumps(js.to_config(plan))))
    assert again == plan and hash(again) == hash(plan) and again is not plan
    assert pickle.loads(pickle.dumps(plan)) == plan
    assert plan != js.batch_ramp([16, 32, 64], [96, 256], micro_batch=16)
    assert js.to_config(plan) == plan.to_config()
    direct = js.BatchRamp(np.array([16, 32, 64]), [96.0, 256], micro_batch=16, total=1000)
    assert direct == plan and hash(direct) == hash(plan) and direct.sizes == (16, 32, 64)
    k = plan.num_steps  # the first step by which the 1000 samples are consumed
    assert int(plan.samples(k)) >= 1000 > int(plan.samples(k - 1)) and plan.max_micro_batches == 4


def test_counts_past_2_to_the_32_are_exact():
    plan = js.BatchRamp.megatron_schedule("0:768 250B:1536 500B:3072", seq_length=4096)
    step = 10**6
    first, seen, size = plan.stages[-1]
    exact = (seen + (step - first) * size) * 4096
    assert exact > 2**40 and plan.offset(step, "tokens") == exact
    with jax.enable_x64(True):
        assert int(plan.tokens(step)) == exact
        assert int(plan.step_at(tokens=jnp.asarray(exact, jnp.int64))) == step
    assert int(plan.step_at(tokens=exact)) == step
    assert int(plan.step_at(tokens=exact - 1)) == step - 1
    np.testing.assert_allclose(float(plan.tokens(step)), exact, rtol=1e-7)  # two words -> f32


def test_a_zero_ramp_and_the_coupling_on_the_token_clock():
    assert js.BatchRamp.megatron_rampup(4, 4, 0, 16).stages == ((0, 0, 4), (0, 0, 8), (0, 0, 12),
                                                                (0, 0, 16))
    plan = js.batch_ramp([16, 32], [100], tokens_per_sample=8)
    tokens = [int(plan.tokens(k)) for k in range(12)]
    scale = plan.lr_scale("linear", clock="tokens", unit=64)
    assert [float(scale(n // 64)) for n in tokens] == [float(b) / 16 for b in
                                                       (plan.batch_size(k) for k in range(12))]
    with pytest.raises(ValueError, match="unit=256 is too coarse"):
        plan.lr_scale("sqrt", clock="tokens", unit=256)


@pytest.mark.parametrize("build, name", [
    (lambda: js.batch_ramp([32, 16], [10]), "sizes"),
    (lambda: js.batch_ramp([16, 16], [10]), "sizes"),
    (lambda: js.BatchRamp([32, 16], [10]), "sizes"),
    (lambda: js.batch_ramp([16, 32, 64], [100, 50]), "boundaries"),
    (lambda: js.batch_ramp([16, 32], []), "boundaries"),
    (lambda: js.batch_ramp([16, 24], [10], micro_batch=16), "micro_batch"),
    (lambda: js.batch_ramp([16, 24], [10], align=True), "align"),
    (lambda: js.batch_ramp([16, 32], [10], clock="epochs"), "clock"),
    (lambda: js.batch_ramp([16, 32], [20], total=1000).step_at(samples=1001), "samples"),
    (lambda: js.batch_ramp([16, 32], [20], total=1000).step_at(tokens=np.int32(1001)), "tokens"),
    (lambda: js.BatchRamp.megatron_rampup(16, 20, 100, 64), "increment"),
    (lambda: js.BatchRamp.megatron_schedule("10:16 20:32"), "schedule"),
    (lambda: js.BatchRamp.megatron_schedule("0:16 20"), "schedule"),
    (lambda: js.BatchRamp.olmo_core([1000, 2000], [0, 10], sequence_length=64), "batch_sizes"),
])
def test_bad_input_names_the_argument(build, name):
    with pytest.raises(ValueError) as info:
        build()
    message = str(info.value)
    assert "\n" not in message and re.search(rf"\b{name}\b", message), message


# -- docs/batch_ramps.md: every snippet runs (the training loop asserts its bit-exact resume) -----

PAGE = (ROOT / "docs" / "batch_ramps.md").read_text()


def test_the_docs_page_runs():
    """Its blocks in order, in one namespace, as a reader runs them."""
    namespace: dict = {}
    # As users run it: optax's bias correction inside MultiSteps raises under the suite's strict
    # promotion (Python float ** int32 count), which is not the page's concern.
    with jax.numpy_dtype_promotion("standard"):
        for index, block in enumerate(re.findall(r"```python\n(.*?)```", PAGE, re.S)):
            exec(compile(block, f"docs/batch_ramps.md[{index}]", "exec"), namespace)
    assert namespace["steps"] == 66 and namespace["log"][-1][1] == 64
