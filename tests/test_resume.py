"""Interrupted and restored training continues bit for bit, with schedules and with the plateau.

A run is saved at several points (after steps 1, 7 and 23, the last-but-one step and, for the
plateau, the first step inside a cooldown): the params and optimizer state go to NumPy with
``jax.tree.map(np.asarray, ...)``, through ``np.savez`` to a file and back with ``jnp.asarray``.
The restored run must then equal the uninterrupted one at every following step: params, every
leaf of the optimizer state, the learning rate and the plateau scale, with `assert_array_equal`.
One jitted step per optimizer serves every interrupt point, and it must not be traced again for
a restored state (same dtypes, shapes and weak types).

tests/test_plateau.py::test_save_restore_mid_run_continues_bit_for_bit checks one restore of a
constant-rate Adam + plateau run mid-window (and, next to it, an Orbax checkpoint); this file
generalises it to schedules, to several points, and compares every step rather than the end.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched as js

STEPS = 40
POINTS = (1, 7, 23, STEPS - 1)


def _sgdr():
    schedule = js.sgdr(0.05, cycle_steps=5, cycle_mult=2)  # restarts at steps 5, 15 and 35
    return optax.adam(schedule), schedule, lambda state: state[1].count


def _one_cycle():
    schedule = js.one_cycle(0.05, steps=STEPS)
    opt = optax.chain(optax.scale_by_adam(), optax.scale_by_schedule(schedule), optax.scale(-1.0))
    return opt, schedule, lambda state: state[1].count


def _plateau():
    schedule = js.warmup(js.cosine_annealing(0.3, steps=STEPS), steps=5)
    plateau = js.reduce_on_plateau(factor=0.5, patience=1, threshold=0.01, cooldown=2,
                                   accumulation_steps=3)
    return optax.chain(optax.adam(schedule), plateau), schedule, lambda state: state[0][1].count


CHAINS = {"adam(sgdr)": _sgdr, "scale_by_schedule(one_cycle)": _one_cycle,
          "adam(warmup(cosine)) + plateau": _plateau}


@pytest.fixture
def standard_promotion():
    """optax's Adam traces only under standard dtype promotion (see tests/test_plateau.py)."""
    with jax.numpy_dtype_promotion("standard"):
        yield


def _save_and_restore(tree, path):
    """The tree through NumPy, an .npz file and back to JAX arrays."""
    leaves, treedef = jax.tree.flatten(jax.tree.map(np.asarray, tree))
    np.savez(path, *leaves)
    with np.load(path) as f:
        restored = [jnp.asarray(f[f"arr_{i}"]) for i in range(len(leaves))]
    return jax.tree.unflatten(treedef, restored)


@pytest.mark.parametrize("chain", list(CHAINS))
def test_restored_run_continues_bit_for_bit(chain, standard_promotion, tmp_path):
    opt, schedule, count_of = CHAINS[chain]()
    has_plateau = chain.endswith("plateau")
    kx, kn = jax.random.split(jax.random.key(3))
    x = jax.random.normal(kx, (32, 4))
    y = x @ jnp.arange(4.0) + 0.5 + 0.5 * jax.random.normal(kn, (32,))  # noise: a plateau
    traces = []

    @jax.jit
    def step(params, state):
        traces.append(1)
        lr = schedule(count_of(state))  # the learning rate of this update
        loss, grads = jax.value_and_grad(
            lambda p: jnp.mean((x @ p["w"] + p["b"] - y) ** 2))(params)
        updates, state = opt.update(grads, state, params, value=loss)
        scale = js.plateau_scale(state) if has_plateau else jnp.float32(1.0)
        return optax.apply_updates(params, updates), state, lr, scale

    # The uninterrupted run, every step kept (live arrays for saving, NumPy for comparing).
    params = {"w": jnp.zeros(4), "b": jnp.zeros(())}
    state = opt.init(params)
    live, seen = [(params, state)], [jax.tree.map(np.asarray, (params, state, 0.0, 1.0))]
    for _ in range(STEPS):
        params, state, lr, scale = step(params, state)
        live.append((params, state))
        seen.append(jax.tree.map(np.asarray, (params, state, lr, scale)))

    points = set(POINTS)
    if has_plateau:
        plateau = [s[1][1] for s in seen]
        points.add(next(t for t in range(1, STEPS) if plateau[t].cooldown_count > 0))
        # The points catch the plateau in different situations: at each place in the window,
        # counting bad observations, in a cooldown after a reduction, and before a reduction.
        assert {int(plateau[t].count) for t in points} == {0, 1, 2}
        assert any(plateau[t].wait > 0 for t in points)
        assert any(plateau[t].scale < 1 for t in points)
        assert any(plateau[-1].scale < plateau[t].scale for t in points)
    lrs = [float(s[2]) for s in seen[1:]]
    assert len(set(lrs)) > STEPS // 2  # the learning rate moves at (almost) every step

    for t in sorted(points):
        params, state = _save_and_restore(live[t], tmp_path / f"step{t}.npz")
        assert jax.tree.structure((params, state)) == jax.tree.structure(live[t])
        for got, want in zip(jax.tree.leaves((params, state)), jax.tree.leaves(live[t])):
            assert got.dtype == want.dtype and got.shape == want.shape
            assert got.weak_type == want.weak_type
        for u in range(t + 1, STEPS + 1):
            params, state, lr, scale = step(params, state)
            got = jax.tree.map(np.asarray, (params, state, lr, scale))
            jax.tree.map(
                lambda a, b, u=u: np.testing.assert_array_equal(
                    a, b, err_msg=f"{chain}: restored after step {t}, at step {u}"),
                got, seen[u])
    assert len(traces) == 1  # one compilation for the run and every restored continuation
