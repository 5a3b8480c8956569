"""The LR range test: suggestions on problems with a known answer, masking, the contract, errors."""

import ast
import contextlib
import gc
import io
import math
import pathlib
import re
import subprocess
import sys
import textwrap
import warnings
import weakref

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched as js
from benchmarks.finder_accuracy import (
    CONDS,
    SCALES,
    SEEDS,
    STEPS,
    D,
    least_squares,
    ls_loss,
    sgd_step,
    sweep,
)

# --- least squares: gradient descent diverges above 2 / L -----------------------------------
# The problem lives in benchmarks/finder_accuracy.py, which prints the statistics of these same
# 27 sweeps (where each rule's suggestion lands, in units of 1/L) quoted in the README.


def shifted_sgd_step(w, state, batch, lr):
    """The same descent on the loss minus 100: every loss is negative."""
    w, state, loss = sgd_step(w, state, batch, lr)
    return w, state, loss - 100


@pytest.mark.parametrize("cond", CONDS)
@pytest.mark.parametrize("scale", SCALES)
def test_least_squares_suggestion_below_the_stability_limit(cond, scale):
    for seed in SEEDS:
        result, lipschitz = sweep(cond, scale, seed)
        # The sweep went past 2 / L and saw the divergence, so the range was informative.
        assert result.diverged_at is not None
        assert result.lrs[-1] > 2 / lipschitz
        assert 1 / (100 * lipschitz) <= result.suggestion <= 2 / lipschitz, (seed, result)
        assert result.suggestion == result.suggestions["steep"] == result.suggest("steep")
        # fastai's "minimum" rule lands in the same range here; "valley" is more cautious
        # (often just below 1 / (100 L)) and is not checked.
        assert 1 / (100 * lipschitz) <= result.suggestions["minimum"] <= 2 / lipschitz


def test_negative_losses_do_not_stop_the_sweep():
    batches, lipschitz = least_squares(1e2, 1.0, 0)
    plain = js.lr_find(sgd_step, jnp.zeros(D), (), batches, min_lr=1e-5, max_lr=1e3)
    shifted = js.lr_find(shifted_sgd_step, jnp.zeros(D), (), batches, min_lr=1e-5, max_lr=1e3)
    assert np.all(shifted.losses[:50] < 0)
    # fastai's ratio test (smoothed > 4 * best) would have stopped at the second step:
    s = shifted.smoothed_losses
    assert s[1] > 4 * min(s[0], s[1])
    # ours runs through the descent and still catches the blow-up past 2 / L.
    assert shifted.diverged_at is not None and shifted.diverged_at >= plain.diverged_at
    assert shifted.lrs[-1] > 2 / lipschitz
    np.testing.assert_allclose(shifted.losses[: len(plain.losses) - 1],
                               plain.losses[: len(plain.losses) - 1] - 100, rtol=1e-5)
    assert 1 / (100 * lipschitz) <= shifted.suggestion <= 2 / lipschitz


# --- the divergence rule, masking and the recorded curve -------------------------------------


def table_step(params, opt_state, batch, lr):
    """The loss is read from the batches: any sequence of losses can be fed to the sweep."""
    return params, opt_state, batch


def reference_divergence(losses, beta, threshold, ratio_test):
    """A float64 host loop: fastai's ratio test, or our |best| form of it."""
    average, best, smoothed = 0.0, math.inf, []
    for i, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        s = average / (1 - beta ** (i + 1))
        smoothed.append(s)
        best = min(best, s)
        rising = s > threshold * best if ratio_test else s - best > (threshold - 1) * abs(best)
        if not math.isfinite(s) or rising:
            return i, np.array(smoothed)
    return None, np.array(smoothed)


def down_then_up(start, bottom, top, n=60, turn=35):
    return np.concatenate([np.linspace(start, bottom, turn), np.linspace(bottom, top, n - turn)])


@pytest.mark.parametrize("losses, ratio_test", [
    (down_then_up(3.0, 0.5, 40.0), True),  # positive: exactly fastai's test
    (down_then_up(-10.0, -20.0, 200.0), False),  # negative: the ratio test would stop at step 1
    (down_then_up(-1.0, -2.0, 1.0), False),  # negative throughout: no divergence
])
@pytest.mark.parametrize("beta, threshold", [(0.98, 4.0), (0.7, 1.5), (0.0, 4.0)])
def test_divergence_rule_matches_a_float64_reference(losses, ratio_test, beta, threshold):
    table = losses.astype(np.float32)
    expected_at, expected_smoothed = reference_divergence(table.astype(np.float64), beta,
                                                          threshold, ratio_test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short curves may leave a rule without a suggestion
        result = js.lr_find(table_step, jnp.zeros(()), (), table, num_steps=len(table),
                            smoothing=beta, diverge_threshold=threshold)
    assert result.diverged_at == expected_at
    recorded = len(table) if expected_at is None else expected_at + 1
    assert len(result.lrs) == len(result.losses) == len(result.smoothed_losses) == recorded
    np.testing.assert_array_equal(result.losses, table[:recorded])
    np.testing.assert_allclose(result.smoothed_losses, expected_smoothed[:recorded],
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_loss_is_masked_and_the_rest_not_computed(bad):
    executed, reports = [], []

    def counting_step(params, opt_state, batch, lr):
        jax.debug.callback(lambda: executed.append(1))
        return params, opt_state, batch

    table = np.linspace(2.0, 1.0, 100).astype(np.float32)
    table[30:] = bad
    result = js.lr_find(counting_step, jnp.zeros(()), (), table,
                        progress=lambda done, total: reports.append((done, total)))
    assert result.diverged_at == 30
    assert len(result.lrs) == 30  # the non-finite step itself is not kept
    for array in (result.lrs, result.losses, result.smoothed_losses):
        assert np.all(np.isfinite(array))
    jax.effects_barrier()
    assert len(executed) == 31  # steps 31..99 were skipped, not computed on NaNs
    assert reports == [(10, 100), (20, 100), (30, 100), (40, 100)]  # later chunks not run


def test_too_few_points_give_no_suggestion_and_say_why():
    table = np.array([1.0, 0.9, 0.8, 100.0] + [1.0] * 46, np.float32)
    with pytest.warns(UserWarning, match="at least 3"):
        result = js.lr_find(table_step, jnp.zeros(()), (), table, num_steps=50)
    assert result.diverged_at == 3
    assert result.suggestion is None
    assert result.suggestions == {"steep": None, "valley": None, "minimum": None}
    assert "diverging at step 3" in result.messages["steep"]
    with pytest.warns(UserWarning, match="no 'valley' suggestion"):
        assert result.suggest("valley") is None
    assert result.suggest("minimum", skip_start=0) == pytest.approx(result.lrs[2] / 10)


@pytest.mark.parametrize("mode, min_lr, max_lr", [
    ("exp", 3e-7, 7.7), ("exp", 7e-7, 0.9), ("linear", 0.0, 0.3), ("linear", 0.25, 5.5),
])
def test_grid_is_float64_and_includes_both_ends(mode, min_lr, max_lr):
    def lr_as_loss(params, opt_state, batch, lr):
        return params, opt_state, -lr  # falls all the way: no divergence

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = js.lr_find(lr_as_loss, jnp.zeros(()), (), None, min_lr=min_lr, max_lr=max_lr,
                            num_steps=37, mode=mode, num_chunks=4)
    lrs = result.lrs
    assert lrs.dtype == np.float64 and len(lrs) == 37 and result.diverged_at is None
    assert lrs[0] == min_lr and lrs[-1] == max_lr
    if mode == "exp":
        np.testing.assert_allclose(lrs[1:] / lrs[:-1], (max_lr / min_lr) ** (1 / 36), rtol=1e-12)
    else:
        np.testing.assert_allclose(np.diff(lrs), (max_lr - min_lr) / 36, rtol=1e-9)
    # each step received the grid value, rounded once to float32
    np.testing.assert_array_equal(result.losses, -lrs.astype(np.float32))


# --- the contract: inputs untouched, batches either way, one compile --------------------------


def mlp_init(key, sizes=(64, 32, 10)):
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        key, sub = jax.random.split(key)
        scale = np.float32(1 / np.sqrt(fan_in))
        params.append({"w": jax.random.normal(sub, (fan_in, fan_out), jnp.float32) * scale,
                       "b": jnp.zeros(fan_out, jnp.float32)})
    return params


def mlp_loss(params, batch):
    x, labels = batch
    for layer in params[:-1]:
        x = jnp.tanh(x @ layer["w"] + layer["b"][None, :])
    logits = x @ params[-1]["w"] + params[-1]["b"][None, :]
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


MOMENTUM = optax.inject_hyperparams(optax.sgd)(learning_rate=1e-3, momentum=0.9)
MOMENTUM_STEP = js.make_train_step(mlp_loss, MOMENTUM)
ADAM = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)
ADAM_STEP = js.make_train_step(mlp_loss, ADAM)


def random_batches(seed, num_steps=STEPS, batch=64):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(num_steps, batch, 64)).astype(np.float32)
    return x, (x[..., :10].argmax(-1)).astype(np.int32)


def test_params_and_opt_state_are_untouched():
    params = mlp_init(jax.random.PRNGKey(0))
    opt_state = MOMENTUM.init(params)
    before = jax.tree_util.tree_map(np.array, (params, opt_state))
    result = js.lr_find(MOMENTUM_STEP, params, opt_state, random_batches(0), min_lr=1e-4)
    assert len(result.lrs) > 10
    after = (params, opt_state)
    for old, new in zip(jax.tree_util.tree_leaves(before), jax.tree_util.tree_leaves(after)):
        assert not new.is_deleted()  # nothing was donated
        np.testing.assert_array_equal(np.asarray(new), old)
    # and the sweep did train: its first losses fall, beyond their noise
    assert result.smoothed_losses[40] < result.smoothed_losses[0]
    assert result.suggestion is not None


def test_callable_batches_give_the_same_sweep_as_stacked_batches():
    params = mlp_init(jax.random.PRNGKey(1))
    x, labels = random_batches(1)
    seen = []

    def batch_fn(i):
        seen.append(i)
        return jnp.asarray(x)[i], jnp.asarray(labels)[i]

    stacked = js.lr_find(MOMENTUM_STEP, params, MOMENTUM.init(params), (x, labels), min_lr=1e-4)
    called = js.lr_find(MOMENTUM_STEP, params, MOMENTUM.init(params), batch_fn, min_lr=1e-4)
    assert all(isinstance(i, jax.core.Tracer) for i in seen)  # traced, not called per step
    np.testing.assert_array_equal(called.lrs, stacked.lrs)
    np.testing.assert_allclose(called.losses, stacked.losses, rtol=1e-6)
    assert called.diverged_at == stacked.diverged_at


def test_one_compilation_serves_every_range():
    traces = []

    def step(w, state, batch, lr):
        traces.append(1)  # runs only while JAX traces the step
        return sgd_step(w, state, batch, lr)

    batches, _ = least_squares(1.0, 1.0, 0)
    js.lr_find(step, jnp.zeros(D), (), batches, min_lr=1e-5, max_lr=1e3)
    first = len(traces)
    assert first >= 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        js.lr_find(step, jnp.zeros(D), (), batches, min_lr=1e-3, max_lr=0.1)
        js.lr_find(step, jnp.zeros(D), (), batches, min_lr=0.0, max_lr=2.0, mode="linear",
                   smoothing=0.5, diverge_threshold=10.0)
    assert len(traces) == first
    # a new shape is a new compilation: the counter can move
    js.lr_find(step, jnp.zeros(D), (), least_squares(1.0, 1.0, 0, num_steps=60)[0],
               num_steps=60, min_lr=1e-5, max_lr=1e3)
    assert len(traces) > first


# --- make_train_step --------------------------------------------------------------------------


def test_make_train_step_feeds_the_lr_to_the_optimizer():
    def loss_fn(w, batch):
        return jnp.sum((w - batch) ** 2) / 2  # gradient w - batch

    target = jnp.asarray([1.0, -2.0])
    for optimizer in (
        optax.inject_hyperparams(optax.sgd)(learning_rate=123.0),
        optax.chain(optax.clip_by_global_norm(1e6),
                    optax.inject_hyperparams(optax.sgd)(learning_rate=123.0)),
    ):
        step = js.make_train_step(loss_fn, optimizer)
        w, state, loss = step(jnp.zeros(2), optimizer.init(jnp.zeros(2)), target,
                              jnp.float32(0.25))
        np.testing.assert_allclose(w, 0.25 * target)
        assert float(loss) == pytest.approx(2.5)

    def with_aux(w, batch):
        return loss_fn(w, batch), {"norm": jnp.sum(w**2)}

    optimizer = optax.inject_hyperparams(optax.sgd)(learning_rate=0.0)
    step = js.make_train_step(with_aux, optimizer, has_aux=True)
    w, _, loss = step(jnp.zeros(2), optimizer.init(jnp.zeros(2)), target, jnp.float32(1.0))
    np.testing.assert_allclose(w, target)


@pytest.mark.parametrize("optimizer, where, match", [
    (optax.adam, "make", r"^optimizer must be .*factory"),
    ("adam", "make", r"^optimizer must be"),
    (optax.adam(1e-3), "run", r"^opt_state holds no hyperparameter 'learning_rate'"),
    (optax.inject_hyperparams(optax.adam)(learning_rate=optax.linear_schedule(0.0, 1.0, 10)),
     "run", r"^hyperparam 'learning_rate' is scheduled"),
])
def test_make_train_step_rejects_optimizers_without_an_injected_lr(optimizer, where, match):
    if where == "make":
        with pytest.raises(TypeError, match=match):
            js.make_train_step(ls_loss, optimizer)
        return
    step = js.make_train_step(ls_loss, optimizer)
    batches, _ = least_squares(1.0, 1.0, 0, num_steps=4)
    with pytest.raises(TypeError, match=match):
        js.lr_find(step, jnp.zeros(D), optimizer.init(jnp.zeros(D)), batches, num_steps=4)


# --- bad input --------------------------------------------------------------------------------

GOOD = {"min_lr": 1e-7, "max_lr": 10.0, "num_steps": 100, "mode": "exp", "smoothing": 0.98,
        "diverge_threshold": 4.0}


@pytest.mark.parametrize("changes, error, name", [
    ({"min_lr": 0.0}, ValueError, "min_lr"),
    ({"min_lr": -1e-3}, ValueError, "min_lr"),
    ({"min_lr": -1.0, "mode": "linear"}, ValueError, "min_lr"),
    ({"min_lr": float("nan")}, ValueError, "min_lr"),
    ({"min_lr": "1e-3"}, TypeError, "min_lr"),
    ({"max_lr": 1e-7}, ValueError, "max_lr"),
    ({"max_lr": 1e-8}, ValueError, "max_lr"),
    ({"max_lr": float("inf")}, ValueError, "max_lr"),
    ({"num_steps": 1}, ValueError, "num_steps"),
    ({"num_steps": 0}, ValueError, "num_steps"),
    ({"num_steps": 10.5}, ValueError, "num_steps"),
    ({"mode": "log"}, ValueError, "mode"),
    ({"smoothing": 1.0}, ValueError, "smoothing"),
    ({"smoothing": -0.1}, ValueError, "smoothing"),
    ({"diverge_threshold": 0.5}, ValueError, "diverge_threshold"),
    ({"num_chunks": 0}, ValueError, "num_chunks"),
    ({"progress": "yes"}, TypeError, "progress"),
])
def test_bad_arguments_name_themselves(changes, error, name):
    kwargs = {**GOOD, **changes}
    batches = np.zeros((kwargs["num_steps"] if isinstance(kwargs["num_steps"], int)
                        and kwargs["num_steps"] > 0 else 5,), np.float32)
    with pytest.raises(error, match=rf"^{name}\b") as info:
        js.lr_find(table_step, jnp.zeros(()), (), batches, **kwargs)
    assert f"{name}=" in str(info.value)  # the bad value is shown


@pytest.mark.parametrize("batches", [
    np.zeros((99,), np.float32),
    (np.zeros((100, 3), np.float32), np.zeros((50,), np.float32)),
    {"x": np.float32(1.0)},
])
def test_batches_must_have_a_leading_axis_of_num_steps(batches):
    with pytest.raises(ValueError, match=r"^batches must .*num_steps=100"):
        js.lr_find(table_step, jnp.zeros(()), (), batches)


def _vector_loss(params, opt_state, batch, lr):
    return params, opt_state, jnp.stack([batch, batch])


def _two_outputs(params, opt_state, batch, lr):
    return params, batch


def _new_params(params, opt_state, batch, lr):
    return jnp.zeros(3), opt_state, batch


@pytest.mark.parametrize("step, match", [
    (_vector_loss, r"^train_step must return a real scalar loss, got a loss of float32\[2\]"),
    (_two_outputs, r"^train_step must return a tuple"),
    (_new_params, r"^train_step must return params with the structure"),
    ("not a function", r"^train_step must be callable"),
])
def test_bad_train_step_is_a_type_error(step, match):
    with pytest.raises(TypeError, match=match):
        js.lr_find(step, jnp.zeros(()), (), np.zeros(10, np.float32), num_steps=10)


# --- the result: rules on known curves, plot, progress ----------------------------------------


def curve(smoothed, lrs=None):
    lrs = np.geomspace(1e-4, 1.0, len(smoothed)) if lrs is None else lrs
    return js.LRFindResult(lrs, smoothed, smoothed)


def test_steep_is_the_steepest_fall_against_log_lr():
    lrs = np.geomspace(1e-6, 1.0, 61)
    result = curve(-np.tanh(2 * (np.log10(lrs) + 3)), lrs)  # steepest at lr = 1e-3
    assert result.suggestion == pytest.approx(1e-3)
    # a curve that never falls gives no suggestion, with a reason
    rising = curve(np.linspace(1.0, 2.0, 30))
    assert rising.suggestion is None and "never falls" in rising.messages["steep"]


def test_valley_follows_the_longest_decreasing_run():
    losses = np.concatenate([np.linspace(5.0, 1.0, 31), np.linspace(1.5, 9.0, 19)])
    result = curve(losses)
    # the run spans points 0..30: s = 10, pick 0 + 10 + 5. (fastai's start estimate is -1,
    # which would pick point 14.)
    assert result.suggest("valley", skip_start=0) == result.lrs[15]
    # a bump inside the descent does not cut the subsequence in two
    bumpy = losses.copy()
    bumpy[10] = 6.0
    assert curve(bumpy).suggest("valley", skip_start=0) == result.lrs[15]
    assert curve(np.linspace(1.0, 2.0, 30)).suggestions["valley"] is None


def test_minimum_is_a_tenth_of_the_lr_at_the_lowest_loss():
    losses = (np.arange(40) - 27.0) ** 2
    result = curve(losses)
    assert result.suggestions["minimum"] == pytest.approx(result.lrs[27] / 10)
    assert result.suggest("minimum", skip_end=13) == pytest.approx(result.lrs[26] / 10)


def test_result_is_read_only_and_checks_its_arrays():
    result = curve(np.linspace(3.0, 1.0, 20))
    with pytest.raises(ValueError):
        result.lrs[0] = 1.0
    with pytest.raises(ValueError, match="^lrs, losses and smoothed_losses"):
        js.LRFindResult(np.ones(3), np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="^losses must be a 1-D array of finite numbers"):
        js.LRFindResult(np.ones(3), np.array([1.0, np.nan, 1.0]), np.ones(3))
    with pytest.raises(ValueError, match="^lrs must be non-negative and strictly increasing"):
        js.LRFindResult(np.array([1.0, 1.0, 2.0]), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="^method must be one of"):
        result.suggest("slide")
    assert repr(result).startswith("LRFindResult(points=20 of 20, mode='exp'")


def test_plot_marks_the_suggestions():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    losses = np.concatenate([np.linspace(5.0, 1.0, 40), np.linspace(1.0, 1e6, 10)])
    result = curve(losses)
    ax = result.plot()
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["loss", "smoothed loss"]
    s = result.suggestions
    assert labels[2:] == [f"steep (steepest fall): {s['steep']:.2e}", f"valley: {s['valley']:.2e}",
                          f"minimum / 10 (fastai's rule): {s['minimum']:.2e}"]
    minimum = float(result.lrs[np.argmin(result.smoothed_losses)])
    assert s["minimum"] == pytest.approx(minimum / 10)  # the label says what the line is
    assert ax.get_xscale() == "log"
    assert ax.get_ylim()[1] < 10  # the blow-up does not squash the curve
    fig, own = plt.subplots()
    assert result.plot(ax=own, show_losses=False) is own
    plt.close("all")


def test_plot_without_matplotlib_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        curve(np.linspace(3.0, 1.0, 20)).plot()


def test_progress_bar_needs_tqdm(monkeypatch):
    table = np.linspace(2.0, 1.0, 10).astype(np.float32)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match="progress=True needs tqdm"):
        js.lr_find(table_step, jnp.zeros(()), (), table, num_steps=10, progress=True)


def test_progress_bar_with_tqdm(capsys):
    pytest.importorskip("tqdm")
    table = np.linspace(2.0, 1.0, 10).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # 10 points: too few for suggestions
        js.lr_find(table_step, jnp.zeros(()), (), table, num_steps=10, progress=True,
                   num_chunks=2)
    assert "10/10" in capsys.readouterr().err


def test_import_does_not_load_matplotlib_or_tqdm():
    code = "import sys, jaxsched; print('matplotlib' in sys.modules, 'tqdm' in sys.modules)"
    root = pathlib.Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=root)
    assert out.stdout.split() == ["False", "False"]


# --- a small MLP on a real data set -----------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_digits_mlp_suggestion_beats_ten_times_more_and_less(optimizer):
    datasets = pytest.importorskip("sklearn.datasets")
    x, labels = datasets.load_digits(return_X_y=True)
    x, labels = jnp.asarray(x / 16.0, jnp.float32), jnp.asarray(labels, jnp.int32)
    opt, step = (MOMENTUM, MOMENTUM_STEP) if optimizer == "momentum" else (ADAM, ADAM_STEP)
    batch, budget, seeds = 64, 300, 4

    @jax.jit
    @jax.vmap  # over the three learning rates
    def final_loss(params, rows, lr, x, labels):
        def body(carry, i):
            params, state = carry
            params, state, _ = step(params, state, (x[i], labels[i]), lr)
            return (params, state), None

        (params, _), _ = jax.lax.scan(body, (params, opt.init(params)), rows)
        return mlp_loss(params, (x, labels))

    # optax's adam computes `b1 ** count` (float32 ** int32), which strict promotion rejects.
    promotion = "standard" if optimizer == "adam" else "strict"
    losses = np.zeros((seeds, 3))
    with jax.numpy_dtype_promotion(promotion):
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            params = mlp_init(jax.random.PRNGKey(seed))
            rows = rng.integers(0, len(x), size=(STEPS, batch))
            result = js.lr_find(step, params, opt.init(params), (x[rows], labels[rows]),
                                min_lr=1e-5, max_lr=10.0)
            lr = result.suggestion
            assert 1e-4 < lr < 3.0
            lrs = jnp.asarray([lr / 10, lr, lr * 10], jnp.float32)
            rows = jnp.asarray(rng.integers(0, len(x), size=(budget, batch)))
            three = jax.tree_util.tree_map(lambda a: jnp.stack([a] * 3), params)
            data = (jnp.stack([x] * 3), jnp.stack([labels] * 3))
            losses[seed] = np.asarray(final_loss(three, jnp.stack([rows] * 3), lrs, *data))
    below, suggested, above = losses.T
    if optimizer == "momentum":
        # every seed: the suggestion ends lower than a tenth of it and than ten times it
        assert np.all(suggested < below) and np.all(suggested < above), losses
    else:
        # Adam at a constant lr near its limit is noisy from seed to seed (one seed of four
        # may end above lr / 10), so the criterion is on the mean over seeds.
        assert suggested.mean() < below.mean() and suggested.mean() < above.mean(), losses


def test_float64_sweep_when_x64_is_enabled():
    received = []

    def lr_as_loss(params, opt_state, batch, lr):
        received.append(lr.dtype)
        return params, opt_state, batch - lr

    with jax.enable_x64(True):
        table = np.linspace(1.0, 0.5, 40)  # float64 losses
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = js.lr_find(lr_as_loss, jnp.zeros((), jnp.float64), (), table,
                                min_lr=7e-7, max_lr=0.9, num_steps=40, smoothing=0.9)
    assert set(received) == {np.dtype(np.float64)}
    np.testing.assert_array_equal(result.losses, table - result.lrs)  # the grid, unrounded
    _, expected = reference_divergence(table - result.lrs, 0.9, 4.0, ratio_test=True)
    np.testing.assert_allclose(result.smoothed_losses, expected, rtol=1e-13)


# --- a loss that never falls: no suggestion, and why (issue 10) -------------------------------


def host_smoothed(losses, beta):
    """The bias-corrected moving average, in float64 on the host."""
    average, out = 0.0, []
    for i, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta ** (i + 1)))
    return np.asarray(out)


def test_a_loss_that_never_falls_gives_no_suggestion():
    """A constant loss: only float32 rounding varies. (A frozen model on fresh batches, where
    batch noise varies too: test_the_lr_find_page_runs_and_prints_what_it_shows.)"""
    params = mlp_init(jax.random.PRNGKey(0))
    with pytest.warns(UserWarning, match=r"^lr_find: no suggestion: the smoothed loss never "
                      r"falls by more than its noise .*frozen model") as record:
        result = js.lr_find(lambda p, s, b, lr: (p, s, jnp.float32(1.0)), params,
                            MOMENTUM.init(params), None, min_lr=1e-4)
    assert len(record) == 1 and result.diverged_at is None and len(result.lrs) == 100
    assert result.suggestions == {"steep": None, "valley": None, "minimum": None}
    assert set(result.messages) == {"steep", "valley", "minimum"}


@pytest.mark.parametrize("beta", [0.98, 0.5])
def test_rounding_noise_is_four_ulps_per_one_minus_smoothing(beta):
    """A noiseless curve (no batch noise) falls beyond noise iff its fall exceeds the rounding
    bound 4 * 2**-23 / (1 - beta) * max|s| of the float32 moving average."""
    bound = 4 * 2.0**-23 / (1 - beta) * 3.0
    lrs = np.geomspace(1e-4, 1.0, 50)
    for fall, expected in ((0.9 * bound, False), (1.1 * bound, True)):
        # 5 skipped points, then a steady fall (no batch noise) over the 45 usable ones
        smoothed = np.concatenate([np.full(5, 3.0), 3.0 - fall * np.linspace(0.0, 1.0, 45)])
        result = js.LRFindResult(lrs, smoothed, smoothed, smoothing=beta)
        assert (result.suggestion is not None) == expected, (fall / bound, result.messages)


def test_batch_noise_alone_seems_to_fall_in_about_one_sweep_in_a_hundred():
    """The documented chance level: independent losses with no trend (a model that does not
    learn) get suggestions in ~1% of sweeps; the same noise over a fall of a few times the
    threshold gets them every time."""
    rng = np.random.default_rng(7)
    lrs = np.geomspace(1e-4, 1.0, 100)
    falsely, missed = 0, 0
    for _ in range(600):
        losses = 2.0 + 0.3 * rng.standard_normal(100)
        result = js.LRFindResult(lrs, losses, host_smoothed(losses, 0.98))
        falsely += result.suggestion is not None
        trend = 2.0 - 1.0 * np.linspace(0.0, 1.0, 100) ** 2
        result = js.LRFindResult(lrs, trend + losses - 2.0, host_smoothed(trend + losses - 2.0,
                                                                          0.98))
        missed += result.suggestion is None
    assert 1 <= falsely <= 15 and missed == 0, (falsely, missed)


# --- a NaN at the smallest learning rates names its cause (issue 10) --------------------------


def test_a_nan_at_the_first_step_blames_the_step_not_the_rate():
    def broken(params, opt_state, batch, lr):
        return params, opt_state, jnp.log(params - 1.0)  # log of a negative number

    with pytest.warns(UserWarning, match=r"^lr_find: no suggestion: the loss was not finite "
                      r"\(nan\) at step 0 of the sweep \(lr=1e-07\).* comes from the training "
                      r"step itself") as record:
        result = js.lr_find(broken, jnp.zeros(()), (), None)
    assert len(record) == 1 and len(result.lrs) == 0 and result.diverged_at == 0


def test_a_rising_opt_state_dtype_must_then_stay_fixed():
    def drifting(params, opt_state, batch, lr):  # float16, then float32, then int32
        dtype = jnp.float32 if opt_state.dtype == jnp.float16 else jnp.int32
        return params, opt_state.astype(dtype), batch

    with pytest.raises(TypeError, match=r"^train_step must return opt_state .* dtypes that "
                       r"stay the same from its second step on, got float32\[\] for "
                       r"float16\[\], then int32\[\]"):
        js.lr_find(drifting, jnp.zeros(()), jnp.zeros((), jnp.float16), np.ones(10, np.float32),
                   num_steps=10)


# --- the compiled sweep lives as long as the caller's functions, no longer (issue 10) ----------


class Model:
    def __init__(self, scale):
        self.scale = scale  # a device array: what a caller's closure would keep alive

    def step(self, params, opt_state, batch, lr):
        loss = jnp.mean((self.scale * params - batch) ** 2)
        return params - lr * jax.grad(lambda p: jnp.mean((self.scale * p - batch) ** 2))(params), \
            opt_state, loss


def test_dropped_train_steps_and_batch_functions_are_freed():
    data = jnp.full((20, 4), 1.0)  # what a caller's closures hold
    model = Model(jnp.full((4,), 2.0))
    batch_fn = lambda i, data=data: data[i]  # noqa: E731 - closures that own the arrays
    step = lambda p, s, b, lr, model=model: model.step(p, s, b, lr)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # suggestions are not the point here
        js.lr_find(model.step, jnp.ones(4), (), batch_fn, num_steps=20, num_chunks=1)
        js.lr_find(step, jnp.ones(4), (), data, num_steps=20, num_chunks=1)
    alive = [weakref.ref(x) for x in (data, model, model.scale, batch_fn, step)]
    del data, model, batch_fn, step
    gc.collect()
    assert [ref() is None for ref in alive] == [True] * len(alive)


def test_a_bound_method_is_compiled_once_while_its_object_lives():
    traces = []

    class Counting(Model):
        def step(self, params, opt_state, batch, lr):
            traces.append(1)  # runs only while JAX traces the step
            return super().step(params, opt_state, batch, lr)

    model = Counting(jnp.full((4,), 2.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counts = []
        for _ in range(3):  # model.step is a new bound-method object each time
            js.lr_find(model.step, jnp.ones(4), (), jnp.ones((50, 4)), num_steps=50)
            counts.append(len(traces))
    assert counts[0] >= 1 and counts[2] == counts[0]


# --- lr_find reads as checks, sweep, result (issue 10) ----------------------------------------


FINDER_MODULES = ("_finder.py", "_finder_result.py", "_finder_rules.py", "_finder_sweep.py",
                  "_train_step.py")


@pytest.mark.parametrize("module", FINDER_MODULES)
def test_no_function_in_the_finder_is_longer_than_a_screen(module):
    source = (pathlib.Path(js.__file__).parent / module).read_text()
    long = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef):
            body = node.body
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]  # the docstring is not code
            if body and body[-1].end_lineno - body[0].lineno + 1 > 40:
                long[node.name] = body[-1].end_lineno - body[0].lineno + 1
    assert not long, long


# --- docs/lr_find.md: every snippet runs and prints what the page shows ------------------------

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "lr_find.md"


def doc_blocks():
    """(code, the text block after it) for each python block of the page, in order."""
    fences = re.findall(r"^( *)```(\w+)\n(.*?)^\1```", DOC.read_text(), re.S | re.M)
    blocks = [(kind, textwrap.dedent(body)) for _, kind, body in fences]
    return [(body, blocks[i + 1][1] if i + 1 < len(blocks) and blocks[i + 1][0] == "text"
             else None) for i, (kind, body) in enumerate(blocks) if kind == "python"]


def check_the_bfloat16_warning(message):
    """optax stores injected hyperparameters in the params' dtype, and b2 = 0.999 is 1.0 in
    bfloat16: the warning names the non-finite loss, the dtype and the fix, not min_lr."""
    assert message.startswith("lr_find: no suggestion: the loss was not finite (nan) at step 1 "
                              "of the sweep (lr=1.2e-07)")
    assert "in bfloat16 (" in message and "b2=1," in message
    assert "hyperparam_dtype=jnp.float32" in message and "lower min_lr" not in message.lower()
    # the page quotes the warning in full
    assert message.split("in bfloat16 (")[1].split(":")[0] in DOC.read_text()


def test_the_lr_find_page_runs_and_prints_what_it_shows():
    """The page's snippets: the README example, a frozen model (no suggestion: its loss never
    falls beyond the batch noise), bfloat16 hyperparameters (a NaN at step 1 that names them)
    and the fix (float32 hyperparameters: Adam's first moment turns float32 at the first step,
    which the sweep accepts)."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    blocks = doc_blocks()
    assert len(blocks) == 4 and all(expected for _, expected in blocks)
    namespace = {}
    for code, expected in blocks:
        out = io.StringIO()
        # As a user runs it: JAX's default promotion rules (optax's own code needs them).
        with contextlib.redirect_stdout(out), jax.numpy_dtype_promotion("standard"), \
                jax.numpy_rank_promotion("allow"), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            exec(compile(code, str(DOC), "exec"), namespace)
        assert out.getvalue() == expected, code
        documented = re.findall(r"# UserWarning: (.*?) \.\.\.$", code, re.M)
        raised = [str(w.message) for w in caught]
        assert len(raised) == len(documented), raised
        for message, start in zip(raised, documented):
            assert message.startswith(start), (message, start)
        if "params16" in code and "hyperparam_dtype" not in code:
            check_the_bfloat16_warning(message)
    plt.close("all")
