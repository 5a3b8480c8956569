"""Eager calls, and schedules as plain values: equality, hashing and pickling by value.

Constructors are called with positional arguments (their keyword names are being renamed).
"""

import copy
import multiprocessing
import pickle
import random

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched as js
from jaxsched import _eager

SCHEDULES = {
    "cosine": lambda: js.cosine_annealing(0.1, 100),
    "warmup_cosine": lambda: js.warmup(js.cosine_annealing(1e-3, 90), 10),
    "sgdr": lambda: js.sgdr(0.1, 7, 0.001, 2),
    "one_cycle": lambda: js.one_cycle(0.1, 100),
    "exp_staircase": lambda: js.exponential_decay(0.1, 0.9, 3, staircase=True),
    "cyclic": lambda: js.cyclic(0.01, 0.1, 5, mode="exp_range", gamma=0.99),
    "join": lambda: js.join([js.linear(0.0, 1.0, 10), js.cosine_annealing(1.0, 20),
                             js.cosine_annealing(0.5, 30)], [10, 30]),
    "piecewise": lambda: js.piecewise_constant([10, 20], [1.0, 0.5, 0.1]),
    "arithmetic": lambda: 2.0 * js.cosine_annealing(0.1, 50) + js.constant(0.01),
}
STEPS = list(range(0, 120, 3)) + [2**31 - 1]


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_eager_values_equal_jitted_values(name):
    """An eager call gives the value a jitted call gives, bit for bit, in any order of steps."""
    s = SCHEDULES[name]()
    jitted = jax.jit(lambda t: s(t))
    expected = {t: np.asarray(jitted(jnp.int32(t))) for t in STEPS}
    scattered = random.Random(0).sample(STEPS, len(STEPS))
    for order in (STEPS, scattered):
        for t in order:
            assert np.asarray(s(t)).tobytes() == expected[t].tobytes(), (name, t)
    for t in (6, np.int32(6), np.int64(6), jnp.int32(6)):  # every kind of integer step
        assert np.asarray(s(t)).tobytes() == expected[6].tobytes(), type(t)
    assert np.asarray(s(2.5)) == np.asarray(jitted(jnp.float32(2.5)))


def test_eager_calls_compile_once_per_schedule_value():
    s = js.cosine_annealing(0.123, 77)
    for t in range(40):
        s(t)
    fn = _eager.compiled(s)
    assert fn._cache_size() == 1  # one compilation serves every Python-int step
    again = js.cosine_annealing(0.123, 77)  # an equal schedule, built again: the same function
    again(5)
    assert _eager.compiled(again) is fn and fn._cache_size() == 1
    assert _eager.compiled(js.cosine_annealing(0.124, 77)) is not fn


def _called(s):
    """The schedule after eager calls of every kind: the state that used to break pickling."""
    for t in (0, 1, 2, 3, 4, 5, 6, 7, 2.5, np.int32(3), np.arange(4)):
        s(t)
    return s


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_pickle_round_trip_after_eager_calls(name):
    s = _called(SCHEDULES[name]())
    back = pickle.loads(pickle.dumps(s))
    assert back == s and hash(back) == hash(s) and repr(back) == repr(s)
    np.testing.assert_array_equal(np.asarray(back(np.arange(40))), np.asarray(s(np.arange(40))))
    # What was computed or compiled on the side leaves no trace: same bytes as a fresh one.
    assert pickle.dumps(s) == pickle.dumps(SCHEDULES[name]())
    assert copy.deepcopy(s) == s and copy.copy(s) == s


def test_pickle_after_optax_init_and_eager_update():
    s = js.cosine_annealing(0.1, 100)
    params, grads = {"w": jnp.zeros(3)}, {"w": jnp.ones(3)}
    injected = optax.inject_hyperparams(optax.sgd)(learning_rate=s, momentum=0.9)
    state = injected.init(params)  # calls the schedule eagerly
    pickle.dumps(s)
    _, state = injected.update(grads, state, params)
    plain = optax.sgd(s, momentum=0.9)
    _, plain_state = plain.update(grads, plain.init(params), params)
    assert pickle.loads(pickle.dumps(s)) == s
    for st in (state, plain_state):
        jax.tree.map(np.testing.assert_array_equal, pickle.loads(pickle.dumps(st)), st)


def test_schedules_travel_to_a_spawned_process():
    s = _called(js.warmup(js.cosine_annealing(0.1, 90), 10))
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        values = pool.starmap(js.Schedule.__call__, [(s, 5), (s, 50)])
    assert [float(v) for v in values] == [float(s(5)), float(s(50))]


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_equal_by_value_with_equal_hashes(name):
    a, b = SCHEDULES[name](), _called(SCHEDULES[name]())
    assert a == b and not (a != b) and hash(a) == hash(b)
    assert len({a, b}) == 1 and {a: 1}[b] == 1


@pytest.mark.parametrize("a, b", [
    (js.cosine_annealing(0.1, 100), js.cosine_annealing(0.2, 100)),  # a value
    (js.constant(1), js.constant(1.0)),  # Python numbers by type: int vs float arithmetic
    (js.cosine_annealing(0.1, 100), js.log_annealing(0.1, 100)),  # the kind
    (js.cyclic(0.01, 0.1, 5), js.cyclic(0.01, 0.1, 5, mode="triangular2")),  # a static field
    (js.piecewise_constant([10, 20], [1.0, 0.5, 0.1]),
     js.piecewise_constant([10, 20], [1.0, 0.5, 0.2])),  # arrays, by value
    (js.piecewise_constant([10, 20], np.array([1.0, 0.5, 0.1])),
     js.piecewise_constant([10, 20], np.array([1.0, 0.5, 0.1], np.float32))),  # by dtype
    (js.cosine_annealing(jnp.float32(0.1), 100), js.cosine_annealing(0.1, 100)),
])
def test_unequal_schedules(a, b):
    assert a != b and not (a == b)
    assert a == copy.deepcopy(a)


def test_arrays_compare_by_value():
    a = js.piecewise_constant([10, 20], np.array([1.0, 0.5, 0.1], np.float32))
    b = js.piecewise_constant([10, 20], jnp.asarray([1.0, 0.5, 0.1], jnp.float32))
    c = js.piecewise_constant(np.array([10, 20]), [1.0, 0.5, 0.1])
    assert a == b and hash(a) == hash(b)
    assert c == js.piecewise_constant([10, 20], [1.0, 0.5, 0.1])
    assert js.cosine_annealing(0.1, 100) != 0.1 and js.cosine_annealing(0.1, 100) != "x"


def test_equal_schedules_trace_once_as_a_static_argument():
    traces = []

    def f(schedule, step):
        traces.append(schedule)
        return schedule(step)

    g = jax.jit(f, static_argnums=0)
    first = g(js.warmup(js.cosine_annealing(0.1, 90), 10), 3)
    again = g(js.warmup(js.cosine_annealing(0.1, 90), 10), 3)
    assert len(traces) == 1 and float(first) == float(again)
    g(js.warmup(js.cosine_annealing(0.2, 90), 10), 3)
    assert len(traces) == 2


def test_traced_schedules_equal_only_themselves():
    @jax.jit
    def f(peak):
        a, b = js.cosine_annealing(peak, 100), js.cosine_annealing(peak, 100)
        assert a == a and a != b and hash(a) != hash(b) and len({a, b}) == 2
        return a(10)

    np.testing.assert_allclose(float(f(0.1)), float(js.cosine_annealing(0.1, 100)(10)),
                               rtol=1e-6)
