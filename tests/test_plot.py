"""`js.plot`: the lines it draws are the schedule's values, labels, scales, errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import jaxsched as js
from jaxsched._plot import MAX_POINTS
from tests.pngs import assert_png

matplotlib = pytest.importorskip("matplotlib", reason="needs the plot extra")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_one_schedule_draws_its_values_on_the_given_axes():
    s = js.step_decay(0.1, every=30, gamma=0.5)
    _, ax = plt.subplots()
    out = js.plot(s, 100, ax=ax)
    assert out is ax
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(100))
    expected = [0.1 * 0.5 ** (t // 30) for t in range(100)]
    np.testing.assert_allclose(line.get_ydata(), expected, rtol=1e-6)
    assert line.get_drawstyle() == "steps-post"  # jumps drawn where they happen
    assert ax.get_title() == repr(s)
    assert ax.get_legend() is None
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("step", "learning rate")


def test_a_dict_draws_one_labelled_line_each_in_order_with_a_legend():
    schedules = {"cos": js.cosine_annealing(1.0, 50), "lin": js.linear(1.0, 0.0, steps=40)}
    ax = js.plot(schedules, 60, start=10, linewidth=3)
    assert [line.get_label() for line in ax.get_lines()] == ["cos", "lin"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["cos", "lin"]
    for line, s in zip(ax.get_lines(), schedules.values()):
        np.testing.assert_array_equal(line.get_xdata(), np.arange(10, 60))
        np.testing.assert_allclose(line.get_ydata(), np.asarray(s(np.arange(10, 60))), rtol=1e-6)
        assert line.get_linewidth() == 3
    assert ax.get_title() == ""


def test_the_default_range_is_the_horizon_and_a_tenth():
    s = js.warmup(js.cosine_annealing(1.0, 150), 50)
    (line,) = js.plot(s).get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(220))  # horizon 200, +20
    lines = js.plot({"short": js.linear(1.0, 0.0, 10), "long": s}).get_lines()
    assert [len(line.get_xdata()) for line in lines] == [220, 220]
    with pytest.raises(ValueError, match=r"num_steps is needed: schedules\['cyc'\] has no"):
        js.plot({"cyc": js.cyclic(0.0, 1.0, 10), "long": s})


def test_many_steps_are_sampled_evenly_with_the_last_step_included():
    s = js.linear(1.0, 0.0, steps=10**7)
    ax = js.plot(s, 10**7, log_scale=True, title="long")
    steps = ax.get_lines()[0].get_xdata()
    assert len(steps) == MAX_POINTS
    assert steps[0] == 0 and steps[-1] == 10**7 - 1
    assert ax.get_yscale() == "log" and ax.get_title() == "long"


def test_a_plain_callable_and_an_optax_schedule_are_drawn_too():
    import optax

    ax = js.plot({"optax": optax.linear_schedule(1.0, 0.0, 10), "fn": lambda t: 0.5}, 12)
    optax_line, fn_line = ax.get_lines()
    np.testing.assert_allclose(optax_line.get_ydata()[[0, 5, 11]], [1.0, 0.5, 0.0], atol=1e-7)
    np.testing.assert_array_equal(fn_line.get_ydata(), np.full(12, 0.5))


def test_the_figure_saves_as_a_png(tmp_path):
    ax = js.plot(js.one_cycle(0.1, 200), 200)
    path = tmp_path / "plot.png"
    ax.figure.savefig(path, dpi=80)
    assert_png(path)


@pytest.mark.parametrize(
    "args, error, match",
    [
        (({}, 10), ValueError, "empty dict"),
        (({"a": 0.1}, 10), TypeError, r"schedules\['a'\] must be a schedule"),
        ((0.1, 10), TypeError, "schedules must be a schedule"),
        ((js.constant(1.0), 0), ValueError, "num_steps"),
        ((js.constant(1.0), 10.5), TypeError, "num_steps must be an int"),
    ],
)
def test_bad_arguments_raise(args, error, match):
    with pytest.raises(error, match=match):
        js.plot(*args)


def test_without_matplotlib_the_error_names_the_plot_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(ImportError, match=r"pip install 'jaxsched\[plot\]'"):
        js.plot(js.constant(1.0), 10)
