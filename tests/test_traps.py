"""Traps a user falls into: a fraction of a run where steps are counted, and other libraries'
spellings of an argument. Both are refused when the schedule is built, naming what to write."""

import inspect

import numpy as np
import pytest

import jaxsched as js
from jaxsched._schedule import _CONSTRUCTORS, RENAMED
from jaxsched._spellings import FOREIGN

BASE = js.constant(1.0)


@pytest.mark.parametrize("build, name", [
    (lambda x: js.cooldown(BASE, 6000, x), "steps"),
    (lambda x: js.cooldown(BASE, x, 100), "start"),
    (lambda x: js.warmup(BASE, x), "steps"),
    (lambda x: js.linear(0.1, 0.0, x), "steps"),
    (lambda x: js.cosine_annealing(0.1, x), "steps"),
    (lambda x: js.polynomial_decay(0.1, x), "steps"),
    (lambda x: js.log_annealing(0.1, x), "steps"),
    (lambda x: js.tanh_decay(0.1, x), "steps"),
    (lambda x: js.one_cycle(0.1, x), "steps"),
    (lambda x: js.sgdr(0.1, x), "cycle_steps"),
    (lambda x: js.cyclic(0.0, 0.1, 10, x), "down_steps"),
    (lambda x: js.step_decay(0.1, x), "every"),
    (lambda x: js.exponential_decay(0.1, 0.5, x), "transition_steps"),
    (lambda x: js.exponential_decay(0.1, 0.5, 10, transition_begin=x), "transition_begin"),
    (lambda x: js.inverse_time_decay(0.1, 0.5, x), "transition_steps"),
    (lambda x: js.inverse_sqrt(0.1, x), "warmup_steps"),
    (lambda x: js.warmup_stable_decay(0.1, 10, 100, x), "decay_steps"),
    (lambda x: js.warmup_stable_decay(0.1, x, 100, 10), "warmup_steps"),
    (lambda x: js.wsd_cycles(0.1, [100, 100], x), "decay_steps"),
    (lambda x: js.staircase(BASE, x), "every"),
    (lambda x: js.repeat(BASE, x), "period"),
    (lambda x: js.per_epoch(BASE, x), "steps_per_epoch"),
    (lambda x: js.extend(js.cosine_annealing(0.1, 100), x, 200), "at"),
    (lambda x: js.linear(0.1, 0.0, np.array([10.0, x])), "steps"),
])
def test_a_fraction_of_the_run_is_refused_naming_the_fix(build, name):
    with pytest.raises(ValueError, match=rf"{name} counts steps, not a fraction of the run: "
                                         rf".*write {name}=int\(0\.2 \* T\)"):
        build(0.2)


def test_lengths_of_zero_and_above_one_still_build():
    assert js.cooldown(BASE, 6000, 0).horizon == 6000
    assert js.warmup(BASE, 1.5).horizon == 2
    assert js.cooldown(BASE, 6000, 1200).horizon == 7200


@pytest.mark.parametrize("build, foreign, ours", [
    (lambda: js.cosine_annealing(0.1, decay_steps=100), "decay_steps", "jaxsched's is steps"),
    (lambda: js.cosine_annealing(0.1, 100, alpha=0.1), "alpha",
     r"jaxsched's is end_value \(end_value = alpha \* init_value\)"),
    (lambda: js.cosine_annealing(0.1, T_max=100), "T_max", "jaxsched's is steps"),
    (lambda: js.cosine_annealing(0.1, 100, eta_min=0.0), "eta_min", "jaxsched's is end_value"),
    (lambda: js.warmup(BASE, warmup_steps=10), "warmup_steps", "jaxsched's is steps"),
    (lambda: js.cosine_annealing(0.1, 100, warmup_steps=10), "warmup_steps",
     r"wrap the schedule: js\.warmup\(schedule, steps"),
    (lambda: js.linear(0.0, 0.1, transition_steps=10), "transition_steps", "jaxsched's is steps"),
    (lambda: js.linear(0.0, 0.1, 10, transition_begin=5), "transition_begin",
     r"move the schedule in time: js\.shift\(schedule, -steps\)"),
    (lambda: js.exponential_decay(0.1, decay_rate=0.5), "decay_rate", "jaxsched's is gamma"),
    (lambda: js.exponential_decay(0.1, 0.5, decay_steps=10), "decay_steps",
     "jaxsched's is transition_steps"),
    (lambda: js.inverse_time_decay(0.1, gamma=0.5), "gamma", "jaxsched's is decay_rate"),
    (lambda: js.sgdr(0.1, T_0=10, T_mult=2), "T_0", "jaxsched's is cycle_steps"),
    (lambda: js.one_cycle(0.1, 100, anneal_strategy="cos"), "anneal_strategy",
     "jaxsched's is anneal"),
    (lambda: js.warmup_stable_decay(max_lr=0.1, warmup_steps=1, stable_steps=1, decay_steps=1),
     "max_lr", "jaxsched's is peak_value"),
    (lambda: js.polynomial_decay(initial_learning_rate=0.1, steps=10), "initial_learning_rate",
     "jaxsched's is init_value"),
    (lambda: js.cosine_annealing(0.1, num_training_steps=10), "num_training_steps",
     "jaxsched's is steps"),
])
def test_another_librarys_spelling_names_ours(build, foreign, ours):
    with pytest.raises(TypeError, match=rf"{foreign} is .* spelling; {ours}"):
        build()


def test_a_config_field_in_another_librarys_spelling_names_ours():
    config = {"kind": "cosine_annealing", "init_value": 0.1, "T_max": 10}
    with pytest.raises(ValueError, match="T_max: unknown field for cosine_annealing "
                                         r"\(T_max is PyTorch's spelling; jaxsched's is steps\)"):
        js.from_config(config)


def test_every_named_spelling_is_a_parameter_of_some_constructor():
    params = {p for c in _CONSTRUCTORS.values() for p in inspect.signature(c).parameters}
    for foreign, (_, candidates, _) in FOREIGN.items():
        assert set(candidates) <= params, foreign


def test_own_parameters_and_0_1_names_are_left_alone():
    assert js.warmup_stable_decay(0.1, 10, 100, decay_steps=10).horizon == 120
    assert js.inverse_sqrt(0.1, warmup_steps=10) == js.inverse_sqrt(0.1, 10)
    assert "step_size" in RENAMED["step_decay"]
    with pytest.raises(TypeError, match="step_size was renamed: every"):
        js.step_decay(0.1, step_size=3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'nonsense'"):
        js.cosine_annealing(0.1, 10, nonsense=1)
