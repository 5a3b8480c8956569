"""Writes tests/data/pickles_1_0.pkl: one pickle of each kind of jaxsched value, made by 1.0.

Run it against the 1.0 sources (commit 13b8d8d), so that the fixture records what a user's 1.0
pickles hold, whatever the classes look like today::

    git worktree add /tmp/js_base 13b8d8d
    JAX_PLATFORMS=cpu PYTHONPATH=/tmp/js_base .venv/bin/python tests/data/make_pickles.py

`tests/test_pickles.py` builds the same values with today's code (`cases`, below) and checks that
each 1.0 pickle loads equal to it and gives the same values. The file holds a dict
``{name: pickle bytes}``.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxsched as js

FIXTURE = Path(__file__).parent / "pickles_1_0.pkl"


def lifted_fn(t: jax.Array) -> jax.Array:
    """A module-level function, so that `schedule(lifted_fn)` pickles by reference."""
    return 1.0 / (1.0 + t.astype(jnp.float32))


def schedules() -> dict[str, Any]:
    """One schedule of each registered constructor (and the composite ones), built by the
    public API of whichever jaxsched is imported."""
    cos = js.cosine_annealing(0.1, 100, end_value=0.001)
    return {
        "constant": js.constant(0.5),
        "constant_array": js.constant(np.array([0.1, 0.2], np.float32)),
        "linear": js.linear(0.1, 0.01, 50),
        "step_decay": js.step_decay(0.1, 30, gamma=0.5),
        "multistep_decay": js.multistep_decay(0.1, [10, 40, 90], gamma=0.3),
        "exponential_decay": js.exponential_decay(0.1, 0.9, transition_steps=5, staircase=True,
                                                  transition_begin=3, end_value=0.01),
        "polynomial_decay": js.polynomial_decay(0.1, 100, power=2.0, end_value=0.001),
        "inverse_time_decay": js.inverse_time_decay(0.1, 0.5, transition_steps=10),
        "inverse_sqrt": js.inverse_sqrt(0.1, warmup_steps=10, timescale=20),
        "log_annealing": js.log_annealing(0.1, 100, end_value=0.001),
        "tanh_decay": js.tanh_decay(0.1, 100, end_value=0.001, lower=-5.0, upper=2.0),
        "warmup_stable_decay": js.warmup_stable_decay(0.1, 10, 50, 40, init_value=0.001,
                                                      end_value=0.0, shape="sqrt"),
        "cosine_annealing": js.cosine_annealing(0.1, 100, end_value=0.001, k=2.0),
        "sgdr": js.sgdr(0.1, 20, end_value=0.001, cycle_mult=2, cycle_decay=0.5, cycles=4),
        "cyclic": js.cyclic(0.001, 0.1, 10, 20, mode="exp_range", gamma=0.99),
        "one_cycle": js.one_cycle(0.1, 200, pct_start=0.25, anneal="linear", three_phase=True),
        "one_cycle_cos": js.one_cycle(0.1, 200),
        "one_cycle_momentum": js.one_cycle_momentum(200, anneal="cos"),
        "join": js.join([js.linear(0.0, 0.1, 10), cos], boundaries=[10]),
        "piecewise_constant": js.piecewise_constant([10, 50], [0.1, 0.01, 0.001]),
        "piecewise_linear": js.piecewise_linear([0, 10, 100], [0.0, 0.1, 0.001]),
        "warmup": js.warmup(cos, 10, init_value=0.001, shape="cosine", prefix=False),
        "staircase": js.staircase(cos, every=7),
        "repeat": js.repeat(js.linear(0.1, 0.0, 20), period=25, decay=0.5),
        "per_epoch": js.per_epoch(cos, steps_per_epoch=3),
        "clip": js.clip(cos, min_value=0.01, max_value=0.08),
        "lifted": js.schedule(lifted_fn),
        "cooldown": js.cooldown(js.constant(0.1), start=60, steps=30, shape="sqrt",
                                end_value=0.001),
        "shift": js.shift(cos, 15),
        "extend": js.extend(cos, at=50, horizon=200),
        "noise": js.noise(cos, key=3, std=0.1, start=5, end=100, kind="uniform"),
        "noise_key": js.noise(cos, key=jax.random.PRNGKey(7), std=0.05),
        "wsd_cycles": js.wsd_cycles(0.1, [40, 60], decay_steps=10, warmup_steps=5),
        "add": cos + js.constant(0.01),
        "sub": 0.2 - cos,
        "mul": 2 * cos,
        "div": cos / 4.0,
        "pow": cos ** 2,
        "neg": -cos,
        "binary": js.from_config({"kind": "binary", "op": "mul", "left": js.to_config(cos),
                                   "right": 0.5}),
        "stack": js.stack([js.cosine_annealing(0.1, 100), js.cosine_annealing(0.2, 50)]),
        "jax_array": js.cosine_annealing(jnp.asarray(0.1), jnp.asarray(100)),
    }


def states() -> dict[str, Any]:
    """The optax states and the finder's result, which users checkpoint."""
    import optax

    params = {"w": jnp.zeros(2)}
    plateau = js.reduce_on_plateau(patience=2)
    tokens = js.scale_by_schedule(js.constant(0.1), clock="tokens", unit=4)
    steps = js.scale_by_schedule(js.constant(0.1))
    samples = js.scale_by_schedule(js.constant(0.1), clock="samples", unit=2)
    result = js.LRFindResult(lrs=np.geomspace(1e-4, 1.0, 8), losses=np.linspace(2.0, 1.0, 8),
                             smoothed_losses=np.linspace(2.0, 1.1, 8), num_steps=8)
    return {
        "PlateauState": plateau.init(params),
        "TokenClockState": tokens.init(params),
        "StepClockState": steps.init(params),
        "SampleClockState": samples.init(params),
        "adam_with_schedule": optax.adam(js.cosine_annealing(0.1, 100)).init(params),
        "LRFindResult": result,
    }


def main() -> None:
    out = {name: pickle.dumps(x) for name, x in {**schedules(), **states()}.items()}
    FIXTURE.write_bytes(pickle.dumps(out))
    print(f"wrote {len(out)} pickles to {FIXTURE} with jaxsched from {js.__file__}",
          file=sys.stderr)


if __name__ == "__main__":
    # Run as tests.data.make_pickles, so that `lifted_fn` pickles under the name the test
    # imports (the repository root goes last on the path: jaxsched still comes from 1.0).
    sys.path.append(str(Path(__file__).resolve().parents[2]))
    from tests.data import make_pickles

    make_pickles.main()
