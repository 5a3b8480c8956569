"""Writes tests/golden/codebases.json: the schedules of eight JAX / TensorFlow / PyTorch training
codebases, each computed as its upstream computes it, for the rows of docs/migration.md.

    .venv/bin/python tests/golden/generate_codebases.py

Sources (read in each project's repository at the commit named; the formulas are transcribed
into plain float64 Python here, step clamps and offsets included, because the projects need
TensorFlow, PyTorch or a TPU stack to import; jaxsched is not imported):

* praxis: ``praxis/schedules.py``, google/praxis@feeaff19915ca9c3de8b372b7427d15c81f0d757;
* TF Model Garden: ``official/modeling/optimization/lr_schedule.py``, read in the mirror
  sarvex/tensorflow-models@4ab50d855216c009b63f19d02d17e522e5d22a8a (tensorflow/models is too
  large to fetch here), and the Keras schedules its ``*WithOffset`` classes wrap
  (``PiecewiseConstantDecay``, ``PolynomialDecay``, ``ExponentialDecay``, ``CosineDecay``);
* scenic: ``scenic/train_lib/lr_schedules.py`` ``compound_lr_scheduler``,
  google-research/scenic@4a38d475ee89cb821078c0e2bf2065ee030e1535;
* big_vision: ``big_vision/utils.py`` ``create_learning_rate_schedule``,
  google-research/big_vision@0127fb6b337ee2a27bf4e54dea79cff176527356;
* levanter: ``src/levanter/optim/config.py`` ``OptimizerConfig.lr_scheduler`` and its
  ``LrSchedule`` classes, stanford-crfm/levanter@9263f81e8b453241332c2c0b2d2001bfb2d2241c, with
  optax's ``linear_schedule``, ``cosine_decay_schedule`` (``exponent``), ``constant_schedule`` and
  ``join_schedules`` (its last boundary unused) as optax 0.2 computes them;
* MaxText: ``src/maxtext/utils/maxtext_utils.py`` ``create_learning_rate_schedule`` (config
  keys in ``src/maxtext/configs/base.yml``),
  AI-Hypercomputer/maxtext@e591f30cbbf217ed67ef71263ec0538239f9c3b8;
* OLMo-core: ``src/olmo_core/optim/scheduler.py`` (``get_lr(initial_lr, current, t_max)``) and
  ``src/olmo_core/train/trainer.py`` (``global_step += 1`` before each batch: the rate of
  optimizer update ``t`` is ``get_lr(..., current=t + 1, ...)``),
  allenai/OLMo-core@fa6c5014c9f6e9ee789da2d9c20d5126fee8df0d;
* Megatron-LM: ``megatron/core/optimizer_param_scheduler.py`` ``OptimizerParamScheduler.get_lr``
  and ``get_wd`` (iteration-based training: the scheduler counts ``num_steps`` in samples of a
  fixed global batch, so iteration ``t`` is ``num_steps = t * global_batch_size`` against lengths
  in the same unit; the rate of update ``t`` is set after ``t`` steps),
  NVIDIA/Megatron-LM@934c8260ada361db9b155d504c5b20600731d773;
* Keras's ``CosineDecayRestarts`` with ``alpha > 0`` (the Keras table's row):
  ``keras/src/optimizers/schedules/learning_rate_schedule.py``,
  keras-team/keras@5d24952b083cb11f87abadacc886ddb3bdb63a03.

Each case is ``{"id", "codebase", "row", "expression", "params", "steps", "values", "note"}``:
``row`` is the upstream class or option as docs/migration.md names it, ``expression`` the
jaxsched expression of that row exactly as the page writes it (evaluated by
`tests/test_golden_codebases.py` with ``params`` as its variables and ``js`` the package), and
``values`` the upstream's learning rate at ``steps`` (optimizer updates from 0). Where the upstream
is undefined or diverges from the row past some step (a negative factor after the end of
training, a division by zero), ``steps`` stop there and ``note`` says why.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

# optax 0.2's linear_schedule, cosine_decay_schedule (exponent) and join_schedules, in float64
# Python (shared with the horizon cases; this script runs from its folder).
from generate_horizon import optax_cosine, optax_join, optax_linear

OUT = Path(__file__).with_name("codebases.json")
CASES: list[dict] = []
REPOS = {
    "praxis": "google/praxis@feeaff19915ca9c3de8b372b7427d15c81f0d757",
    "tf": "sarvex/tensorflow-models@4ab50d855216c009b63f19d02d17e522e5d22a8a",
    "scenic": "google-research/scenic@4a38d475ee89cb821078c0e2bf2065ee030e1535",
    "big_vision": "google-research/big_vision@0127fb6b337ee2a27bf4e54dea79cff176527356",
    "levanter": "stanford-crfm/levanter@9263f81e8b453241332c2c0b2d2001bfb2d2241c",
    "maxtext": "AI-Hypercomputer/maxtext@e591f30cbbf217ed67ef71263ec0538239f9c3b8",
    "olmo": "allenai/OLMo-core@fa6c5014c9f6e9ee789da2d9c20d5126fee8df0d",
    "megatron": "NVIDIA/Megatron-LM@934c8260ada361db9b155d504c5b20600731d773",
    "keras": "keras-team/keras@5d24952b083cb11f87abadacc886ddb3bdb63a03",
}


def steps_for(end: int, *points: float, stride: int = 1, past: int = 25) -> list[int]:
    """Every `stride`-th step up to `end`, each point and its neighbours, and (unless `past` is 0)
    two steps past `end`."""
    chosen = set(range(0, end + 1, stride)) | {0, 1, 2, end - 1, end}
    chosen |= {end + 1, end + past} if past else set()
    for p in points:
        chosen |= {math.floor(p) - 1, math.floor(p), math.floor(p) + 1, math.ceil(p)}
    return sorted(s for s in chosen if 0 <= s <= end + past)


def add(codebase, row, expression, params, fn, steps, note=""):
    case_id = f"{codebase}-{len([c for c in CASES if c['codebase'] == codebase]):02d}"
    values = [float(fn(t)) for t in steps]
    assert all(math.isfinite(v) for v in values), (case_id, row)
    CASES.append({"id": case_id, "codebase": codebase, "source": REPOS[codebase], "row": row,
                  "expression": expression, "params": params, "steps": list(steps),
                  "values": values, "note": note})


# -- shared upstream pieces -----------------------------------------------------------------------


def keras_polynomial(init, decay_steps, end=1e-4, power=1.0):
    def fn(step):
        p = min(step, decay_steps) / decay_steps
        return (init - end) * (1 - p) ** power + end
    return fn


def keras_exponential(init, decay_steps, rate, staircase=False):
    def fn(step):
        p = step / decay_steps
        return init * rate ** (math.floor(p) if staircase else p)
    return fn


def keras_cosine(init, decay_steps, alpha=0.0):
    def fn(step):
        step = min(step, decay_steps)
        return init * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * step / decay_steps)) + alpha)
    return fn


def keras_piecewise(boundaries, values):
    def fn(step):  # x <= b_0: v_0; b_{i-1} < x <= b_i: v_i; x > b_last: v_last
        for b, v in zip(boundaries, values):
            if step <= b:
                return v
        return values[-1]
    return fn


# -- praxis ---------------------------------------------------------------------------------------


def praxis_polynomial(power, start, limit, origin):
    (x0, y0), (x1, y1) = start, limit

    def fn(x):
        ratio = (x - x0) / (x1 - x0)
        f = ratio**power if origin == "start" else 1 - (1 - ratio) ** power
        return y0 if x < x0 else (y1 if x >= x1 else y0 + f * (y1 - y0))
    return fn


def praxis_exponential(start, limit):
    (x0, y0), (x1, y1) = start, limit
    lin = praxis_polynomial(1, (x0, math.log(y0)), (x1, math.log(y1)), "start")
    return lambda x: math.exp(lin(x))


def praxis_delayed_cosine(start, limit):
    (x0, y0), (x1, y1) = start, limit
    lin = praxis_polynomial(1, (x0, 0.0), (x1, math.pi), "start")
    return lambda x: y1 + 0.5 * (y0 - y1) * (1 + math.cos(lin(x)))


def praxis_piecewise_constant(boundaries, values):
    def fn(step):
        v = 0.0
        for threshold, value in zip(boundaries, values):
            indicator = max(0.0, math.copysign(1.0, threshold - step) if threshold != step else 0)
            v = v if v > 0 else indicator * value
        indicator = max(0.0, math.copysign(1.0, 1 + step - boundaries[-1])
                        if 1 + step != boundaries[-1] else 0)
        return v if v > 0 else indicator * values[-1]
    return fn


def praxis_rampup(warmup_steps, decay_start, decay_end, peak, last):
    """LinearRampup{Cosine,Exponential,Polynomial}Decay's join of pieces."""
    pieces, boundaries = [], []
    if warmup_steps > 0:
        pieces.append(praxis_polynomial(1, (0, 0.0), (warmup_steps, peak), "start"))
        boundaries.append(warmup_steps)
    if decay_start > warmup_steps:
        pieces.append(praxis_polynomial(1, (0, peak), (decay_start - warmup_steps, peak), "start"))
        boundaries.append(decay_start)
    pieces.append(last)
    return optax_join(pieces, boundaries)


def praxis_cases():
    add("praxis", "Constant", "js.constant(value)", {"value": 0.3}, lambda t: 0.3,
        steps_for(10))
    for start, limit, power in [((10, 0.1), (50, 1.0), 3), ((5, 1.0), (45, 0.2), 2)]:
        p = {"power": power, "x0": start[0], "y0": start[1], "x1": limit[0], "y1": limit[1]}
        add("praxis", 'Polynomial(power, start=(x0, y0), limit=(x1, y1), origin="start")',
            'js.shift(js.warmup(js.constant(y1), x1 - x0, init_value=y0, shape="power", '
            'power=power), -x0)', p, praxis_polynomial(power, start, limit, "start"),
            steps_for(limit[0], start[0]))
        add("praxis", 'Polynomial(power, start=(x0, y0), limit=(x1, y1), origin="limit")',
            'js.cooldown(js.constant(y0), start=x0, steps=x1 - x0, shape="power", '
            'end_value=y1, power=power)', p, praxis_polynomial(power, start, limit, "limit"),
            steps_for(limit[0], start[0]))
    p = {"x0": 8, "y0": 0.5, "x1": 40, "y1": 0.05}
    add("praxis", "Linear(start=(x0, y0), limit=(x1, y1))",
        "js.shift(js.linear(y0, y1, x1 - x0), -x0)", p,
        praxis_polynomial(1, (8, 0.5), (40, 0.05), "start"), steps_for(40, 8))
    add("praxis", "Exponential(start=(x0, y0), limit=(x1, y1))",
        'js.cooldown(js.constant(y0), start=x0, steps=x1 - x0, shape="exponential", '
        'end_value=y1)', p, praxis_exponential((8, 0.5), (40, 0.05)), steps_for(40, 8))
    add("praxis", "DelayedCosine(start=(x0, y0), limit=(x1, y1))",
        "js.shift(js.cosine_annealing(y0, x1 - x0, end_value=y1), -x0)", p,
        praxis_delayed_cosine((8, 0.5), (40, 0.05)), steps_for(40, 8))
    p = {"initial_value": 1.0, "final_value": 0.1, "total_steps": 60}

    def cosine(t):
        return 0.1 + 0.5 * 0.9 * (1 + math.cos(math.pi * min(1.0, t / 60)))
    add("praxis", "Cosine(initial_value, final_value, total_steps)",
        "js.cosine_annealing(initial_value, total_steps, end_value=final_value)", p, cosine,
        steps_for(60, stride=3))
    rampup = {"warmup_steps": 10, "decay_start": 25, "decay_end": 75, "min_ratio": 0.05,
              "max": 2e-3}
    add("praxis", "LinearRampupPolynomialDecay(warmup_steps, decay_start, decay_end, power, "
        "min_ratio, max)",
        "js.join([js.linear(0.0, max, warmup_steps), js.constant(max), js.warmup(js.constant("
        "max * min_ratio), decay_end - decay_start, init_value=max, shape=\"power\", "
        "power=power)], boundaries=[warmup_steps, decay_start])", {**rampup, "power": 2},
        praxis_rampup(10, 25, 75, 2e-3, praxis_polynomial(2, (0, 2e-3), (50, 1e-4), "start")),
        steps_for(75, 10, 25, stride=2))
    add("praxis", "LinearRampupExponentialDecay(warmup_steps, decay_start, decay_end, "
        "min_ratio, max)",
        "js.join([js.linear(0.0, max, warmup_steps), js.constant(max), js.cooldown(js.constant("
        "max), start=0, steps=decay_end - decay_start, shape=\"exponential\", end_value=max * "
        "min_ratio)], boundaries=[warmup_steps, decay_start])", rampup,
        praxis_rampup(10, 25, 75, 2e-3, praxis_exponential((0, 2e-3), (50, 1e-4))),
        steps_for(75, 10, 25, stride=2))
    cos = praxis_delayed_cosine((0, 2e-3), (50, 1e-4))
    start_step = 12
    inner = praxis_rampup(10, 25, 75, 2e-3, cos)
    # LinearRampupCosineDecay puts Linear((0, 1.0), (start_step, 1.0)) before the warmup.
    add("praxis", "LinearRampupCosineDecay(start_step, warmup_steps, decay_start, decay_end, "
        "min_ratio, max)",
        "js.join([js.constant(1.0), js.linear(0.0, max, warmup_steps), js.constant(max), "
        "js.cosine_annealing(max, decay_end - decay_start, end_value=max * min_ratio)], "
        "boundaries=[start_step, start_step + warmup_steps, start_step + decay_start])",
        {**rampup, "start_step": start_step},
        lambda t: 1.0 if t < start_step else inner(t - start_step),
        steps_for(90, 12, 22, 37, stride=2))
    p = {"boundaries": [10, 30, 30, 45], "values": [1.0, 0.5, 0.3, 0.2, 0.05]}
    add("praxis", "PiecewiseConstant(boundaries, values)",
        "js.piecewise_constant(boundaries, values)", p,
        praxis_piecewise_constant(p["boundaries"], p["values"]), steps_for(45, 10, 30))
    for decay_end in (None, 30):
        p = {"warmup_steps": 8, "model_dim": 64, "worker_replicas": 2, "decay_end": decay_end}

        def transformer(t, de=decay_end):
            c = t if de is None or t < de else de
            w = 8 * 2
            return 64**-0.5 * min((c + 1) * w**-1.5, (c + 1) ** -0.5)
        add("praxis", "Transformer(warmup_steps, model_dim, worker_replicas, decay_end)",
            "js.hold(js.shift(js.inverse_sqrt((model_dim * warmup_steps * worker_replicas) ** "
            "-0.5, warmup_steps=warmup_steps * worker_replicas), 1), end=decay_end)", p,
            transformer, steps_for(40, 15, 16, 30) + [10**5, 2**31 - 2])
    p = {"decay_start": 20, "multiplier": 3.0, "offset": 5.0}
    add("praxis", "SqrtDecay(decay_start, multiplier, offset)",
        "js.shift(js.power_decay(multiplier * decay_start ** -0.5, 0.5, timescale=decay_start), "
        "-(offset + decay_start))", p,
        lambda t: 3.0 / math.sqrt(max(t - 5.0, 20)), steps_for(60, 25) + [10**6, 2**31 - 1])
    p = {"peak": 1e-3, "warmup_steps": 16}
    add("praxis", "LinearRampupSqrtDecay(peak, warmup_steps)",
        "js.hold(js.inverse_sqrt(peak, warmup_steps=warmup_steps), start=1)", p,
        lambda t: 1e-3 * min(max(t, 1) / 16, math.sqrt(16 / max(t, 1))),
        steps_for(50, 16) + [10**6])
    p = {"boundaries": [10, 25, 40], "values": [1.0, 0.4, 0.1]}
    ramp = praxis_polynomial(1, (0, 0.0), (10, 1.0), "start")
    rest = praxis_piecewise_constant([15, 30], [1.0, 0.4, 0.1])
    add("praxis", "LinearRampupPiecewiseConstant(boundaries, values)",
        "js.warmup(js.piecewise_constant(boundaries[1:], values), boundaries[0], prefix=False)",
        p, optax_join([ramp, rest], [10]), steps_for(40, 10, 25))
    first = praxis_polynomial(1, (0, 0.0), (10, 1.0), "start")
    second = praxis_delayed_cosine((0, 1.0), (30, 0.1))
    add("praxis", "PiecewiseSchedule(boundaries, schedules)",
        "js.join([js.linear(0.0, 1.0, 10), js.cosine_annealing(1.0, 30, end_value=0.1)], "
        "boundaries=[10])", {}, optax_join([first, second], [10]), steps_for(40, 10))
    high = praxis_polynomial(1, (0, 1.0), (100, 0.0), "start")
    low = praxis_exponential((0, 0.2), (100, 0.01))
    steps_each = [5, 3]

    def cycle(t):
        return high(t) if t % 8 < 5 else low(t)
    add("praxis", "CycleSchedule(schedules, steps)",
        "js.interleave([js.linear(1.0, 0.0, 100), js.cooldown(js.constant(0.2), start=0, "
        "steps=100, shape=\"exponential\", end_value=0.01)], boundaries=[steps[0]], "
        "period=sum(steps))", {"steps": steps_each}, cycle, steps_for(100, stride=1))
    p = {"initial_value": 2.0, "start_step": 30, "half_life_steps": 10, "min": 0.05}
    x1 = 30 + 10 * math.log(0.05) / math.log(0.5)
    exp = praxis_exponential((30, 1.0), (x1, 0.05))
    add("praxis", "ContinuousSchedule(initial_value, start_step, half_life_steps, min)",
        "js.exponential_decay(initial_value, 0.5, transition_steps=half_life_steps, "
        "transition_begin=start_step, end_value=initial_value * min)", p,
        lambda t: 2.0 * exp(t), steps_for(90, 30, x1))


# -- TF Model Garden ------------------------------------------------------------------------------


def tf_cases():
    keras = keras_polynomial(1e-3, 100, end=1e-5, power=2.0)
    p = {"warmup_steps": 10, "warmup_learning_rate": 1e-5, "decay_steps": 100,
         "end_learning_rate": 1e-5, "power": 2.0, "initial_learning_rate": 1e-3}

    def linear_warmup(t, after=keras):
        final = after(10)
        return 1e-5 + t / 10 * (final - 1e-5) if t < 10 else after(t)
    add("tf", "LinearWarmup(after_warmup_lr_sched, warmup_steps, warmup_learning_rate)",
        "js.warmup(js.polynomial_decay(initial_learning_rate, decay_steps, power=power, "
        "end_value=end_learning_rate), warmup_steps, init_value=warmup_learning_rate, "
        "prefix=False)", p, linear_warmup, steps_for(100, 10, stride=2))

    def poly_warmup(t, after=keras, w=10, q=2.0):
        done = max(t, 1.0) / w
        return after(w) * done**q if t < w else after(t)
    add("tf", "PolynomialWarmUp(after_warmup_lr_sched, warmup_steps, power)",
        "js.hold(js.warmup(js.polynomial_decay(initial_learning_rate, decay_steps, power=power, "
        "end_value=end_learning_rate), warmup_steps, shape=\"power\", power=power, "
        "prefix=False), start=1)", p, poly_warmup, steps_for(100, 10, stride=2))
    for power in (-0.5, 1.0):
        add("tf", "DirectPowerDecay(initial_learning_rate, power)",
            "js.shift(js.power_decay(initial_learning_rate, -power), -1)",
            {"initial_learning_rate": 0.01, "power": power},
            lambda t, q=power: 0.01 * max(t, 1.0) ** q, steps_for(30) + [10**6, 2**31 - 1])
    p = {"initial_learning_rate": 0.05, "total_decay_steps": 100, "power": -0.5,
         "linear_decay_fraction": 0.1, "offset": 20}

    def power_and_linear(t):
        step = t - 20
        lr = 0.05 * max(step, 1.0) ** -0.5
        lr *= min(1.0, (100 - step) / (100 * 0.1))
        return max(0.0, lr)
    add("tf", "PowerAndLinearDecay(initial_learning_rate, total_decay_steps, power, "
        "linear_decay_fraction, offset)",
        "js.shift(js.power_decay(initial_learning_rate, -power), -(offset + 1)) * js.shift("
        "js.clip(js.linear(1 / linear_decay_fraction, 0.0, total_decay_steps), max_value=1.0), "
        "-offset)", p, power_and_linear, steps_for(120, 20, 110, stride=3))
    p = {"initial_learning_rate": 0.05, "power": -0.5, "offset": 15,
         "pre_offset_learning_rate": 0.02}

    def power_with_offset(t):
        after = max(t - 15, 1.0) ** -0.5 * 0.05
        sign = 1.0 if t > 15 else 0.0
        return min((1 - sign) * 0.02 + sign * after, 0.02)
    add("tf", "PowerDecayWithOffset(initial_learning_rate, power, offset, "
        "pre_offset_learning_rate)",
        "js.clip(js.join([js.constant(pre_offset_learning_rate), js.power_decay("
        "initial_learning_rate, -power)], boundaries=[offset + 1]), "
        "max_value=pre_offset_learning_rate)", p, power_with_offset, steps_for(40, 15, 21))
    p = {"boundaries": [0, 40, 100], "values": [1.0, 0.5, 0.2], "offset": 10}

    def step_cosine(t):
        g = t - 10
        lr = (1.0 - 0.5) * (math.cos(math.pi * g / 40) + 1) / 2 + 0.5  # level 0: 40 steps
        if g >= 40:  # level 1, from boundaries[1], over boundaries[2] - boundaries[1]
            lr = (0.5 - 0.2) * (math.cos(math.pi * (g - 40) / 60) + 1) / 2 + 0.2
        return lr  # from g >= 100 the last level divides by a zero length: NaN
    add("tf", "StepCosineDecayWithOffset(boundaries, values, offset)",
        "js.shift(js.join([js.cosine_annealing(values[0], boundaries[1], end_value=values[1]), "
        "js.cosine_annealing(values[1], boundaries[2] - boundaries[1], end_value=values[2])], "
        "boundaries=boundaries[1:2]), -offset)", p, step_cosine,
        [s for s in steps_for(109, 10, 50) if 10 <= s < 110],
        note="From step offset to offset + boundaries[-1]: before offset TF evaluates the first "
        "cosine at a negative step, and its last level divides by a zero length (NaN).")
    p = {"boundaries": [10, 30], "values": [1.0, 0.5, 0.1], "offset": 5}
    pc = keras_piecewise([10, 30], [1.0, 0.5, 0.1])
    add("tf", "PiecewiseConstantDecayWithOffset(boundaries, values, offset)",
        "js.shift(js.piecewise_constant([b + 1 for b in boundaries], values), -offset)", p,
        lambda t: pc(t - 5), steps_for(40, 15, 35))
    p = {"initial_learning_rate": 1.0, "decay_steps": 50, "end_learning_rate": 0.01,
         "power": 0.5, "offset": 7}
    poly = keras_polynomial(1.0, 50, end=0.01, power=0.5)
    add("tf", "PolynomialDecayWithOffset(initial_learning_rate, decay_steps, end_learning_rate, "
        "power, offset)",
        "js.shift(js.polynomial_decay(initial_learning_rate, decay_steps, power=power, "
        "end_value=end_learning_rate), -offset)", p, lambda t: poly(t - 7),
        [s for s in steps_for(57, 7) if s >= 7], note="From step offset on: before it Keras's "
        "PolynomialDecay at a negative step rises above initial_learning_rate.")
    p = {"initial_learning_rate": 1.0, "decay_steps": 10, "decay_rate": 0.7, "staircase": True,
         "offset": 4}
    ex = keras_exponential(1.0, 10, 0.7, staircase=True)
    add("tf", "ExponentialDecayWithOffset(initial_learning_rate, decay_steps, decay_rate, "
        "staircase, offset)",
        "js.shift(js.exponential_decay(initial_learning_rate, decay_rate, "
        "transition_steps=decay_steps, staircase=staircase), -offset)", p,
        lambda t: ex(t - 4), [s for s in steps_for(60, 14, 24) if s >= 4],
        note="From step offset on (Keras extrapolates before it).")
    p = {"initial_learning_rate": 0.1, "decay_steps": 40, "alpha": 0.1, "offset": 12}
    co = keras_cosine(0.1, 40, alpha=0.1)
    add("tf", "CosineDecayWithOffset(initial_learning_rate, decay_steps, alpha, offset)",
        "js.shift(js.cosine_annealing(initial_learning_rate, decay_steps, end_value=alpha * "
        "initial_learning_rate), -offset)", p, lambda t: co(t - 12),
        [s for s in steps_for(52, 12) if s >= 12],
        note="From step offset on (Keras extrapolates before it).")


# -- scenic ---------------------------------------------------------------------------------------


def scenic_factor(name, c, step, ratio):
    """One factor of ``compound_lr_scheduler``'s loop, applied to the running ratio."""
    if name == "constant":
        return ratio * c["base_learning_rate"]
    if name == "polynomial":
        decay = step <= c["decay_steps"]
        return ratio * ((1 - c["end_factor"]) * (decay * (1 - step / c["decay_steps"]))
                        ** c["power"] + c["end_factor"])
    if name == "piecewise_constant":
        index = sum(b < step for b in c["decay_events"])
        return ratio * ([1.0] + c["decay_factors"])[index]
    if name == "piecewise_linear":
        bounds = [0] + c["decay_events"] + [step]
        factors = [1.0] + c["decay_factors"] + [c["decay_factors"][-1]]
        index = sum(b < step for b in bounds[1:])
        m, n = factors[index + 1] - factors[index], bounds[index + 1] - bounds[index]
        return ratio * (m / max(n, 1) * (step - bounds[index]) + factors[index])
    if name == "linear_warmup":
        w, alpha = c["warmup_steps"], c.get("warmup_alpha", 0)
        return ratio * (min(1.0, alpha + step * (1.0 - alpha) / w) if w > 0 else 1.0)
    if name == "rsqrt_decay":
        w, ts = c.get("warmup_steps", 0.0), c.get("timescale", 10_000)
        return ratio * (math.sqrt(ts) / math.sqrt(step + ts - w) if w < step else 1.0)
    if name == "decay_every":
        return ratio * c["decay_factor"] ** (step // c["steps_per_decay"])
    if name == "exponential_decay":
        p = step / float(c["decay_steps"])
        return ratio * c["decay_rate"] ** (math.floor(p) if c.get("staircase") else p)
    if name == "cosine_decay":
        return ratio * scenic_cosine(c, step)
    if name == "linear_decay":
        w, total, end = c.get("warmup_steps", 0.0), c["total_steps"], c.get(
            "end_learning_rate", 0.0)
        progress = max(0.0, (step - w) / float(total - w))
        return (ratio - end) * max(1.0 - progress, 0.0) + end
    if name == "linear_cooldown":
        adjusted = max(step, c.get("warmup_steps", 0.0))
        return ratio * min(1.0, (c["total_steps"] - adjusted) / c["cooldown_steps"])
    raise KeyError(name)


def scenic_cosine(c, step):
    spc, t_mul, m_mul = c["steps_per_cycle"], c.get("t_mul", 1.0), c.get("m_mul", 1.0)
    alpha, w = c.get("alpha", 0.0), c.get("warmup_steps", 0.0)
    adjusted = max(0.0, step - (w + c.get("start_decay_step", 0.0)))
    total = c.get("total_steps", spc)
    spc = spc - int(w / (total / spc))
    if spc <= 0:
        return 1.0
    progress = adjusted / float(spc)
    if t_mul == 1.0:
        i_restart = math.floor(progress)
        progress -= i_restart
    else:
        i_restart = math.floor(math.log(1.0 - progress * (1.0 - t_mul)) / math.log(t_mul))
        sum_r = (1.0 - t_mul**i_restart) / (1.0 - t_mul)
        progress = (progress - sum_r) / t_mul**i_restart
    cosine = max(0.0, 0.5 * m_mul**i_restart * (1.0 + math.cos(math.pi * (progress % 1.0))))
    return (1 - alpha) * cosine + alpha


def scenic(factors, config):
    names = [n.strip() for n in factors.split("*")]

    def fn(step):
        ratio = 1.0
        for name in names:
            ratio = scenic_factor(name, config, step, ratio)
        return ratio
    return fn


def scenic_cases():
    def one(row, expression, factors, c, steps, note=""):
        add("scenic", row, expression, c, scenic(factors, c), steps, note)

    one("constant", "js.constant(base_learning_rate)", "constant",
        {"base_learning_rate": 0.1}, steps_for(5))
    one("polynomial", "js.polynomial_decay(1.0, decay_steps, power=power, end_value=end_factor)",
        "polynomial", {"decay_steps": 40, "end_factor": 0.05, "power": 2}, steps_for(40))
    one("piecewise_constant",
        "js.piecewise_constant([b + 1 for b in decay_events], [1.0] + decay_factors)",
        "piecewise_constant", {"decay_events": [10, 25], "decay_factors": [0.5, 0.1]},
        steps_for(30, 10, 25))
    one("piecewise_linear", "js.piecewise_linear([0] + decay_events, [1.0] + decay_factors)",
        "piecewise_linear", {"decay_events": [10, 25], "decay_factors": [0.5, 0.1]},
        steps_for(30, 10, 25))
    one("linear_warmup", "js.warmup(js.constant(1.0), warmup_steps, init_value=warmup_alpha)",
        "linear_warmup", {"warmup_steps": 12, "warmup_alpha": 0.1}, steps_for(15, 12))
    one("rsqrt_decay", "js.shift(js.inverse_sqrt(1.0, timescale=timescale), -warmup_steps)",
        "rsqrt_decay", {"warmup_steps": 10, "timescale": 25}, steps_for(60, 10) + [10**6])
    one("decay_every", "js.step_decay(1.0, every=steps_per_decay, gamma=decay_factor)",
        "decay_every", {"steps_per_decay": 7, "decay_factor": 0.5}, steps_for(30, 7, 14))
    for staircase in (False, True):
        one("exponential_decay", "js.exponential_decay(1.0, decay_rate, "
            "transition_steps=decay_steps, staircase=staircase)", "exponential_decay",
            {"decay_steps": 10, "decay_rate": 0.8, "staircase": staircase}, steps_for(40, 10))
    cosine = ("js.shift(alpha + (1 - alpha) * js.sgdr(1.0, cycle_steps=steps_per_cycle - int("
              "warmup_steps / (total_steps / steps_per_cycle)), cycle_mult=t_mul, "
              "cycle_decay=m_mul), -(warmup_steps + start_decay_step))")
    for t_mul, m_mul in [(1.0, 0.5), (2.0, 0.8)]:
        one("cosine_decay", cosine, "cosine_decay",
            {"steps_per_cycle": 30, "t_mul": t_mul, "m_mul": m_mul, "alpha": 0.1,
             "warmup_steps": 6, "start_decay_step": 4, "total_steps": 60},
            steps_for(160, 10, 34, 58, 82, 106))
    one("constant * linear_warmup * linear_decay",
        "js.warmup(js.linear(base_learning_rate, end_learning_rate, total_steps - "
        "warmup_steps), warmup_steps, init_value=base_learning_rate * warmup_alpha)",
        "constant * linear_warmup * linear_decay",
        {"base_learning_rate": 0.2, "warmup_steps": 8, "warmup_alpha": 0.0, "total_steps": 50,
         "end_learning_rate": 0.01}, steps_for(50, 8))
    one("constant * linear_warmup * rsqrt_decay * linear_cooldown",
        "js.cooldown(base_learning_rate * js.warmup(js.constant(1.0), warmup_steps, "
        "init_value=warmup_alpha) * js.shift(js.inverse_sqrt(1.0, timescale=timescale), "
        "-warmup_steps), start=total_steps - cooldown_steps, steps=cooldown_steps)",
        "constant * linear_warmup * rsqrt_decay * linear_cooldown",
        {"base_learning_rate": 0.5, "warmup_steps": 10, "warmup_alpha": 0.0, "timescale": 20,
         "total_steps": 80, "cooldown_steps": 15}, steps_for(80, 10, 65, past=0),
        note="Up to total_steps: after it scenic's linear_cooldown factor turns negative.")


# -- big_vision -----------------------------------------------------------------------------------


def big_vision(total_steps, base=1.0, decay_type="stair", warmup_steps=0, cooldown_steps=0,
               **kw):
    def fn(step):
        lr = base
        progress = min(max((step - warmup_steps) / float(total_steps - warmup_steps), 0.0), 1.0)
        if decay_type in ("linear", "polynomial"):
            zero = kw.get("end", kw.get("linear_end", 0))
            lr = zero + (lr - zero) * (1.0 - progress) ** kw.get("power", 1)
        elif decay_type == "cosine":
            lr = lr * 0.5 * (1.0 + math.cos(math.pi * progress))
        elif decay_type == "rsqrt":
            t, shift = kw.get("timescale", 10_000), kw.get("shift", 0)
            lr = (lr / math.sqrt(1 + (step + shift - warmup_steps) / t) if warmup_steps <= step
                  else lr / math.sqrt(1 + shift / t))
        elif decay_type == "stair":
            i = sum(s < step + 1 for s in kw.get("steps", []))  # searchsorted(steps, step + 1)
            lr = lr * ([1.0] + list(kw.get("mults", [])))[i]
        if warmup_steps:
            lr = lr * min(1.0, step / warmup_steps)
        if cooldown_steps:
            lr = lr * min(1.0, (total_steps - step) / cooldown_steps)
        return lr
    return fn


def big_vision_cases():
    p = {"base": 1e-3, "warmup_steps": 10, "total_steps": 80}
    add("big_vision", 'decay_type="cosine"',
        "js.warmup(js.cosine_annealing(base, total_steps - warmup_steps), warmup_steps)", p,
        big_vision(80, 1e-3, "cosine", 10), steps_for(80, 10, stride=2))
    p = {"base": 1e-3, "warmup_steps": 10, "total_steps": 80, "power": 2.0, "linear_end": 1e-5}
    add("big_vision", 'decay_type="linear" / "polynomial"',
        "js.warmup(js.polynomial_decay(base, total_steps - warmup_steps, power=power, "
        "end_value=linear_end), warmup_steps)", p,
        big_vision(80, 1e-3, "polynomial", 10, power=2.0, linear_end=1e-5),
        steps_for(80, 10, stride=2))
    p = {"base": 1e-3, "warmup_steps": 10, "total_steps": 80, "timescale": 30, "shift": 5}
    add("big_vision", 'decay_type="rsqrt"',
        "js.warmup(js.shift(js.inverse_sqrt(base, timescale=timescale), shift), warmup_steps)",
        p, big_vision(80, 1e-3, "rsqrt", 10, timescale=30, shift=5),
        steps_for(80, 10, stride=2) + [10**6])
    p = {"base": 0.1, "warmup_steps": 5, "total_steps": 60, "steps": [20, 40],
         "mults": [0.1, 0.01]}
    add("big_vision", 'decay_type="stair"',
        "js.piecewise_constant(steps, [base] + [base * m for m in mults]) * "
        "js.warmup(js.constant(1.0), warmup_steps)", p,
        big_vision(60, 0.1, "stair", 5, steps=[20, 40], mults=[0.1, 0.01]),
        steps_for(60, 5, 20, 40))
    p = {"base": 1e-3, "warmup_steps": 10, "total_steps": 80, "timescale": 30, "shift": 0,
         "cooldown_steps": 20}
    add("big_vision", "cooldown_steps (any decay_type)",
        "js.cooldown(js.warmup(js.shift(js.inverse_sqrt(base, timescale=timescale), shift), "
        "warmup_steps), start=total_steps - cooldown_steps, steps=cooldown_steps)", p,
        big_vision(80, 1e-3, "rsqrt", 10, 20, timescale=30), steps_for(80, 10, 60, past=0),
        note="Up to total_steps: after it big_vision's cooldown factor turns negative.")


# -- levanter -------------------------------------------------------------------------------------


def levanter(T, lr, warmup, decay, min_lr_ratio, kind, **kw):
    """``OptimizerConfig.lr_scheduler`` for one cycle (no ``cycles``, ``cooldown`` unset)."""
    w = int(warmup * T) if warmup <= 1.0 else int(warmup)
    d = (int(decay * T) if decay <= 1.0 else int(decay)) if decay is not None else T - w
    stable, min_lr = T - w - d, lr * min_lr_ratio
    pieces, boundaries = [], []
    if w != 0:
        pieces.append(optax_linear(0.0, lr, w))
        boundaries.append(w)
    if stable != 0:
        pieces.append(lambda t: lr)
        boundaries.append(w + stable)
    if kind == "cosine":
        last = optax_cosine(lr, d, min_lr_ratio, kw.get("exponent", 1.0))
    elif kind == "linear":
        last = optax_linear(lr, min_lr, d)
    elif kind == "constant":
        def last(t):
            return lr
    elif kind == "inv_sqrt":
        def last(c, ts=kw["timescale"]):
            return max(lr * min(1.0, 1.0 / math.sqrt(max(c + w, 1) / ts)), min_lr)
    elif kind == "inv":
        def last(c):
            return max(lr * min(1.0, 1.0 / ((lr / min_lr - 1) * max(c, 1) / d + 1)), min_lr)
    elif kind == "power":
        b, a, bs, sl = kw["b"], kw["a"], kw["batch_size"], kw["seq_length"]

        def last(c):
            tokens = c * bs * sl
            return lr if tokens == 0 else min(lr, bs * a * tokens**b)
    pieces.append(last)
    boundaries.append(T)
    return optax_join(pieces, boundaries), w, d


def levanter_cases():
    base = {"learning_rate": 6e-4, "min_lr_ratio": 0.1, "T": 100}
    head = "js.join([js.linear(0.0, learning_rate, W), js.constant(learning_rate), "
    for kind, decay, expression, extra in [
        ("cosine", None, "js.warmup_stable_decay(learning_rate, W, T - W - D, D, end_value="
         "min_lr_ratio * learning_rate, shape=\"cosine\")", {}),
        ("linear", 0.3, "js.warmup_stable_decay(learning_rate, W, T - W - D, D, end_value="
         "min_lr_ratio * learning_rate, shape=\"linear\")", {}),
        ("constant", None, "js.warmup(js.constant(learning_rate), W)", {}),
        ("cosine", 0.5, head + "learning_rate * (min_lr_ratio + (1 - min_lr_ratio) * "
         "js.cosine_annealing(1.0, D) ** exponent)], boundaries=[W, T - D])", {"exponent": 2.0}),
        ("inv_sqrt", 0.6, head + "js.clip(js.shift(js.inverse_sqrt(learning_rate, "
         "timescale=timescale), W - timescale), min_value=min_lr_ratio * learning_rate)], "
         "boundaries=[W, T - D])", {"timescale": 15}),
        ("inv", 0.6, head + "js.clip(js.hold(js.inverse_time_decay(learning_rate, 1 / "
         "min_lr_ratio - 1, D), start=1), min_value=min_lr_ratio * learning_rate)], "
         "boundaries=[W, T - D])", {}),
        ("power", 0.6, head + "js.clip(js.join([js.constant(learning_rate), js.power_decay("
         "batch_size * a * (batch_size * seq_length) ** b, -b)], boundaries=[1]), "
         "max_value=learning_rate)], boundaries=[W, T - D])",
         {"a": 4e-3, "b": -0.51, "batch_size": 8, "seq_length": 64}),
    ]:
        fn, w, d = levanter(100, 6e-4, 0.1, decay, 0.1, kind, **extra)
        row = {"cosine": 'lr_schedule="cosine"', "linear": 'lr_schedule="linear"',
               "constant": 'lr_schedule="constant"', "inv_sqrt": 'lr_schedule="inv_sqrt"',
               "inv": 'lr_schedule="inv"', "power": "PowerLrSchedule(batch_size, seq_length, "
               "a, b)"}[kind]
        if extra.get("exponent"):
            row = "CosineLrSchedule(exponent)"
        if kind == "inv_sqrt":
            row = "InvSqrtLrSchedule(timescale)"
        add("levanter", row, expression, {**base, **extra, "W": w, "D": d}, fn,
            steps_for(100, w, 100 - d, stride=2) + [10**5])


# -- MaxText --------------------------------------------------------------------------------------


def maxtext(config):
    lr, steps, S = config["learning_rate"], config["steps"], config["learning_rate_schedule_steps"]
    final = lr * config["learning_rate_final_fraction"]
    warmup = int(S * config["warmup_steps_fraction"])

    def cos(init, end, n):
        def fn(step):
            pct = step / (n - 1) if n > 1 else 1.0
            a = 0.5 * (math.cos(math.pi * pct) + 1)
            return init * a + end * (1 - a)
        return fn
    pieces, boundaries = [], []
    if warmup > 0:
        pieces.append(optax_linear(0.0, lr, warmup))
        boundaries.append(warmup)
    if config["lr_schedule_type"] == "cosine":
        if S - warmup > 0:
            pieces.append(cos(lr, final, S - warmup))
            boundaries.append(S)
    else:
        decay = int(S * config["wsd_decay_steps_fraction"])
        stable = S - warmup - decay
        if stable > 0:
            pieces.append(lambda t: lr)
            boundaries.append(warmup + stable)
        if decay > 0:
            pieces.append(optax_linear(lr, final, decay - 1)
                          if config["wsd_decay_style"] == "linear" else cos(lr, final, decay))
            boundaries.append(S)
    if steps - S > 0:
        pieces.append(lambda t: 0.0)
        boundaries.append(S)
    return optax_join(pieces, boundaries), warmup


def maxtext_cases():
    config = {"learning_rate": 3e-4, "steps": 130, "learning_rate_schedule_steps": 120,
              "learning_rate_final_fraction": 0.1, "warmup_steps_fraction": 0.1,
              "wsd_decay_steps_fraction": 0.2}
    fn, w = maxtext({**config, "lr_schedule_type": "cosine"})
    add("maxtext", 'lr_schedule_type="cosine"',
        "js.join([js.linear(0.0, learning_rate, W), js.cosine_annealing(learning_rate, S - W - 1,"
        " end_value=learning_rate * learning_rate_final_fraction), js.constant(0.0)], "
        "boundaries=[W, S])", {**config, "S": 120, "W": w}, fn, steps_for(130, w, 119, 120))
    for style in ("linear", "cosine"):
        fn, w = maxtext({**config, "lr_schedule_type": "wsd", "wsd_decay_style": style})
        d = int(120 * 0.2)
        add("maxtext", f'lr_schedule_type="wsd", wsd_decay_style="{style}"',
            "js.join([js.warmup_stable_decay(learning_rate, W, S - W - D, D - 1, end_value="
            "learning_rate * learning_rate_final_fraction, shape=wsd_decay_style), "
            "js.constant(0.0)], boundaries=[S])",
            {**config, "wsd_decay_style": style, "S": 120, "W": w, "D": d}, fn,
            steps_for(130, w, 120 - d, 119, 120))


# -- OLMo-core ------------------------------------------------------------------------------------


def olmo_warmup(lr, current, warmup, wmin):
    return wmin + (lr - wmin) * min(current, warmup) / warmup


def olmo_decay(lr, from_end, decay, dmin):
    return dmin + (lr - dmin) * min(from_end, decay) / decay


def olmo_cos(lr, c, T, warmup, alpha_f, wmin):
    eta_min = lr * alpha_f
    if c < warmup:
        return olmo_warmup(lr, c, warmup, wmin)
    if c >= T:
        return eta_min
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * (c - warmup) / (T - warmup))) / 2


def olmo_cases():
    lr, T = 1e-3, 100
    base = {"lr": lr, "t_max": T}

    def one(row, expression, params, get_lr, end=T, note=""):
        # the trainer's global_step is incremented before each batch: update t uses current t + 1
        add("olmo", row, expression, {**base, **params}, lambda t: get_lr(t + 1),
            steps_for(end, 9, 10, 50, 80, past=0 if note else 25), note)

    one("ConstantScheduler", "js.constant(lr)", {}, lambda c: lr)
    one("ConstantWithWarmup(warmup, warmup_min_lr)",
        "js.shift(js.warmup(js.constant(lr), warmup, init_value=warmup_min_lr), 1)",
        {"warmup": 10, "warmup_min_lr": 1e-5},
        lambda c: olmo_warmup(lr, c, 10, 1e-5) if c <= 10 else lr)

    def wsd(c):
        if c <= 10:
            return olmo_warmup(lr, c, 10, 1e-5)
        return olmo_decay(lr, T - c, 20, 1e-5) if c >= T - 20 else lr
    end_note = "Up to t_max (the trainer's last step): past it OLMo-core extrapolates the tail."
    one("WSD(warmup, decay, warmup_min_lr, decay_min_lr)",
        "js.shift(js.warmup_stable_decay(lr, warmup, t_max - warmup - decay, decay, "
        "init_value=warmup_min_lr, end_value=decay_min_lr), 1)",
        {"warmup": 10, "decay": 20, "warmup_min_lr": 1e-5, "decay_min_lr": 1e-5}, wsd, T - 1,
        end_note)

    def power(c, b=-0.51, w=10, d=20):
        if c <= w:
            return olmo_warmup(lr, c, w, 0.0)
        if c >= T - d:
            return olmo_decay(lr * ((T - d) / w) ** b, T - c, d, 0.0)
        return lr * (c / w) ** b
    one("PowerLR(b, warmup, decay, warmup_min_lr, decay_min_lr)",
        "js.shift(js.cooldown(js.hold(js.join([js.linear(warmup_min_lr, lr, warmup), "
        "js.power_decay(lr, -b, timescale=warmup)], boundaries=[warmup]), end=t_max - decay), "
        "start=t_max - decay, steps=decay, end_value=decay_min_lr), 1)",
        {"b": -0.51, "warmup": 10, "decay": 20, "warmup_min_lr": 0.0, "decay_min_lr": 0.0},
        power, T - 1, end_note)

    def linear(c, w=10, alpha=0.1):
        if c < w:
            return olmo_warmup(lr, c, w, 0.0)
        if c >= T:
            return lr * alpha
        return lr - (lr - lr * alpha) * ((c - w) / (T - w))
    one("LinearWithWarmup(alpha_f, warmup, warmup_min_lr)",
        "js.shift(js.warmup(js.linear(lr, alpha_f * lr, t_max - warmup), warmup, "
        "init_value=warmup_min_lr), 1)", {"alpha_f": 0.1, "warmup": 10, "warmup_min_lr": 0.0},
        linear)

    def inv_sqrt(c, w=10, alpha=0.1, wmin=1e-6):
        if c < w:
            return olmo_warmup(lr, c, w, wmin)
        return lr * alpha + (lr - lr * alpha) * math.sqrt(w / c)
    one("InvSqrtWithWarmup(alpha_f, warmup, warmup_min_lr)",
        "js.shift(js.warmup(alpha_f * lr + (1 - alpha_f) * lr * js.inverse_sqrt(1.0, "
        "timescale=warmup), warmup, init_value=warmup_min_lr), 1)",
        {"alpha_f": 0.1, "warmup": 10, "warmup_min_lr": 1e-6}, inv_sqrt)
    one("CosWithWarmup(warmup, alpha_f, warmup_min_lr)",
        "js.shift(js.warmup(js.cosine_annealing(lr, t_max - warmup, end_value=alpha_f * lr), "
        "warmup, init_value=warmup_min_lr), 1)",
        {"warmup": 10, "alpha_f": 0.1, "warmup_min_lr": 0.0},
        lambda c: olmo_cos(lr, c, T, 10, 0.1, 0.0))

    def half_cos(c, w=10, alpha=0.1):
        eta_min = lr * alpha
        if c < w:
            return olmo_warmup(eta_min + (lr - eta_min) / 2, c, w, 0.0)
        if c >= T:
            return eta_min
        cur, tm = c - w + (T - w), 2 * (T - w)
        return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * cur / tm)) / 2
    one("HalfCosWithWarmup(warmup, alpha_f, warmup_min_lr)",
        "js.shift(js.warmup(js.shift(js.cosine_annealing(lr, 2 * (t_max - warmup), "
        "end_value=alpha_f * lr), t_max - warmup), warmup, init_value=warmup_min_lr), 1)",
        {"warmup": 10, "alpha_f": 0.1, "warmup_min_lr": 0.0}, half_cos)

    def cos_linear(c, d=20):
        if c >= T - d:
            return olmo_decay(olmo_cos(lr, T - d, T, 10, 0.1, 0.0), T - c, d, 0.0)
        return olmo_cos(lr, c, T, 10, 0.1, 0.0)
    one("CosWithWarmupAndLinearDecay(warmup, alpha_f, decay, decay_min_lr)",
        "js.shift(js.cooldown(js.hold(js.warmup(js.cosine_annealing(lr, t_max - warmup, "
        "end_value=alpha_f * lr), warmup, init_value=warmup_min_lr), end=t_max - decay), "
        "start=t_max - decay, steps=decay, end_value=decay_min_lr), 1)",
        {"warmup": 10, "alpha_f": 0.1, "decay": 20, "warmup_min_lr": 0.0, "decay_min_lr": 0.0},
        cos_linear, T - 1, end_note)
    stages = {"start_lr": 0.0, "duration_0": 10, "end_lr_0": lr, "duration_1": 60,
              "end_lr_1": 0.1 * lr, "override_start": 50, "override_duration": 20,
              "override_end_lr": 0.0}

    def composable(c):
        def main(x):
            if x < 10:
                return 0.0 + (lr - 0.0) * x / 10
            if x < 70:
                return 0.1 * lr + (lr - 0.1 * lr) * (1 + math.cos(math.pi * (x - 10) / 60)) / 2
            return 0.1 * lr
        c = max(c, 0)
        if c < 50:
            return main(c)
        start = main(50)
        return start + (0.0 - start) * (c - 50) / 20 if c - 50 < 20 else 0.0
    one("ComposableScheduler(stages, override_decay)",
        "js.shift(js.cooldown(js.hold(js.join([js.linear(start_lr, end_lr_0, duration_0), "
        "js.cosine_annealing(end_lr_0, duration_1, end_value=end_lr_1)], "
        "boundaries=[duration_0]), end=override_start), start=override_start, "
        "steps=override_duration, end_value=override_end_lr), 1)", stages, composable)

    def sequential(c, m=30, w=10, alpha=0.1):
        if c <= m:  # ConstantWithWarmup(warmup=w), t_max = min(T, m)
            return olmo_warmup(lr, c, w, 0.0) if c <= w else lr
        first_end = lr  # the first scheduler's value at m
        return olmo_cos(first_end, c - m, T - m, 0, alpha, 0.0)
    one("SequentialScheduler([ConstantWithWarmup(warmup), CosWithWarmup(warmup=0, alpha_f)], "
        "schedulers_max=[m])",
        "js.shift(js.join([js.warmup(js.constant(lr), warmup), js.shift(js.cosine_annealing("
        "lr, t_max - m, end_value=alpha_f * lr), 1)], boundaries=[m + 1]), 1)",
        {"warmup": 10, "m": 30, "alpha_f": 0.1}, sequential)

    def exponential(c, lr_min=1e-6):
        if c >= T:
            return lr
        return lr_min if c == 0 else lr_min * (lr / lr_min) ** (c / T)
    one("ExponentialScheduler(lr_min)",
        "js.shift(js.warmup(js.constant(lr), t_max, init_value=lr_min, shape=\"exponential\"), "
        "1)", {"lr_min": 1e-6}, exponential)


# -- Megatron-LM ----------------------------------------------------------------------------------


def megatron(style, init, max_lr, min_lr, warmup, decay, wsd_decay=None, wsd_style=None):
    """``get_lr`` with ``num_steps`` = t (lengths in the same unit)."""
    def fn(t):
        if warmup > 0 and t <= warmup:
            return init + (max_lr - init) * float(t) / float(warmup)
        if style == "constant":
            return max_lr
        if t > decay:
            return min_lr
        if style == "inverse-square-root":
            w, n = max(warmup, 1), max(t, 1)
            return max(min_lr, max_lr * w**0.5 / n**0.5)
        ratio = (t - warmup) / (decay - warmup)
        if style == "linear":
            coeff = 1.0 - ratio
        elif style == "cosine":
            coeff = 0.5 * (math.cos(math.pi * ratio) + 1.0)
        else:  # WSD
            start = decay - wsd_decay
            if t <= start:
                coeff = 1.0
            else:
                r = (t - start) / wsd_decay
                coeff = {"linear": 1.0 - r, "cosine": 0.5 * (math.cos(math.pi * r) + 1.0),
                         "exponential": 2.0 * 0.5**r - 1.0}[wsd_style]
        return min_lr + coeff * (max_lr - min_lr)
    return fn


def megatron_cases():
    base = {"lr": 3e-4, "min_lr": 3e-5, "lr_warmup_init": 1e-6, "lr_warmup_iters": 10,
            "lr_decay_iters": 80}
    warm = "js.warmup({}, lr_warmup_iters, init_value=lr_warmup_init)"
    for style, inner in [("constant", "js.constant(lr)"),
                         ("linear", "js.linear(lr, min_lr, lr_decay_iters - lr_warmup_iters)"),
                         ("cosine", "js.cosine_annealing(lr, lr_decay_iters - lr_warmup_iters, "
                                    "end_value=min_lr)")]:
        add("megatron", f"--lr-decay-style {style}", warm.format(inner), base,
            megatron(style, 1e-6, 3e-4, 3e-5, 10, 80), steps_for(80, 10, stride=2))
    frac = {**base, "lr_warmup_iters": 0.15 * 50, "lr_decay_iters": 50}
    add("megatron", "--lr-warmup-fraction",
        warm.format("js.cosine_annealing(lr, lr_decay_iters - lr_warmup_iters, "
                    "end_value=min_lr)"), frac,
        megatron("cosine", 1e-6, 3e-4, 3e-5, 7.5, 50), steps_for(50, 7.5))
    add("megatron", "--lr-decay-style inverse-square-root",
        "js.join([js.warmup(js.clip(js.inverse_sqrt(lr, timescale=lr_warmup_iters), "
        "min_value=min_lr), lr_warmup_iters, init_value=lr_warmup_init), js.constant(min_lr)], "
        "boundaries=[lr_decay_iters + 1])", {**base, "min_lr": 1.2e-4},
        megatron("inverse-square-root", 1e-6, 3e-4, 1.2e-4, 10, 80), steps_for(80, 10, 62))
    wsd = {**base, "lr_wsd_decay_iters": 20}
    for style in ("linear", "cosine"):
        add("megatron", f"--lr-decay-style WSD --lr-wsd-decay-style {style}",
            "js.warmup_stable_decay(lr, lr_warmup_iters, lr_decay_iters - lr_warmup_iters - "
            "lr_wsd_decay_iters, lr_wsd_decay_iters, init_value=lr_warmup_init, "
            "end_value=min_lr, shape=lr_wsd_decay_style)", {**wsd, "lr_wsd_decay_style": style},
            megatron("WSD", 1e-6, 3e-4, 3e-5, 10, 80, 20, style), steps_for(80, 10, 60))
    add("megatron", "--lr-decay-style WSD --lr-wsd-decay-style exponential",
        "js.join([js.linear(lr_warmup_init, lr, lr_warmup_iters), js.constant(lr), 2 * (lr - "
        "min_lr) * js.exponential_decay(1.0, 0.5, transition_steps=lr_wsd_decay_iters) + (2 * "
        "min_lr - lr), js.constant(min_lr)], boundaries=[lr_warmup_iters, lr_decay_iters - "
        "lr_wsd_decay_iters, lr_decay_iters + 1])", wsd,
        megatron("WSD", 1e-6, 3e-4, 3e-5, 10, 80, 20, "exponential"), steps_for(80, 10, 60))
    for style, expression in [
        ("linear", "js.linear(start_weight_decay, end_weight_decay, wd_incr_iters)"),
        ("cosine", "js.warmup(js.constant(end_weight_decay), wd_incr_iters, "
                   "init_value=start_weight_decay, shape=\"cosine\")")]:
        def wd(t, s=style):  # get_wd
            if t > 60:
                return 0.1
            r = t / 60
            coeff = r if s == "linear" else 0.5 * (math.cos(math.pi * (1 - r)) + 1.0)
            return 0.01 + coeff * (0.1 - 0.01)
        add("megatron", f"--weight-decay-incr-style {style}", expression,
            {"start_weight_decay": 0.01, "end_weight_decay": 0.1, "wd_incr_iters": 60}, wd,
            steps_for(60, stride=3))


def keras_restarts(init, first, t_mul, m_mul, alpha):
    def fn(step):
        done = step / first
        if t_mul == 1.0:
            i = math.floor(done)
            done -= i
        else:
            i = math.floor(math.log(1.0 - done * (1.0 - t_mul)) / math.log(t_mul))
            done = (done - (1.0 - t_mul**i) / (1.0 - t_mul)) / t_mul**i
        cosine = 0.5 * m_mul**i * (1.0 + math.cos(math.pi * done))
        return init * ((1 - alpha) * cosine + alpha)
    return fn


def keras_cases():
    for t_mul in (2.0, 1.0):
        p = {"initial_learning_rate": 0.1, "first_decay_steps": 20, "t_mul": t_mul,
             "m_mul": 0.7, "alpha": 0.2}
        add("keras", "CosineDecayRestarts(initial_learning_rate, first_decay_steps, t_mul=2.0, "
            "m_mul=1.0, alpha=0.0)",
            "initial_learning_rate * (alpha + (1 - alpha) * js.sgdr(1.0, "
            "cycle_steps=first_decay_steps, cycle_mult=t_mul, cycle_decay=m_mul))", p,
            keras_restarts(0.1, 20, t_mul, 0.7, 0.2), steps_for(160, 20, 40, 60, 80, 140))


def main() -> None:
    for cases in (praxis_cases, tf_cases, scenic_cases, big_vision_cases, levanter_cases,
                  maxtext_cases, olmo_cases, megatron_cases, keras_cases):
        cases()
    OUT.write_text(json.dumps(CASES, indent=1) + "\n")
    print(f"{len(CASES)} cases, {sum(len(c['steps']) for c in CASES)} values -> {OUT}")


if __name__ == "__main__":
    main()
