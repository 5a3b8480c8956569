"""1.0 pickles load into today's classes: equal to the same schedule built again, same values.

`tests/data/pickles_1_0.pkl` was written by `tests/data/make_pickles.py` with the 1.0 sources;
the schedules and states here are built by the same functions with today's code.
"""

from __future__ import annotations

import dataclasses
import pickle

import chex
import jax
import numpy as np
import pytest

import jaxsched as js
from tests.data.make_pickles import FIXTURE, schedules, states

PICKLES: dict[str, bytes] = pickle.loads(FIXTURE.read_bytes())
SCHEDULES = schedules()
STATES = states()
STEPS = np.array([0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233], np.int32)


@jax.jit
def _values(schedule: js.Schedule, steps: jax.Array) -> jax.Array:
    """One compilation per structure: the 1.0 pickle and the fresh schedule share it."""
    return jax.vmap(schedule)(steps)


def test_the_fixture_holds_every_kind():
    assert sorted(PICKLES) == sorted({**SCHEDULES, **STATES})


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_a_1_0_schedule_unpickles_equal(name):
    loaded, fresh = pickle.loads(PICKLES[name]), SCHEDULES[name]
    assert type(loaded) is type(fresh)
    assert loaded == fresh and hash(loaded) == hash(fresh)
    assert repr(loaded) == repr(fresh)
    np.testing.assert_array_equal(_values(loaded, STEPS), _values(fresh, STEPS))


@pytest.mark.parametrize("name", sorted(STATES))
def test_a_1_0_state_unpickles_equal(name):
    loaded, fresh = pickle.loads(PICKLES[name]), STATES[name]
    assert type(loaded) is type(fresh)
    if dataclasses.is_dataclass(fresh):
        for field in dataclasses.fields(fresh):
            chex.assert_trees_all_equal(getattr(loaded, field.name), getattr(fresh, field.name))
    else:
        chex.assert_trees_all_equal(loaded, fresh)
