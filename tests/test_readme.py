"""README.md: the quickstart runs, the gallery is embedded, and the migration tables are right.

The optax rows are checked value by value against optax; every ``js.<name>(...)`` call written in
the README is checked to name a real function with real keyword arguments.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched as js

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_quickstart_runs_and_trains():
    block = re.search(r"## Quickstart\n\n```python\n(.*?)```", README, re.S).group(1)
    code_lines = [line for line in block.splitlines() if line.strip()]
    assert len(code_lines) <= 12, "the quickstart is about ten lines of code"  # blanks apart
    assert "optax.chain(" in block
    out = io.StringIO()
    # As a user runs it: optax's own code needs standard (not strict) dtype promotion.
    with contextlib.redirect_stdout(out), jax.numpy_dtype_promotion("standard"):
        exec(compile(block, "README.md:quickstart", "exec"), namespace := {})
    loss, lr = re.fullmatch(r"loss (\S+), lr (\S+)\n", out.getvalue()).groups()
    assert float(loss) < 1e-3 and 0 <= float(lr) < 0.1
    assert float(js.plateau_scale(namespace["state"])) < 1  # the plateau did reduce, as it says


def test_the_gallery_is_embedded_and_exists():
    (path,) = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", README)
    assert path == "docs/gallery.png" and (ROOT / path).is_file()


def test_the_set_up_commands_and_placeholders_are_there():
    for text in ("make demo", "make test", "## Guarantees", "## Benchmarks",
                 "## Data-parallel training"):
        assert text in README


def js_calls(snippet: str):
    """(name, keyword names, number of positional arguments) of each js.<name>(...) call."""
    try:
        tree = ast.parse(snippet, mode="eval")
    except SyntaxError:
        return None
    calls = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "js"):
            calls.append((node.func.attr, [k.arg for k in node.keywords], len(node.args)))
    return calls


def test_every_js_call_in_the_readme_names_real_functions_and_arguments():
    prose = re.sub(r"```.*?```", "", README, flags=re.S)
    snippets = [s for s in re.findall(r"`([^`]+)`", prose) if "js." in s]
    checked = 0
    for snippet in snippets:
        calls = js_calls(snippet.replace("...", "None"))
        if calls is None:
            continue
        for name, keywords, positional in calls:
            assert hasattr(js, name), f"js.{name} in {snippet!r}"
            parameters = inspect.signature(getattr(js, name)).parameters
            unknown = set(keywords) - set(parameters)
            assert not unknown, f"js.{name} has no argument {unknown}: {snippet!r}"
            assert positional + len(keywords) <= len(parameters), snippet
            checked += 1
    assert checked >= 50  # the tables are parsed, not skipped


def _vectorized(schedule):
    return jax.vmap(schedule)  # some optax schedules take scalar steps only


STEPS = jnp.arange(0, 1300)
OPTAX_ROWS = {
    "constant": (optax.constant_schedule(0.1), js.constant(0.1)),
    "linear": (optax.linear_schedule(0.1, 0.0, 500), js.linear(0.1, 0.0, steps=500)),
    "linear, begin": (optax.linear_schedule(0.1, 0.0, 500, transition_begin=100),
                      js.join([js.constant(0.1), js.linear(0.1, 0.0, 500)], boundaries=[100])),
    "polynomial": (optax.polynomial_schedule(0.1, 0.001, 2.0, 800),
                   js.polynomial_decay(0.1, max_update=800, power=2.0, end_value=0.001)),
    "exponential": (optax.exponential_decay(0.1, 50, 0.5, transition_begin=100, staircase=True,
                                            end_value=0.01),
                    js.exponential_decay(0.1, gamma=0.5, transition_steps=50, staircase=True,
                                         transition_begin=100, end_value=0.01)),
    "cosine": (optax.cosine_decay_schedule(0.1, 800, alpha=0.1),
               js.cosine_annealing(max_lr=0.1, cycle_length=800, min_lr=0.01)),
    "warmup cosine": (optax.warmup_cosine_decay_schedule(0.01, 0.1, 100, 1000, end_value=0.001),
                      js.warmup(js.cosine_annealing(0.1, 900, min_lr=0.001), 100,
                                init_value=0.01)),
    "warmup exponential": (
        optax.warmup_exponential_decay_schedule(0.0, 0.1, 100, 50, 0.5, end_value=0.001),
        js.warmup(js.exponential_decay(0.1, 0.5, 50, end_value=0.001), 100, init_value=0.0)),
    "piecewise constant": (optax.piecewise_constant_schedule(0.1, {300: 0.5, 600: 0.1}),
                           js.piecewise_constant(boundaries=[300, 600],
                                                 values=[0.1, 0.1 * 0.5, 0.1 * 0.5 * 0.1])),
    "piecewise linear": (optax.piecewise_interpolate_schedule("linear", 0.1, {300: 0.5, 600: 0.1}),
                         js.piecewise_linear(boundaries=[0, 300, 600],
                                             values=[0.1, 0.1 * 0.5, 0.1 * 0.5 * 0.1])),
    "join": (optax.join_schedules([optax.linear_schedule(0.0, 0.1, 100),
                                   optax.cosine_decay_schedule(0.1, 900)], [100]),
             js.join([js.linear(0.0, 0.1, 100), js.cosine_annealing(0.1, 900)], [100])),
    "sgdr": (optax.sgdr_schedule([dict(init_value=0.0, peak_value=0.1, warmup_steps=50,
                                       decay_steps=300, end_value=0.001)] * 4),
             js.repeat(js.warmup(js.cosine_annealing(0.1, 250, 0.001), 50, init_value=0.0),
                       period=300)),
}


@pytest.mark.parametrize("row", OPTAX_ROWS)
def test_optax_rows(row):
    theirs, ours = OPTAX_ROWS[row]
    steps = STEPS[:1200] if row == "sgdr" else STEPS  # optax's sgdr ends after its 4 cycles
    with jax.numpy_dtype_promotion("standard"):  # optax's code is not written for strict mode
        expected = np.asarray(_vectorized(theirs)(steps), np.float64)
    np.testing.assert_allclose(np.asarray(ours(steps), np.float64), expected, rtol=2e-5,
                               atol=1e-7)


def _scales(transformation, values):
    """The scale after each observation, from one compiled scan."""
    def step(state, value):
        _, state = transformation.update(jnp.zeros(1), state, value=value)
        return state, state.scale

    _, scales = jax.lax.scan(step, transformation.init(jnp.zeros(1)), jnp.asarray(values))
    return np.asarray(scales, np.float64)


@pytest.mark.parametrize("patience, cooldown, accumulation", [(1, 0, 1), (3, 0, 1), (2, 2, 1),
                                                               (2, 1, 3)])
def test_optax_reduce_on_plateau_row(patience, cooldown, accumulation):
    rng = np.random.default_rng(0)
    values = np.concatenate([np.linspace(2, 1, 20), 1 + 0.01 * rng.standard_normal(30),
                             np.linspace(1, 0.5, 10), np.full(40, 0.5)]).astype(np.float32)
    theirs = optax.contrib.reduce_on_plateau(factor=0.5, patience=patience, rtol=1e-4,
                                             cooldown=cooldown, accumulation_size=accumulation,
                                             min_scale=0.01)
    ours = js.reduce_on_plateau(factor=0.5, patience=patience - 1, threshold=1e-4,
                                cooldown=cooldown, accumulation_steps=accumulation,
                                min_scale=0.01)
    with jax.numpy_dtype_promotion("standard"):  # optax's code is not written for strict mode
        expected = _scales(theirs, values)
    got = _scales(ours, values)
    assert got.min() < 1  # the sequence does trigger reductions
    np.testing.assert_allclose(got, expected, rtol=1e-6)
