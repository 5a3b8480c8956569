"""js.learning_rate and js.hyperparams, checked against the rate each update actually applied.

Every optimizer below is plain SGD underneath (no momentum), so an update is ``-rate * gradient``
and the rate it applied is ``-update / gradient``: `learning_rate`, read from the state *before*
the update, must equal it. One jitted step per layout returns both, with `hyperparams` of the
state after the update (as a train step returns them with the loss).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched as js
from tests.helpers import _cos

SCHEDULE = js.warmup(js.cosine_annealing(0.1, 20), 4)  # positional: safe across the renames
STEPS = 12
PARAMS = {"a": jnp.ones(2), "b": jnp.ones(3), "frozen": jnp.ones(2)}
GRAD = {"a": jnp.array([1.0, -2.0]), "b": jnp.array([0.5, 1.0, 3.0]),
        "frozen": jnp.array([1.0, 1.0])}
# With patience 0, every value that is not a new best halves the plateau's scale: 8 of them.
VALUES = [1.0, 2.0, 3.0, 0.5, 0.6, 0.7, 0.2, 0.3, 0.4, 0.5, 0.1, 0.2]


def _run(opt, schedule=None, values=None):
    """Per update: learning_rate before it, the rate it applied per group, hyperparams after."""

    @jax.jit
    def step(state, value):
        predicted = js.learning_rate(state, schedule)
        kwargs = {} if values is None else {"value": value}
        updates, state = opt.update(GRAD, state, PARAMS, **kwargs)
        applied = {k: -updates[k] / GRAD[k] for k in updates}
        return state, predicted, applied, js.hyperparams(state)

    state = opt.init(PARAMS)
    rows = []
    for k in range(STEPS):
        state, predicted, applied, hyper = step(state, jnp.float32(VALUES[k]))
        rows.append((predicted, applied, hyper))
    return state, rows


def _rate(applied):
    """The one rate applied to every coordinate of every parameter."""
    values = np.concatenate([np.asarray(v) for v in applied.values()])
    np.testing.assert_allclose(values, values[0], rtol=1e-6)
    return float(values[0])


def _s(k):
    """The schedule at step k, eagerly: a few ulps from a jitted value at most."""
    return pytest.approx(float(SCHEDULE(k)), rel=1e-6)


def test_plain_schedule():
    """optax.sgd(schedule): nothing is injected, the schedule and the state's count answer."""
    _, rows = _run(optax.sgd(SCHEDULE), SCHEDULE)
    for k, (predicted, applied, hyper) in enumerate(rows):
        assert _rate(applied) == pytest.approx(float(predicted), rel=1e-6)
        assert float(predicted) == _s(k)
        assert hyper == {}
    with pytest.raises(ValueError, match="holds no learning rate"):
        js.learning_rate(optax.sgd(SCHEDULE).init(PARAMS))


def test_inject_hyperparams_and_its_off_by_one():
    opt = optax.inject_hyperparams(optax.sgd)(learning_rate=SCHEDULE)
    state, rows = _run(opt, SCHEDULE)
    for k, (predicted, applied, hyper) in enumerate(rows):
        assert _rate(applied) == pytest.approx(float(predicted), rel=1e-6)
        assert float(predicted) == _s(k)
        # optax keeps the rate of the update just made, schedule(count - 1):
        assert float(hyper["learning_rate"]) == _s(k)
        assert set(hyper) == {"learning_rate"}  # momentum=None is not injected
    # Without the schedule, the held value: the last update's rate, not the next one.
    assert float(js.learning_rate(state)) == _s(STEPS - 1) != float(SCHEDULE(STEPS))
    assert float(js.learning_rate(state, SCHEDULE)) == _s(STEPS)


@pytest.mark.filterwarnings("ignore:inject_stateful_hyperparams is deprecated")
def test_inject_stateful_hyperparams():
    """Deprecated in optax 0.2.8 (inject_hyperparams now makes the stateful state), still read."""
    opt = optax.inject_stateful_hyperparams(optax.sgd)(learning_rate=SCHEDULE)
    _, rows = _run(opt, SCHEDULE)
    for k, (predicted, applied, hyper) in enumerate(rows):
        assert _rate(applied) == pytest.approx(float(predicted), rel=1e-6)
        assert float(predicted) == _s(k)
        assert float(hyper["learning_rate"]) == _s(k)


def test_chain_with_reduce_on_plateau():
    """The rate is schedule × scale; the scale the next update applies may drop in that update
    (it sees that update's value), which is the only difference from the prediction."""
    opt = optax.chain(optax.sgd(SCHEDULE), js.reduce_on_plateau(factor=0.5, patience=0))
    _, rows = _run(opt, SCHEDULE, values=VALUES)
    scale_before, drops = 1.0, 0
    for k, (predicted, applied, hyper) in enumerate(rows):
        scale_after = float(hyper["plateau_scale"])
        assert set(hyper) == {"plateau_scale"}
        np.testing.assert_allclose(_rate(applied), float(predicted) * scale_after / scale_before,
                                   rtol=1e-6)
        np.testing.assert_allclose(float(predicted), float(SCHEDULE(k)) * scale_before,
                                   rtol=1e-6)
        if scale_after == scale_before:
            assert _rate(applied) == pytest.approx(float(predicted), rel=1e-6)
        drops += scale_after < scale_before
        scale_before = scale_after
    assert drops == 8


LABELS = {"a": "a", "b": "b", "frozen": "frozen"}


def _groups():
    """Two groups at their own rates and a frozen one. Group b's rate is read from its clock."""
    return optax.multi_transform(
        {"a": optax.sgd(SCHEDULE), "b": js.scale_by_schedule(0.5 * SCHEDULE),
         "frozen": optax.set_to_zero()}, LABELS)


def test_multi_transform_with_a_frozen_group():
    _, rows = _run(_groups(), {"a": SCHEDULE})
    for k, (predicted, applied, hyper) in enumerate(rows):
        assert set(predicted) == {"a", "b", "frozen"}
        for group in ("a", "b", "frozen"):
            np.testing.assert_allclose(applied[group], float(predicted[group]), rtol=1e-6)
        assert float(predicted["a"]) == _s(k)
        assert float(predicted["b"]) == pytest.approx(0.5 * float(SCHEDULE(k)), rel=1e-6)
        assert float(predicted["frozen"]) == 0.0
        assert set(hyper) == {"b/steps", "b/learning_rate"}
        assert float(hyper["b/steps"]) == k + 1
        assert float(hyper["b/learning_rate"]) == pytest.approx(0.5 * float(SCHEDULE(k + 1)),
                                                                rel=1e-6)
    # Without a schedule for group a, nothing in its state holds its rate.
    with pytest.raises(ValueError, match="for the group 'a'"):
        js.learning_rate(_groups().init(PARAMS))
    with pytest.raises(ValueError, match="does not have"):
        js.learning_rate(_groups().init(PARAMS), {"c": SCHEDULE})


def test_multi_steps():
    """optax.MultiSteps applies the inner rate every k-th call (the mean of k gradients, here
    all equal); learning_rate answers for that next applied update throughout the window."""
    k_steps = 3
    opt = optax.MultiSteps(optax.sgd(SCHEDULE), every_k_schedule=k_steps)
    with jax.numpy_dtype_promotion("standard"):  # optax's code is not written for strict mode
        _, rows = _run(opt, SCHEDULE)
    for k, (predicted, applied, _) in enumerate(rows):
        assert float(predicted) == _s(k // k_steps)
        if k % k_steps == k_steps - 1:
            assert _rate(applied) == pytest.approx(float(predicted), rel=1e-6)
        else:
            assert _rate(applied) == 0.0


def test_hyperparams_finds_everything_by_path():
    opt = optax.chain(
        optax.multi_transform(
            {"encoder": optax.inject_hyperparams(optax.adamw)(learning_rate=1e-3,
                                                               weight_decay=0.1),
             "head": optax.chain(optax.scale_by_adam(),
                                 js.scale_by_schedule(SCHEDULE, clock="tokens", unit=10),
                                 js.reduce_on_plateau()),
             "frozen": optax.set_to_zero()},
            {"a": "encoder", "b": "head", "frozen": "frozen"}),
        js.reduce_on_plateau())
    state = opt.init(PARAMS)
    hyper = js.hyperparams(state)
    assert list(hyper) == ["encoder/learning_rate", "encoder/b1", "encoder/b2", "encoder/eps",
                           "encoder/eps_root", "encoder/weight_decay", "head/tokens",
                           "head/learning_rate", "head/plateau_scale", "plateau_scale"]
    assert float(hyper["encoder/weight_decay"]) == pytest.approx(0.1)
    rates = js.learning_rate(state)
    assert float(rates["encoder"]) == pytest.approx(1e-3) and float(rates["frozen"]) == 0.0


def test_a_name_found_twice_is_numbered_and_optax_plateaus_count():
    opt = optax.chain(optax.sgd(SCHEDULE), js.reduce_on_plateau(),
                      optax.contrib.reduce_on_plateau(factor=0.5, patience=0))
    state = opt.init(PARAMS)
    with jax.numpy_dtype_promotion("standard"):  # optax's code is not written for strict mode
        for value in [1.0, 2.0]:  # optax's plateau halves its scale at the second value
            _, state = opt.update(GRAD, state, PARAMS, value=value)
    hyper = js.hyperparams(state)
    assert list(hyper) == ["plateau_scale", "plateau_scale#2"]
    assert float(hyper["plateau_scale#2"]) == 0.5
    assert float(js.learning_rate(state, SCHEDULE)) == pytest.approx(0.5 * float(SCHEDULE(2)))


def test_flax_nnx_optimizer_and_its_state():
    """The same answers from the optimizer, its opt_state and nnx.state(optimizer) (where the
    NamedTuples have become dicts), inside nnx.jit too."""
    nnx = pytest.importorskip("flax.nnx")
    model = nnx.Linear(3, 2, rngs=nnx.Rngs(0))
    tx = optax.chain(optax.inject_hyperparams(optax.sgd)(learning_rate=SCHEDULE),
                     js.scale_by_schedule(js.constant(2.0), clock="samples"),
                     js.reduce_on_plateau(factor=0.5, patience=0))
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    x = jnp.ones((4, 3))

    @nnx.jit
    def train_step(model, optimizer, value):
        grads = nnx.grad(lambda m: jnp.mean(m(x) ** 2))(model)
        optimizer.update(model, grads, value=value, samples=4)
        return js.hyperparams(optimizer), js.learning_rate(optimizer, SCHEDULE)

    for value in [1.0, 2.0, 3.0]:
        hyper, rate = train_step(model, optimizer, value)
    expected = {"learning_rate": float(SCHEDULE(2)), "samples": 12.0, "learning_rate#2": 2.0,
                "plateau_scale": 0.25}
    for form in (optimizer, optimizer.opt_state, nnx.state(optimizer), hyper):
        got = form if form is hyper else js.hyperparams(form)
        assert {k: float(v) for k, v in got.items()} == pytest.approx(expected)
    # Every rate on the path times the scale: the injected one (the held value without the
    # schedule, the next one with it) times the clock's 2.0 times 0.25.
    np.testing.assert_allclose(rate, float(SCHEDULE(3)) * 2.0 * 0.25, rtol=1e-6)
    for form in (optimizer, nnx.state(optimizer)):
        np.testing.assert_allclose(js.learning_rate(form), float(SCHEDULE(2)) * 0.5, rtol=1e-6)
        np.testing.assert_allclose(js.learning_rate(form, SCHEDULE), rate, rtol=1e-6)


# -- issue 18: rates on one path multiply; a stateless group is not a frozen one -----------------


def test_every_rate_on_the_path_multiplies():
    """chain(sgd(s1), scale_by_schedule(s2)) applies s1 x s2 (s2 alone was reported), also with
    the clock above a multi_transform group; two schedule-driven rates for one schedule raise.
    (Each of these rates flips the sign, so two of them ascend: the sign is not tracked.)"""
    s2 = js.linear(1.0, 0.0, 20)
    opt = optax.chain(optax.sgd(SCHEDULE), js.scale_by_schedule(s2))
    _, rows = _run(opt, SCHEDULE)
    for k, (predicted, applied, _) in enumerate(rows):
        assert -_rate(applied) == pytest.approx(float(predicted), rel=1e-6)
        assert float(predicted) == pytest.approx(float(SCHEDULE(k)) * float(s2(k)), rel=1e-6)
    with pytest.raises(ValueError, match="rate set by a schedule"):  # s1 is not in the state
        js.learning_rate(opt.init(PARAMS))
    outer = optax.chain(_groups(), js.scale_by_schedule(s2))
    _, rows = _run(outer, {"a": SCHEDULE})
    for k, (predicted, applied, _) in enumerate(rows):
        for group in ("a", "b", "frozen"):
            np.testing.assert_allclose(-applied[group], float(predicted[group]), rtol=1e-6)
        assert float(predicted["b"]) == pytest.approx(0.5 * float(SCHEDULE(k) * s2(k)), rel=1e-6)
    two = optax.chain(optax.sgd(SCHEDULE), optax.scale_by_schedule(s2))
    with pytest.raises(ValueError, match="one schedule cannot stand for them all"):
        js.learning_rate(two.init(PARAMS), SCHEDULE)


def test_a_stateless_group_is_not_read_as_frozen():
    """A group trained by optax.sgd(0.1) has a state of EmptyStates, like a frozen group: it
    read as rate 0. Only a group whose whole state is one EmptyState (set_to_zero) is frozen;
    the rate of the other is not in the state, which raises."""
    opt = optax.multi_transform({"a": optax.sgd(0.1), "b": js.scale_by_schedule(SCHEDULE),
                                 "frozen": optax.set_to_zero()}, LABELS)
    state = opt.init(PARAMS)
    with pytest.raises(ValueError, match="for the group 'a'.*neither a rate nor a count"):
        js.learning_rate(state)
    injected = optax.multi_transform(
        {"a": optax.inject_hyperparams(optax.sgd)(learning_rate=0.1),
         "b": js.scale_by_schedule(SCHEDULE), "frozen": optax.set_to_zero()}, LABELS)
    rates = js.learning_rate(injected.init(PARAMS))
    assert {g: float(r) for g, r in rates.items()} == pytest.approx(
        {"a": 0.1, "b": float(SCHEDULE(0)), "frozen": 0.0})


def test_nnx_state_leaves_out_a_frozen_group():
    """Documented: nnx.state drops empty states, so a frozen group is absent there."""
    nnx = pytest.importorskip("flax.nnx")
    model = nnx.Linear(3, 2, rngs=nnx.Rngs(0))
    labels = lambda p: jax.tree_util.tree_map_with_path(  # noqa: E731
        lambda k, _: "frozen" if "bias" in jax.tree_util.keystr(k) else "train", p)
    tx = optax.multi_transform({"train": js.scale_by_schedule(js.constant(0.1)),
                                "frozen": optax.set_to_zero()}, labels)
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    full = {g: float(r) for g, r in js.learning_rate(optimizer).items()}
    assert full == pytest.approx({"frozen": 0.0, "train": 0.1})
    assert {g: float(r) for g, r in js.learning_rate(nnx.state(optimizer)).items()} == (
        pytest.approx({"train": 0.1}))
    assert "drops empty states" in js.learning_rate.__doc__
    assert "except that `nnx.state`" in DOC


# -- batched states: the five layouts of docs/hyperparams.md, vmapped ------------------------------

RUN_UPDATES = jnp.asarray([2, 5, 11])  # updates per run of a sweep of three
K_STEPS = 3


def _layouts():
    """The docs table's five layouts (value=... only where a plateau watches it)."""
    return {
        "sgd": (optax.sgd(SCHEDULE), False),
        "inject": (optax.inject_hyperparams(optax.sgd)(learning_rate=SCHEDULE), False),
        "plateau": (optax.chain(optax.sgd(SCHEDULE), js.reduce_on_plateau(0.5, patience=0)),
                    True),
        "groups": (_groups(), False),
        "multisteps": (optax.MultiSteps(optax.sgd(SCHEDULE), every_k_schedule=K_STEPS), False),
    }


@pytest.fixture(scope="module")
def batched_states():
    """Each layout's state after 2, 5 and 11 updates: one jitted, vmapped run per layout."""
    out = {}
    with jax.numpy_dtype_promotion("standard"):  # optax's MultiSteps is not written for strict
        for name, (opt, watches) in _layouts().items():
            def run(n, opt=opt, watches=watches):
                def body(k, state):
                    kwargs = {"value": jnp.asarray(VALUES, jnp.float32)[k]} if watches else {}
                    return opt.update(GRAD, state, PARAMS, **kwargs)[1]
                return jax.lax.fori_loop(0, n, body, opt.init(PARAMS))
            out[name] = jax.jit(jax.vmap(run))(RUN_UPDATES)
    return out


def _run_slices(states):
    return [jax.tree.map(lambda x, i=i: x[i], states) for i in range(len(RUN_UPDATES))]


@pytest.mark.parametrize("name", list(_layouts()))
def test_batched_state_reads_give_the_batch_of_each_run(batched_states, name):
    """hyperparams, learning_rate and plateau_scale of a vmapped sweep's state: a batch, equal
    to the reads under jax.vmap and to the reads of each run's own state (learning_rate of an
    adam/sgd state raised: only a scalar count was recognised)."""
    states = batched_states[name]
    schedule = {"a": SCHEDULE} if name == "groups" else SCHEDULE
    reads = {
        "hyperparams": js.hyperparams,
        "learning_rate": lambda st: js.learning_rate(st, schedule),
        **({"plateau_scale": js.plateau_scale} if name == "plateau" else {}),
    }
    for read in reads.values():
        direct, vmapped = read(states), jax.vmap(read)(states)
        runs = jax.tree.map(lambda *xs: np.stack(xs), *[read(st) for st in _run_slices(states)])
        for want in (vmapped, runs):  # one structure (dicts of the same keys), leaf by leaf
            jax.tree.map(lambda got, want: np.testing.assert_allclose(got, want, rtol=1e-6),
                         direct, want)
        for got, want in zip(jax.tree.leaves(direct), jax.tree.leaves(vmapped)):
            assert got.shape == (len(RUN_UPDATES),) and got.dtype == want.dtype
    # The schedule's own values, run by run (MultiSteps: the inner updates so far).
    inner = RUN_UPDATES // K_STEPS if name == "multisteps" else RUN_UPDATES
    want = np.array([float(SCHEDULE(int(n))) for n in inner])
    rate = js.learning_rate(states, schedule)
    if name == "groups":
        np.testing.assert_allclose(rate["a"], want, rtol=1e-6)
        np.testing.assert_array_equal(rate["frozen"], np.zeros(len(RUN_UPDATES)))
    elif name == "plateau":
        np.testing.assert_allclose(rate, want * np.asarray(js.plateau_scale(states)), rtol=1e-6)
    else:
        np.testing.assert_allclose(rate, want, rtol=1e-6)


# -- docs/hyperparams.md: every snippet runs -----------------------------------------------------

DOC = (Path(__file__).resolve().parents[1] / "docs" / "hyperparams.md").read_text()
SECTIONS = {title: re.findall(r"```python\n(.*?)```", body, re.S)
            for title, body in re.findall(r"^## (.+?)\n(.*?)(?=^## |\Z)", DOC, re.S | re.M)}


def _exec_section(title):
    (block,) = SECTIONS[title]
    out = io.StringIO()
    # As a user runs it: optax's own code needs standard (not strict) dtype promotion.
    with contextlib.redirect_stdout(out), jax.numpy_dtype_promotion("standard"):
        exec(compile(block, f"docs/hyperparams.md:{title}", "exec"), namespace := {})
    return namespace, out.getvalue()


def test_every_section_with_code_is_checked():
    assert [t for t, blocks in SECTIONS.items() if blocks] == list(DOC_CHECKS)


def _check_logging(ns, out):
    assert out.count("\n") == 4 and "'plateau_scale'" in out
    metrics, schedule = ns["metrics"], ns["schedule"]
    assert set(metrics) == {"loss", "lr", "plateau_scale"}
    # The logged rate is the next update's: the schedule at the count after 1000 updates, times
    # the scale after the last one.
    np.testing.assert_allclose(metrics["lr"], schedule(1000) * metrics["plateau_scale"],
                               rtol=1e-6)


def _check_inject(ns, out):
    hyper = js.hyperparams(ns["state"])
    assert set(hyper) == {"learning_rate", "b1", "b2", "eps", "eps_root", "weight_decay"}
    np.testing.assert_allclose(hyper["b2"], 0.95 + (0.999 - 0.95) * 499 / 1000, rtol=1e-6)
    np.testing.assert_allclose(hyper["weight_decay"], _cos(0.1, 0.01, 499 / 1000), rtol=1e-6)
    assert "'b2': '0.9745'" in out
    momentum = js.hyperparams(ns["sgd"].init(ns["params"]))["momentum"]
    assert float(momentum) == pytest.approx(0.95)  # 1cycle's momentum starts at its maximum


def _check_layerwise(ns, out):
    rates, s = js.learning_rate(ns["state"]), float(ns["schedule"](200))
    expected = {"head": s, "layer1": 0.8 * s, "layer0": 0.64 * s, "frozen": 0.0}
    assert {g: float(r) for g, r in rates.items()} == pytest.approx(expected, rel=1e-6)
    assert ns["labels"](ns["params"])["embed"]["w"] == "frozen"


def _check_tokens(ns, out):
    metrics, schedule = ns["metrics"], ns["schedule"]
    assert out == f"471,040 tokens, lr {float(schedule(460)):.2e}\n"
    np.testing.assert_allclose(metrics["learning_rate"], schedule(460), rtol=1e-6)
    # The text's arithmetic: the first update at the peak (50 units before it) is update 70 with
    # the ramp, update 13 with 32 sequences throughout.
    def first_at_peak(batch_size):
        before = np.cumsum([0] + [batch_size(k) * 128 for k in range(200)])
        return int(np.argmax(before >= 50 * 1024))
    assert first_at_peak(lambda k: min(32, 4 * 2 ** (k // 40))) == 70
    assert first_at_peak(lambda k: 32) == 13


def _check_groups(ns, out):
    s = float(ns["schedule"](200))
    beit, _, _ = out.splitlines()  # the BEiT rates, the rules' rates, the weight decay
    assert ns["factors"] == pytest.approx({f"layer_{i}": 0.75 ** (4 - i) for i in range(5)})
    shown = {g: float(r) for g, r in re.findall(r"'(\w+)': '([^']+)'", beit)}
    assert shown == pytest.approx({g: f * s for g, f in ns["factors"].items()}, rel=5e-3)
    rates = {g: float(r) for g, r in js.learning_rate(ns["state"]).items()}  # the rules' state
    assert rates == pytest.approx({"frozen": 0.0, "head": 10 * s, "body": s}, rel=1e-6)
    np.testing.assert_allclose(js.hyperparams(ns["state"])["body/weight_decay"],
                               _cos(0.05, 0.005, 199 / 1000), rtol=1e-6)


DOC_CHECKS = {
    "Logging the learning rate from the train step": _check_logging,
    "Weight decay, momentum and Adam's β₂ on schedules": _check_inject,
    "Layer-wise rate decay and a frozen group": _check_layerwise,
    "A batch-size ramp with a warmup in tokens": _check_tokens,
    "Per-group rates: layer-wise decay, embeddings and heads, weight-decay schedules":
        _check_groups,
}


@pytest.mark.parametrize("title", DOC_CHECKS)
def test_docs_snippet(title):
    DOC_CHECKS[title](*_exec_section(title))
