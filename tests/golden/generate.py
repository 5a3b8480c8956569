"""Writes tests/golden/shapes.json: reference sequences from the reference implementations.

Run with an environment that has PyTorch (CPU is enough) and, optionally, transformers, keras and
timm:

    python tests/golden/generate.py

Nothing here is typed from memory: every value is read from the reference library at run time.
For a PyTorch scheduler the value at step ``t`` is ``optimizer.param_groups[0]["lr"]`` (or
``["momentum"]``) after ``t`` calls of ``scheduler.step()`` (each preceded by an
``optimizer.step()``, as in a training loop); for Keras and timm, which are indexed by the step,
it is the schedule evaluated at ``t``.

Each case is ``{"id", "kind", "kwargs", "steps", "values", "reference", "library", "quantity",
"note"}``: ``kind`` and ``kwargs`` build the jaxsched schedule
(``getattr(jaxsched, kind)(**kwargs)``), ``reference`` is the reference call that produced
``values``, and ``note`` says which steps are compared where the two semantics differ elsewhere
(e.g. past a horizon). Optional references that do not import are skipped with a message;
`tests/test_golden.py` checks which shapes are covered.

jaxsched is not imported: the generator only needs the references.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import math
import os
import sys
import types
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch.optim import lr_scheduler as torch_sched

OUT = Path(__file__).with_name("shapes.json")
CASES: list[dict] = []


def version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def call_repr(name: str, kwargs: dict) -> str:
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def add(case_id: str, kind: str, kwargs: dict, steps: list[int], values: list[float], *,
        reference: str, library: str, quantity: str = "lr", note: str = "") -> None:
    assert len(steps) == len(values) <= 300, case_id  # keeps shapes.json small
    assert all(math.isfinite(v) for v in values), case_id
    assert case_id not in {c["id"] for c in CASES}, case_id
    CASES.append({
        "id": case_id, "kind": kind, "kwargs": kwargs, "steps": list(steps),
        "values": [float(v) for v in values], "reference": reference, "library": library,
        "quantity": quantity, "note": note,
    })


def select(seq: list[float], steps: Iterable[int]) -> tuple[list[int], list[float]]:
    steps = sorted(set(steps))
    return steps, [seq[t] for t in steps]


# -- PyTorch ---------------------------------------------------------------------------------------

TORCH = f"torch=={torch.__version__.split('+')[0]}"


def run_torch(make: Callable, last_step: int, *, lr: float = 1.0, momentum: float | None = None,
              keys: tuple[str, ...] = ("lr",)) -> dict[str, list[float]]:
    """Values of ``param_groups[0][key]`` after t = 0 .. last_step calls of scheduler.step()."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt_kwargs = {"lr": lr} if momentum is None else {"lr": lr, "momentum": momentum}
    opt = torch.optim.SGD([param], **opt_kwargs)
    sched = make(opt)
    out: dict[str, list[float]] = {k: [] for k in keys}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any deprecation or misuse warning would be a bug here
        for t in range(last_step + 1):
            for k in keys:
                out[k].append(float(opt.param_groups[0][k]))
            if t < last_step:
                opt.step()
                sched.step()
    return out


def torch_case(case_id: str, kind: str, kwargs: dict, cls_name: str, torch_kwargs: dict, *,
               steps: Iterable[int], lr: float = 1.0, momentum: float | None = None,
               note: str = "") -> None:
    steps = sorted(set(steps))
    cls = getattr(torch_sched, cls_name)
    seq = run_torch(lambda opt: cls(opt, **torch_kwargs), steps[-1], lr=lr,
                    momentum=momentum)["lr"]
    optimizer = call_repr("torch.optim.SGD", {"lr": lr} if momentum is None
                          else {"lr": lr, "momentum": momentum})
    ref = f"{call_repr(f'torch.optim.lr_scheduler.{cls_name}', torch_kwargs)} on {optimizer}"
    add(case_id, kind, kwargs, *select(seq, steps), reference=ref, library=TORCH, note=note)


def spots(*groups: Iterable[int]) -> list[int]:
    """Steps around the given points (each point and its neighbours), for long horizons."""
    out = set()
    for g in groups:
        for s in g:
            out.update(x for x in (s - 1, s, s + 1) if x >= 0)
    return sorted(out)


def torch_cases() -> None:
    # linear <-> LinearLR: init = base·start_factor, end = base·end_factor, steps = total_iters.
    for cid, base, start, end, total, last in [
        ("linear-warmup", 0.1, 0.01, 1.0, 10, 20),
        ("linear-decay-to-zero", 1.0, 1.0, 0.0, 50, 60),
        ("linear-torch-defaults", 0.5, 1.0 / 3, 1.0, 5, 10),
        ("linear-one-step", 0.2, 0.25, 0.75, 1, 5),
        ("linear-long", 3e-4, 0.001, 0.5, 250, 260),
    ]:
        torch_case(cid, "linear",
                   {"init_value": base * start, "end_value": base * end, "steps": total},
                   "LinearLR", {"start_factor": start, "end_factor": end, "total_iters": total},
                   lr=base, steps=range(last + 1))

    # step_decay <-> StepLR.
    for cid, base, size, gamma, steps in [
        ("step_decay-3-half", 1.0, 3, 0.5, range(31)),
        ("step_decay-every-step", 0.1, 1, 0.9, range(101)),
        ("step_decay-30-tenth", 0.05, 30, 0.1, range(201)),
        ("step_decay-gamma-one", 0.3, 7, 1.0, range(30)),
        ("step_decay-long-spots", 1.0, 1000, 0.5, spots(range(0, 20_001, 1000), [12_345])),
    ]:
        torch_case(cid, "step_decay", {"init_value": base, "every": size, "gamma": gamma},
                   "StepLR", {"step_size": size, "gamma": gamma}, lr=base, steps=steps)

    # multistep_decay <-> MultiStepLR (repeated milestones count twice; milestone 0 applies at
    # once, since PyTorch's constructor already takes the step to epoch 0).
    for cid, base, milestones, gamma, last in [
        ("multistep-repeated", 1.0, [2, 4, 4], 0.5, 10),
        ("multistep-zero-and-triple", 0.1, [0, 3, 3, 3, 10], 0.1, 15),
        ("multistep-classic", 0.1, [30, 80], 0.1, 120),
        ("multistep-growth", 0.01, [5, 10], 2.0, 15),
        ("multistep-beyond-range", 0.3, [7, 1000], 0.3, 50),
    ]:
        torch_case(cid, "multistep_decay",
                   {"init_value": base, "boundaries": milestones, "gamma": gamma},
                   "MultiStepLR", {"milestones": milestones, "gamma": gamma}, lr=base,
                   steps=range(last + 1))

    # exponential_decay <-> ExponentialLR (transition_steps = 1).
    for cid, base, gamma, steps in [
        ("exponential-0.9", 1.0, 0.9, range(300)),
        ("exponential-0.99", 0.01, 0.99, range(300)),
        ("exponential-gamma-one", 0.5, 1.0, range(20)),
        ("exponential-long-spots", 1.0, 0.9999, spots([0, 1000, 10_000, 50_000, 99_999])),
    ]:
        torch_case(cid, "exponential_decay", {"init_value": base, "gamma": gamma},
                   "ExponentialLR", {"gamma": gamma}, lr=base, steps=steps)

    # polynomial_decay <-> PolynomialLR (end_value 0: PyTorch reaches exactly 0 at total_iters and
    # then keeps the group's lr, i.e. 0, which is also what jaxsched holds; so every step agrees).
    for cid, base, total, power, extra in [
        ("polynomial-linear", 1.0, 10, 1.0, 5),
        ("polynomial-square", 0.1, 50, 2.0, 10),
        ("polynomial-sqrt", 0.5, 100, 0.5, 10),
        ("polynomial-one-step", 1.0, 1, 3.0, 4),
        ("polynomial-torch-defaults", 0.02, 5, 1.0, 3),
    ]:
        torch_case(cid, "polynomial_decay", {"init_value": base, "steps": total,
                                             "power": power, "end_value": 0.0},
                   "PolynomialLR", {"total_iters": total, "power": power}, lr=base,
                   steps=range(total + extra + 1),
                   note=f"all steps 0..{total + extra}: both hold 0 after max_update={total}")

    # cosine_annealing <-> CosineAnnealingLR on [0, T_max] only: PyTorch continues periodically
    # past T_max, jaxsched holds min_lr.
    for cid, base, t_max, eta_min, steps in [
        ("cosine-10", 1.0, 10, 0.0, range(11)),
        ("cosine-100-floor", 0.1, 100, 0.001, range(101)),
        ("cosine-one-step", 0.05, 1, 0.01, range(2)),
        ("cosine-250", 1.0, 250, 0.0, range(251)),
        ("cosine-odd-floor", 3e-3, 37, 1e-4, range(38)),
        ("cosine-1000-spots", 0.01, 1000, 1e-5, spots([0, 1, 250, 500, 750, 990, 999])
         + [1000]),
    ]:
        torch_case(cid, "cosine_annealing",
                   {"init_value": base, "steps": t_max, "end_value": eta_min},
                   "CosineAnnealingLR", {"T_max": t_max, "eta_min": eta_min}, lr=base,
                   steps=steps,
                   note=f"steps within [0, T_max={t_max}] only: past T_max PyTorch rises again "
                        "(periodic), jaxsched holds min_lr")

    # sgdr <-> CosineAnnealingWarmRestarts (periodic in both).
    for cid, base, t0, mult, eta_min, steps in [
        ("sgdr-T10-mult1", 1.0, 10, 1, 0.0, range(101)),
        ("sgdr-T3-mult2-floor", 0.1, 3, 2, 0.001, range(201)),
        ("sgdr-T2-mult3", 0.5, 2, 3, 0.0, range(261)),
        ("sgdr-T1-mult2", 1.0, 1, 2, 0.0, range(128)),
        ("sgdr-T1-mult1", 0.2, 1, 1, 0.05, range(10)),
        ("sgdr-T7-mult1-floor", 0.03, 7, 1, 0.001, range(120)),
        # cycles start at 100·(2**k − 1); steps around each of the first 10 restarts.
        ("sgdr-T100-mult2-spots", 1.0, 100, 2, 0.0,
         spots([100 * (2**k - 1) for k in range(11)], [150, 2_000, 50_000])),
    ]:
        torch_case(cid, "sgdr",
                   {"init_value": base, "cycle_steps": t0, "end_value": eta_min,
                    "cycle_mult": mult},
                   "CosineAnnealingWarmRestarts", {"T_0": t0, "T_mult": mult, "eta_min": eta_min},
                   lr=base, steps=steps)

    # cyclic <-> CyclicLR (SGD with momentum, so that cycle_momentum=True, the default, works).
    for cid, base, top, up, down, mode, gamma, last in [
        ("cyclic-triangular", 0.001, 0.006, 5, None, "triangular", 1.0, 60),
        ("cyclic-triangular-asym", 0.01, 0.1, 3, 7, "triangular", 1.0, 100),
        ("cyclic-triangular2-asym", 0.0, 1.0, 4, 2, "triangular2", 1.0, 90),
        ("cyclic-triangular2", 0.1, 0.5, 10, None, "triangular2", 1.0, 200),
        ("cyclic-exp_range-asym", 0.001, 0.01, 10, 15, "exp_range", 0.99, 250),
        ("cyclic-exp_range", 0.2, 1.0, 2, None, "exp_range", 0.9, 60),
        ("cyclic-no-descent", 0.1, 1.0, 4, 0, "triangular", 1.0, 20),
        ("cyclic-unit-steps", 0.5, 1.5, 1, 1, "triangular", 1.0, 10),
    ]:
        tk = {"base_lr": base, "max_lr": top, "step_size_up": up, "step_size_down": down,
              "mode": mode, "gamma": gamma}
        ours = {"min_value": base, "max_value": top, "up_steps": up, "down_steps": down,
                "mode": mode, "gamma": gamma}
        torch_case(cid, "cyclic", ours, "CyclicLR", tk, lr=base, momentum=0.9,
                   steps=range(last + 1))

    # one_cycle / one_cycle_momentum <-> OneCycleLR (lr and the momentum it sets on SGD), on
    # t = 0 .. total_steps − 1 (PyTorch allows one more step, overshooting its last phase, and
    # raises after; jaxsched holds the final value from total_steps − 1 on).
    for cid, top, total, pct, anneal, div, fdiv, three, mom, steps in [
        ("one_cycle-cos", 1.0, 100, 0.3, "cos", 25.0, 1e4, False, (0.85, 0.95), None),
        ("one_cycle-linear", 0.1, 100, 0.25, "linear", 10.0, 100.0, False, (0.8, 0.9), None),
        ("one_cycle-cos-fractional", 0.01, 37, 0.3, "cos", 25.0, 1e4, False, (0.85, 0.95), None),
        ("one_cycle-3phase-cos", 0.01, 200, 0.3, "cos", 25.0, 1e4, True, (0.85, 0.95), None),
        ("one_cycle-3phase-linear-fractional", 1.0, 97, 0.33, "linear", 5.0, 50.0, True,
         (0.7, 0.99), None),
        ("one_cycle-short", 0.5, 10, 0.3, "cos", 25.0, 1e4, False, (0.85, 0.95), None),
        ("one_cycle-long-spots", 3e-3, 100_000, 0.3, "cos", 25.0, 1e4, False, (0.85, 0.95),
         spots([0, 1, 29_998, 29_999, 30_000, 50_000, 99_000, 99_998]) + [99_999]),
    ]:
        steps = sorted(set(range(total) if steps is None else steps))
        tk = {"max_lr": top, "total_steps": total, "pct_start": pct, "anneal_strategy": anneal,
              "div_factor": div, "final_div_factor": fdiv, "three_phase": three,
              "base_momentum": mom[0], "max_momentum": mom[1]}
        seqs = run_torch(lambda opt, tk=tk: torch_sched.OneCycleLR(opt, **tk), steps[-1],
                         lr=top, momentum=0.9, keys=("lr", "momentum"))
        ref = (f"{call_repr('torch.optim.lr_scheduler.OneCycleLR', tk)} on "
               f"torch.optim.SGD(lr={top!r}, momentum=0.9)")
        note = f"steps 0..total_steps-1={total - 1}; PyTorch raises past total_steps"
        add(cid, "one_cycle",
            {"peak_value": top, "steps": total, "pct_start": pct, "anneal": anneal,
             "div_factor": div, "final_div_factor": fdiv, "three_phase": three},
            *select(seqs["lr"], steps), reference=ref, library=TORCH, note=note)
        add(cid.replace("one_cycle", "one_cycle_momentum"), "one_cycle_momentum",
            {"steps": total, "pct_start": pct, "anneal": anneal,
             "min_value": mom[0], "max_value": mom[1], "three_phase": three},
            *select(seqs["momentum"], steps), reference=ref + ', param_groups[0]["momentum"]',
            library=TORCH, quantity="momentum", note=note)


# -- transformers ----------------------------------------------------------------------------------


def transformers_cases() -> None:
    try:
        import transformers
        from transformers.optimization import get_inverse_sqrt_schedule, get_wsd_schedule
    except Exception as e:  # noqa: BLE001 - any import failure means: skip these references
        print(f"skipping transformers references: {type(e).__name__}: {e}", file=sys.stderr)
        return
    lib = f"transformers=={transformers.__version__}"

    def lambda_case(case_id, kind, kwargs, fn, fn_kwargs, lr, steps, note=""):
        steps = sorted(set(steps))
        seq = run_torch(lambda opt: fn(opt, **fn_kwargs), steps[-1], lr=lr)["lr"]
        ref = f"{call_repr(f'transformers.{fn.__name__}', fn_kwargs)} on torch.optim.SGD(lr={lr!r})"
        add(case_id, kind, kwargs, *select(seq, steps), reference=ref, library=lib, note=note)

    # inverse_sqrt <-> get_inverse_sqrt_schedule (timescale defaults to num_warmup_steps, or
    # 10_000 without warmup, in both).
    for cid, lr, warmup, timescale, steps in [
        ("inverse_sqrt-warmup10", 1.0, 10, None, range(201)),
        ("inverse_sqrt-warmup100-timescale37", 5e-4, 100, 37, range(300)),
        ("inverse_sqrt-no-warmup-default-timescale", 1e-3, 0, None,
         spots([0, 1, 5_000, 10_000, 30_000, 60_000])),
        ("inverse_sqrt-no-warmup-timescale50", 0.1, 0, 50, range(150)),
    ]:
        kwargs = {"init_value": lr, "warmup_steps": warmup}
        fn_kwargs = {"num_warmup_steps": warmup}
        if timescale is not None:
            kwargs["timescale"] = timescale
            fn_kwargs["timescale"] = timescale
        lambda_case(cid, "inverse_sqrt", kwargs, get_inverse_sqrt_schedule, fn_kwargs, lr, steps)

    # warmup_stable_decay <-> get_wsd_schedule: its warmup starts at min_lr_ratio·peak and its
    # decay ends there, so init_value = end_value = min_lr_ratio·peak. Its "1-sqrt" is our "sqrt".
    names = {"linear": "linear", "cosine": "cosine", "1-sqrt": "sqrt"}
    for cid, peak, warm, stable, decay, ratio, dtype in [
        ("wsd-linear", 1.0, 10, 20, 30, 0.0, "linear"),
        ("wsd-cosine-floor", 3e-4, 5, 10, 40, 0.1, "cosine"),
        ("wsd-sqrt-no-stable", 0.01, 20, 0, 50, 0.01, "1-sqrt"),
        ("wsd-cosine-no-warmup", 0.5, 0, 15, 25, 0.0, "cosine"),
        ("wsd-sqrt", 1.0, 4, 6, 100, 0.0, "1-sqrt"),
        ("wsd-linear-floor", 2e-3, 30, 100, 60, 0.05, "linear"),
    ]:
        floor = ratio * peak
        kwargs = {"peak_value": peak, "warmup_steps": warm, "stable_steps": stable,
                  "decay_steps": decay, "init_value": floor, "end_value": floor,
                  "shape": names[dtype]}
        fn_kwargs = {"num_warmup_steps": warm, "num_stable_steps": stable,
                     "num_decay_steps": decay, "warmup_type": "linear", "decay_type": dtype,
                     "min_lr_ratio": ratio}
        lambda_case(cid, "warmup_stable_decay", kwargs, get_wsd_schedule, fn_kwargs, peak,
                    range(warm + stable + decay + 11))


# -- Keras -----------------------------------------------------------------------------------------


def keras_cases() -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
        keras.config.set_floatx("float64")
        schedules = keras.optimizers.schedules
    except Exception as e:  # noqa: BLE001
        print(f"skipping keras references: {type(e).__name__}: {e}", file=sys.stderr)
        return
    lib = f"keras=={keras.__version__} (backend {keras.backend.backend()}, floatx float64)"

    def keras_case(case_id, kind, kwargs, cls_name, k_kwargs, steps):
        sched = getattr(schedules, cls_name)(**k_kwargs)
        steps = sorted(set(steps))
        values = []
        for t in steps:
            v = sched(t)
            assert str(getattr(v, "dtype", "")).endswith("float64"), v
            values.append(float(v))
        add(case_id, kind, kwargs, steps, values,
            reference=f"{call_repr(f'keras.optimizers.schedules.{cls_name}', k_kwargs)}(step)",
            library=lib)

    # inverse_time_decay <-> InverseTimeDecay.
    for cid, init, rate, steps_, stair, steps in [
        ("inverse_time-smooth", 0.1, 0.5, 10, False, range(201)),
        ("inverse_time-staircase", 1.0, 1.0, 7, True, range(100)),
        ("inverse_time-long-spots", 0.01, 2.0, 1, False, spots([0, 100, 10_000, 10**6, 10**9])),
    ]:
        keras_case(cid, "inverse_time_decay",
                   {"init_value": init, "decay_rate": rate, "transition_steps": steps_,
                    "staircase": stair},
                   "InverseTimeDecay",
                   {"initial_learning_rate": init, "decay_steps": steps_, "decay_rate": rate,
                    "staircase": stair}, steps)

    # exponential_decay with transition_steps / staircase <-> ExponentialDecay.
    for cid, init, rate, steps_, stair, steps in [
        ("exponential-keras-smooth", 1.0, 0.5, 10, False, range(151)),
        ("exponential-keras-staircase", 0.1, 0.9, 7, True, range(100)),
    ]:
        keras_case(cid, "exponential_decay",
                   {"init_value": init, "gamma": rate, "transition_steps": steps_,
                    "staircase": stair},
                   "ExponentialDecay",
                   {"initial_learning_rate": init, "decay_steps": steps_, "decay_rate": rate,
                    "staircase": stair}, steps)


# -- timm ------------------------------------------------------------------------------------------


def timm_module(name: str) -> types.ModuleType:
    """A module of ``timm.scheduler``. timm's package ``__init__`` imports its model zoo, which
    needs a torchvision built for the installed torch; the scheduler modules need only torch, so
    where the normal import fails they are loaded (the real files, unchanged) under bare
    placeholder packages."""
    try:
        return importlib.import_module(f"timm.scheduler.{name}")
    except Exception:  # noqa: BLE001
        pass
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("timm is not installed")
    for mod in [m for m in sys.modules if m == "timm" or m.startswith("timm.")]:
        del sys.modules[mod]
    root = Path(list(spec.submodule_search_locations)[0])
    for package, path in [("timm", root), ("timm.scheduler", root / "scheduler")]:
        pkg = types.ModuleType(package)
        pkg.__path__ = [str(path)]
        sys.modules[package] = pkg
    return importlib.import_module(f"timm.scheduler.{name}")


def timm_case(case_id: str, kind: str, kwargs: dict, module: str, cls_name: str,
              t_kwargs: dict, *, lr: float, steps: Iterable[int], note: str = "") -> None:
    """timm's scheduler stepped with ``.step(t)`` (its epoch index), read from the optimizer."""
    sched_cls = getattr(timm_module(module), cls_name)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched = sched_cls(opt, **t_kwargs)
    steps = sorted(set(steps))
    values = []
    for t in steps:
        sched.step(t)
        values.append(float(opt.param_groups[0]["lr"]))
    add(case_id, kind, kwargs, steps, values,
        reference=f"{call_repr(f'timm.scheduler.{cls_name}', t_kwargs)} on "
                  f"torch.optim.SGD(lr={lr!r}), .step(t)",
        library=f"timm=={version('timm')}", note=note)


def timm_cases() -> None:
    try:
        timm_module("cosine_lr")
    except Exception as e:  # noqa: BLE001
        print(f"skipping timm references: {type(e).__name__}: {e}", file=sys.stderr)
        return

    # sgdr with cycle_decay <-> CosineLRScheduler(cycle_decay=...), which scales each cycle's peak
    # (not max − min) by cycle_decay**i, as jaxsched does. cycle_limit is raised so that it keeps
    # restarting.
    for cid, lr, t0, mult, decay, lr_min, steps in [
        ("sgdr-timm-decay-mult1", 1.0, 10, 1, 0.5, 0.0, range(101)),
        ("sgdr-timm-decay-mult1-floor", 0.1, 7, 1, 0.8, 0.001, range(120)),
        ("sgdr-timm-decay-mult2", 0.5, 4, 2, 0.7, 0.01, range(125)),
    ]:
        timm_case(cid, "sgdr",
                  {"init_value": lr, "cycle_steps": t0, "end_value": lr_min, "cycle_mult": mult,
                   "cycle_decay": decay},
                  "cosine_lr", "CosineLRScheduler",
                  {"t_initial": t0, "lr_min": lr_min, "cycle_mul": mult, "cycle_decay": decay,
                   "cycle_limit": 10**6, "t_in_epochs": True}, lr=lr, steps=steps)

    # sgdr(cycles=, float cycle_mult) <-> cycle_limit and a float cycle_mul: after `cycles`
    # cycles both hold lr_min. (Cycle i of a float cycle_mul starts at t0·(m^i − 1)/(m − 1),
    # which need not be a whole step.)
    for cid, lr, t0, mult, decay, lr_min, limit, last in [
        ("sgdr-timm-mult1.5-limit4", 1.0, 10, 1.5, 1.0, 0.0, 4, 100),
        ("sgdr-timm-mult1.5-decay-limit3", 0.5, 8, 1.5, 0.8, 0.01, 3, 60),
        ("sgdr-timm-mult1-limit3", 0.2, 20, 1, 0.5, 0.0, 3, 80),
        ("sgdr-timm-mult2.5-limit2", 0.3, 6, 2.5, 0.9, 0.001, 2, 30),
    ]:
        timm_case(cid, "sgdr",
                  {"init_value": lr, "cycle_steps": t0, "end_value": lr_min, "cycle_mult": mult,
                   "cycle_decay": decay, "cycles": limit},
                  "cosine_lr", "CosineLRScheduler",
                  {"t_initial": t0, "lr_min": lr_min, "cycle_mul": mult, "cycle_decay": decay,
                   "cycle_limit": limit, "t_in_epochs": True}, lr=lr, steps=range(last + 1))

    # cosine_annealing(k=) <-> CosineLRScheduler(k_decay=k) with its default cycle_limit=1 (one
    # cycle, then lr_min: what cosine_annealing holds past its steps).
    for cid, lr, t0, lr_min, k in [
        ("cosine-timm-k2", 1.0, 100, 0.0, 2.0),
        ("cosine-timm-k0.5-floor", 0.1, 50, 1e-3, 0.5),
        ("cosine-timm-k1.5-odd", 0.3, 37, 0.01, 1.5),
        ("cosine-timm-k1", 0.05, 20, 0.0, 1.0),
    ]:
        timm_case(cid, "cosine_annealing",
                  {"init_value": lr, "steps": t0, "end_value": lr_min, "k": k},
                  "cosine_lr", "CosineLRScheduler",
                  {"t_initial": t0, "lr_min": lr_min, "k_decay": k, "t_in_epochs": True},
                  lr=lr, steps=range(t0 + 11))

    # tanh_decay <-> TanhLRScheduler (cycle_limit=1, its default: lr_min after one cycle).
    for cid, lr, t0, lb, ub, lr_min in [
        ("tanh-timm-defaults", 1.0, 10, -7.0, 3.0, 0.0),
        ("tanh-timm-floor", 0.1, 100, -6.0, 4.0, 1e-3),
        ("tanh-timm-odd", 0.5, 37, -7.0, 3.0, 0.01),
        ("tanh-timm-narrow", 2e-3, 60, -2.0, 1.0, 0.0),
    ]:
        timm_case(cid, "tanh_decay",
                  {"init_value": lr, "steps": t0, "end_value": lr_min, "lower": lb, "upper": ub},
                  "tanh_lr", "TanhLRScheduler",
                  {"t_initial": t0, "lb": lb, "ub": ub, "lr_min": lr_min, "t_in_epochs": True},
                  lr=lr, steps=range(t0 + 11))

    # multistep_decay <-> MultiStepLRScheduler, which decays one step before each milestone
    # ("milestone m applies at t == m - 1", its get_curr_decay_steps): boundaries m − 1.
    for cid, lr, milestones, rate, last in [
        ("multistep-timm", 0.1, [30, 60, 80], 0.1, 100),
        ("multistep-timm-repeated", 1.0, [3, 6, 6], 0.5, 12),
        ("multistep-timm-first-step", 0.01, [1, 5], 2.0, 10),
    ]:
        timm_case(cid, "multistep_decay",
                  {"init_value": lr, "boundaries": [m - 1 for m in milestones], "gamma": rate},
                  "multistep_lr", "MultiStepLRScheduler",
                  {"decay_t": milestones, "decay_rate": rate, "t_in_epochs": True},
                  lr=lr, steps=range(last + 1),
                  note="timm's milestone m is jaxsched's boundary m - 1")


def main() -> None:
    torch_cases()
    transformers_cases()
    keras_cases()
    timm_cases()
    # One case per line: readable diffs when the references or the cases change.
    text = "[\n" + ",\n".join(json.dumps(c, separators=(",", ":")) for c in CASES) + "\n]\n"
    OUT.write_text(text)
    per_kind: dict[str, int] = {}
    for c in CASES:
        per_kind[c["kind"]] = per_kind.get(c["kind"], 0) + 1
    print(f"wrote {len(CASES)} cases ({len(text) / 1024:.0f} KiB) to {OUT}")
    for kind, n in sorted(per_kind.items()):
        print(f"  {kind}: {n}")


if __name__ == "__main__":
    main()
