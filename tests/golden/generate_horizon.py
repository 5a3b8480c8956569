"""Writes tests/golden/horizon.json: reference values for the plans of issue 11 (cooldowns,
re-warming cycles, WSD-S, learning-rate noise), from the formulas as each project computes them.

Run with the golden environment (PyTorch, timm, transformers; see tests/golden/generate.py):

    /work/golden-venv/bin/python tests/golden/generate_horizon.py

Sources (read from the projects' repositories; the commit is the one read):

* big_vision, ``big_vision/utils.py`` ``create_learning_rate_schedule`` (``decay_type="rsqrt"``
  with ``cooldown_steps``), google-research/big_vision@0127fb6b337ee2a27bf4e54dea79cff176527356;
* Hägele et al. 2024 (arXiv:2405.18392), ``src/optim/utils.py`` ``wsd_schedule``, run as
  ``LambdaLR(opt, wsd_schedule(...))`` by ``src/main.py``,
  epfml/schedules-and-scaling@17e78d600a7054bc6609a5ca6d050d141d4ad79e;
* levanter, ``src/levanter/optim/config.py`` ``OptimizerConfig.lr_scheduler`` and
  ``_get_cycle_minima`` (``cycles``, ``warmup``, ``rewarmup``, ``decay``, ``min_lr_ratio``),
  stanford-crfm/levanter@9263f81e8b453241332c2c0b2d2001bfb2d2241c, whose optax pieces
  (``linear_schedule`` = ``polynomial_schedule``, ``cosine_decay_schedule``,
  ``constant_schedule``, ``join_schedules``) are written here as optax 0.2.8 computes them;
* OLMo-core, ``src/olmo_core/optim/scheduler.py`` ``WSDS`` (and its ``_linear_warmup``,
  ``_linear_decay``), allenai/OLMo-core@fa6c5014c9f6e9ee789da2d9c20d5126fee8df0d;
* transformers' ``get_wsd_schedule`` (the installed package, called), for `cooldown` over a
  warmed-up constant;
* timm's ``Scheduler._add_noise`` / ``_calculate_noise`` (the installed package, called): the
  noise factors ε_t of ``noise_range_t``, ``noise_pct``, ``noise_std``, ``noise_type``,
  ``noise_seed``.

The formulas of the first four are transcribed in plain float64 Python (their projects need JAX
stacks or GPUs to import); nothing is typed from memory and jaxsched is not imported. Each case is
``{"id", "source", "reference", "params", "plan", "steps", "values", "note"}``: ``params`` is the
source's own configuration, ``plan`` the resolved lengths that the source derives from it (cycle
boundaries, warmup and decay steps per cycle), from which `tests/test_golden_horizon.py` writes
the jaxsched expression.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import math
import sys
import types
from pathlib import Path

OUT = Path(__file__).with_name("horizon.json")
CASES: list[dict] = []

BIG_VISION = "google-research/big_vision@0127fb6b337ee2a27bf4e54dea79cff176527356"
HAEGELE = "epfml/schedules-and-scaling@17e78d600a7054bc6609a5ca6d050d141d4ad79e"
LEVANTER = "stanford-crfm/levanter@9263f81e8b453241332c2c0b2d2001bfb2d2241c"
OLMO = "allenai/OLMo-core@fa6c5014c9f6e9ee789da2d9c20d5126fee8df0d"


def add(case_id, source, reference, params, plan, steps, values, note=""):
    assert case_id not in {c["id"] for c in CASES}, case_id
    assert len(steps) == len(values) <= 2000, case_id
    assert all(math.isfinite(v) for v in values), case_id
    CASES.append({"id": case_id, "source": source, "reference": reference, "params": params,
                  "plan": plan, "steps": list(steps), "values": [float(v) for v in values],
                  "note": note})


# -- big_vision: rsqrt with a cooldown -------------------------------------------------------------


def big_vision_rsqrt(step, total_steps, base, warmup_steps, cooldown_steps, timescale, shift=0):
    """``create_learning_rate_schedule(total_steps, base=base, decay_type="rsqrt",
    warmup_steps=..., cooldown_steps=..., timescale=..., shift=...)``'s ``step_fn``."""
    lr = base
    if warmup_steps <= step:  # jnp.where(warmup_steps <= step, in decay, in warmup)
        lr = lr / math.sqrt(1 + (step + shift - warmup_steps) / timescale)
    else:
        lr = lr / math.sqrt(1 + shift / timescale)
    if warmup_steps:
        lr = lr * min(1.0, step / warmup_steps)
    if cooldown_steps:
        lr = lr * min(1.0, (total_steps - step) / cooldown_steps)
    return lr


def big_vision_cases():
    for cid, base, total, warm, cool, timescale in [
        ("big_vision-rsqrt-cooldown", 1e-3, 1000, 100, 200, 10_000),
        ("big_vision-rsqrt-no-warmup", 0.5, 600, 0, 150, 100),
        ("big_vision-rsqrt-long", 3e-4, 20_000, 1_000, 4_000, 1_000),
    ]:
        steps = range(total + 1) if total <= 2000 else range(0, total + 1, 20)
        values = [big_vision_rsqrt(t, total, base, warm, cool, timescale) for t in steps]
        params = {"total_steps": total, "base": base, "decay_type": "rsqrt",
                  "warmup_steps": warm, "cooldown_steps": cool, "timescale": timescale}
        add(cid, "big_vision", f"{BIG_VISION} big_vision/utils.py create_learning_rate_schedule",
            params, {"cooldown_start": total - cool}, steps, values,
            note="steps 0..total_steps: past it big_vision's cooldown factor turns negative")


# -- Hägele et al.: WSD with each cooldown shape ---------------------------------------------------


def haegele_wsd(n_iterations, final_lr_factor=0.0, n_warmup=1000, init_div_factor=100,
                fract_decay=0.1, decay_type="linear"):
    """``src/optim/utils.py`` ``wsd_schedule``: the LambdaLR factor of step ``step``."""
    n_anneal_steps = int(fract_decay * n_iterations)
    n_hold = n_iterations - n_anneal_steps

    def schedule(step):
        if step < n_warmup:
            return (step / n_warmup) + (1 - step / n_warmup) / init_div_factor
        elif step < n_hold:
            return 1.0
        elif step < n_iterations:
            x = (step - n_hold) / n_anneal_steps
            if decay_type == "linear":
                return final_lr_factor + (1 - final_lr_factor) * (1 - x)
            elif decay_type == "exp":
                return final_lr_factor**x
            elif decay_type == "cosine":
                return final_lr_factor + (1 - final_lr_factor) * (1 + math.cos(math.pi * x)) * 0.5
            elif decay_type == "miror_cosine":
                cosine_value = (final_lr_factor
                                + (1 - final_lr_factor) * (1 + math.cos(math.pi * x)) * 0.5)
                linear_value = final_lr_factor + (1 - final_lr_factor) * (1 - x)
                return linear_value * 2 - cosine_value
            elif decay_type == "square":
                return final_lr_factor + (1 - final_lr_factor) * (1 - x**2)
            elif decay_type == "sqrt":
                return final_lr_factor + (1 - final_lr_factor) * (1 - math.sqrt(x))
            raise ValueError(decay_type)
        else:
            return final_lr_factor

    return schedule, n_hold, n_anneal_steps


def haegele_cases():
    for decay_type, lr, iters, warm, fract, final in [
        ("linear", 1e-3, 400, 40, 0.2, 0.0),
        ("sqrt", 1e-3, 400, 40, 0.2, 0.0),
        ("cosine", 3e-4, 500, 50, 0.3, 0.1),
        ("miror_cosine", 1e-3, 400, 20, 0.25, 0.0),
        ("square", 2e-3, 300, 30, 0.2, 0.01),
        ("exp", 1e-3, 400, 40, 0.2, 0.01),
        ("sqrt", 6e-4, 1000, 100, 0.37, 0.05),
    ]:
        factor, n_hold, n_anneal = haegele_wsd(iters, final, warm, 100, fract, decay_type)
        steps = range(iters + 21)
        values = [lr * factor(t) for t in steps]  # LambdaLR: base lr times the factor
        params = {"lr": lr, "n_iterations": iters, "final_lr_factor": final, "n_warmup": warm,
                  "init_div_factor": 100, "fract_decay": fract, "decay_type": decay_type}
        add(f"haegele-wsd-{decay_type}-{iters}-{fract}", "haegele",
            f"{HAEGELE} src/optim/utils.py wsd_schedule, as LambdaLR(opt, ...) in src/main.py",
            params, {"hold_until": n_hold, "decay_steps": n_anneal}, steps, values)


# -- levanter: cycles with re-warmup --------------------------------------------------------------


def _convert_frac_or_steps(frac_or_steps, num_train_steps):
    if frac_or_steps < 0.0 or (frac_or_steps > 1.0 and frac_or_steps % 1 != 0):
        raise ValueError(frac_or_steps)
    if frac_or_steps <= 1.0:
        return int(frac_or_steps * num_train_steps)
    return int(frac_or_steps)


def _get_cycle_minima(cycles, total_main_steps):
    """``_get_cycle_minima`` for ``cycles`` (an int or a list; no cycle_length or haps)."""
    if isinstance(cycles, int):
        cooldown_points = [int(total_main_steps / cycles * (i + 1)) for i in range(cycles - 1)]
    elif isinstance(cycles, list):
        cooldown_points = list(cycles)
    else:
        cooldown_points = []
    cooldown_points.insert(0, 0)
    if cooldown_points[-1] != total_main_steps:
        cooldown_points.append(total_main_steps)
    return cooldown_points


# optax 0.2.8's schedules, in float64 Python.
def optax_linear(init_value, end_value, transition_steps):
    if transition_steps <= 0:
        return lambda count: init_value

    def schedule(count):
        count = min(max(count, 0), transition_steps)
        frac = 1 - count / transition_steps
        return (init_value - end_value) * frac + end_value

    return schedule


def optax_cosine(init_value, decay_steps, alpha=0.0, exponent=1.0):
    def schedule(count):
        count = min(float(count), float(decay_steps))
        cosine_decay = 0.5 * (1 + math.cos(math.pi * count / decay_steps))
        return init_value * ((1 - alpha) * cosine_decay**exponent + alpha)

    return schedule


def optax_join(schedules, boundaries):
    def schedule(step):
        output = schedules[0](step)
        for boundary, s in zip(boundaries, schedules[1:]):
            output = output if step < boundary else s(step - boundary)
        return output

    return schedule


def levanter_lr_scheduler(num_train_steps, learning_rate, min_lr_ratio, warmup, rewarmup,
                          decay, cycles, lr_schedule):
    """``OptimizerConfig.lr_scheduler`` (no cooldown, no cycle_length): the schedule and the
    resolved plan (per cycle: start, end, warmup steps, decay steps)."""
    total_main_steps = num_train_steps
    cooldown_points = _get_cycle_minima(cycles, total_main_steps)
    min_lr = learning_rate * min_lr_ratio
    schedules, boundaries, plan = [], [], []
    previous_end = 0.0
    for cycle, (start, end) in enumerate(zip(cooldown_points[:-1], cooldown_points[1:])):
        cycle_steps = end - start
        if cycle == 0:
            warmup_steps = _convert_frac_or_steps(warmup, cycle_steps)
        else:
            warmup_steps = _convert_frac_or_steps(rewarmup, cycle_steps)
        if warmup_steps != 0:
            schedules.append(optax_linear(previous_end, learning_rate, warmup_steps))
            boundaries.append(start + warmup_steps)
        lr_decay_steps = (_convert_frac_or_steps(decay, cycle_steps) if decay is not None
                          else cycle_steps - warmup_steps)
        stable_steps = cycle_steps - warmup_steps - lr_decay_steps
        if stable_steps != 0:
            schedules.append(lambda count, v=learning_rate: v)
            boundaries.append(start + warmup_steps + stable_steps)
        if lr_schedule == "cosine":
            schedule = optax_cosine(learning_rate, lr_decay_steps, min_lr_ratio)
        elif lr_schedule == "linear":
            schedule = optax_linear(learning_rate, min_lr, lr_decay_steps)
        else:
            raise ValueError(lr_schedule)
        plan.append({"start": start, "end": end, "warmup_steps": warmup_steps,
                     "decay_steps": lr_decay_steps, "warmup_from": previous_end})
        previous_end = schedule(lr_decay_steps)
        schedules.append(schedule)
        boundaries.append(end)
    return optax_join(schedules, boundaries[:len(schedules) - 1]), plan


def levanter_cases():
    for cid, kw in [
        ("levanter-3-cycles-linear-rewarmup", dict(
            num_train_steps=600, learning_rate=1e-3, min_lr_ratio=0.1, warmup=0.1,
            rewarmup=0.05, decay=0.3, cycles=3, lr_schedule="linear")),
        ("levanter-unequal-cycles-cosine-rewarmup", dict(
            num_train_steps=1000, learning_rate=3e-4, min_lr_ratio=0.0, warmup=50,
            rewarmup=20, decay=0.4, cycles=[200, 550], lr_schedule="cosine")),
        ("levanter-cycles-no-rewarmup", dict(
            num_train_steps=500, learning_rate=2e-3, min_lr_ratio=0.05, warmup=0.2,
            rewarmup=0.0, decay=0.5, cycles=4, lr_schedule="linear")),
        ("levanter-cycles-decay-whole-cycle", dict(
            num_train_steps=700, learning_rate=1e-3, min_lr_ratio=0.1, warmup=30,
            rewarmup=10, decay=None, cycles=[100, 400], lr_schedule="cosine")),
    ]:
        schedule, plan = levanter_lr_scheduler(**kw)
        steps = range(kw["num_train_steps"] + 31)
        add(cid, "levanter", f"{LEVANTER} src/levanter/optim/config.py lr_scheduler",
            kw, {"cycles": plan}, steps, [schedule(t) for t in steps])


# -- OLMo-core: WSDS ------------------------------------------------------------------------------


class OlmoWSDS:
    """``WSDS`` (warmup and decay given in steps), its ``__post_init__`` and ``get_lr``."""

    def __init__(self, period_lengths, period_lr_multipliers, warmup, decay, warmup_min_lr,
                 decay_min_lr):
        self.period_lengths = period_lengths
        self.period_lr_multipliers = period_lr_multipliers
        self.decay = decay
        self.warmup_min_lr = warmup_min_lr
        self.decay_min_lr = decay_min_lr
        self._warmup_steps = int(warmup)
        length0 = period_lengths[0]
        assert self._warmup_steps + self._resolve_decay(length0) <= length0
        self._adjusted_period_lengths = [length0 - self._warmup_steps] + period_lengths[1:]
        self._cum_period_end = []
        total = 0
        for length in self._adjusted_period_lengths:
            total += length
            self._cum_period_end.append(total)

    def _resolve_decay(self, length):
        return int(self.decay)

    def _find_period(self, x):
        for idx, end in enumerate(self._cum_period_end):
            if x <= end:
                return idx
        return len(self._cum_period_end) - 1

    def _get_peak_lr(self, initial_lr, pidx):
        if self.period_lr_multipliers is None:
            return initial_lr
        return initial_lr * self.period_lr_multipliers[pidx]

    def get_lr(self, initial_lr, current):
        if current < self._warmup_steps:  # _linear_warmup
            peak, warm = self._get_peak_lr(initial_lr, 0), self._warmup_steps
            return self.warmup_min_lr + (peak - self.warmup_min_lr) * min(current, warm) / warm
        adjusted_current = current - self._warmup_steps
        if adjusted_current >= self._cum_period_end[-1]:
            return self.decay_min_lr
        pidx = self._find_period(adjusted_current)
        start = 0 if pidx == 0 else self._cum_period_end[pidx - 1]
        length = self._adjusted_period_lengths[pidx]
        pos = min(max(adjusted_current - start, 0), length)
        decay = self._resolve_decay(self.period_lengths[pidx])
        stable = length - decay
        if pos < stable:
            return self._get_peak_lr(initial_lr, pidx)
        t = pos - stable
        peak = self._get_peak_lr(initial_lr, pidx)  # _linear_decay(peak, decay - t, decay, min)
        return self.decay_min_lr + (peak - self.decay_min_lr) * min(decay - t, decay) / decay


def olmo_cases():
    for cid, initial_lr, kw in [
        ("olmo-wsds-3-periods", 1e-3, dict(
            period_lengths=[300, 200, 250], period_lr_multipliers=None, warmup=50, decay=60,
            warmup_min_lr=0.0, decay_min_lr=0.0)),
        ("olmo-wsds-peaks-and-floor", 4e-4, dict(
            period_lengths=[120, 100, 150, 90], period_lr_multipliers=[1.0, 0.8, 0.5, 0.25],
            warmup=20, decay=40, warmup_min_lr=1e-5, decay_min_lr=2e-5)),
        ("olmo-wsds-decay-whole-period", 1e-3, dict(
            period_lengths=[100, 50, 80], period_lr_multipliers=[1.0, 2.0, 1.5], warmup=10,
            decay=50, warmup_min_lr=0.0, decay_min_lr=1e-4)),
    ]:
        sched = OlmoWSDS(**kw)
        steps = range(sum(kw["period_lengths"]) + 21)
        add(cid, "olmo", f"{OLMO} src/olmo_core/optim/scheduler.py WSDS.get_lr",
            dict(kw, initial_lr=initial_lr),
            {"cum_period_end": sched._cum_period_end,
             "adjusted_period_lengths": sched._adjusted_period_lengths},
            steps, [sched.get_lr(initial_lr, t) for t in steps],
            note="a period after the first covers (end_{i-1}, end_i] of the post-warmup steps: "
                 "the step at each period's end is at decay_min_lr, the next one at the peak")


# -- transformers: get_wsd_schedule, as a cooldown of a warmed-up constant -------------------------


def transformers_cases():
    import torch
    from transformers import __version__ as tf_version
    from transformers.optimization import get_wsd_schedule

    for warmup_type, decay_type, lr, warm, stable, decay, ratio in [
        ("linear", "1-sqrt", 1e-3, 20, 60, 40, 0.0),
        ("cosine", "cosine", 5e-4, 15, 30, 45, 0.1),
        ("1-sqrt", "linear", 2e-3, 25, 0, 50, 0.05),
    ]:
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
        kw = {"num_warmup_steps": warm, "num_stable_steps": stable, "num_decay_steps": decay,
              "warmup_type": warmup_type, "decay_type": decay_type, "min_lr_ratio": ratio}
        sched = get_wsd_schedule(opt, **kw)
        steps = range(warm + stable + decay + 11)
        values = []
        for _ in steps:
            values.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        add(f"transformers-wsd-{warmup_type}-{decay_type}", "transformers",
            f"transformers=={tf_version} get_wsd_schedule on torch.optim.SGD(lr={lr!r})",
            dict(kw, lr=lr), {}, steps, values)


# -- timm: learning-rate noise --------------------------------------------------------------------


def timm_module(name: str):
    """A module of timm's ``timm.scheduler`` package. timm's package ``__init__`` imports its model
    zoo, which needs a torchvision built for the installed torch; the scheduler modules need only
    torch, so they are loaded (the real files, unchanged) under bare placeholder packages."""
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("timm is not installed")
    root = Path(list(spec.submodule_search_locations)[0])
    for package, path in [("timm", root), ("timm.scheduler", root / "scheduler")]:
        if package not in sys.modules:
            module = types.ModuleType(package)
            module.__path__ = [str(path)]
            sys.modules[package] = module
    return importlib.import_module(f"timm.scheduler.{name}")


def timm_noise_cases():
    import torch

    base = timm_module("scheduler").Scheduler

    class Constant(base):
        """timm's base Scheduler (which alone takes noise_type) with a constant value: the lr of
        step t is ``lr + lr·ε_t`` from timm's own ``_add_noise``."""

        def _get_lr(self, t):
            return list(self.base_values)

    version = importlib.metadata.version("timm")
    for cid, noise_type, pct, std, seed, noise_range, n in [
        ("timm-noise-normal-defaults", "normal", 0.67, 1.0, 42, [0, 2000], 2000),
        ("timm-noise-normal-std", "normal", 0.15, 0.1, 7, [0, 2000], 2000),
        ("timm-noise-uniform", "uniform", 0.3, 1.0, 3, [0, 2000], 2000),
        ("timm-noise-window", "normal", 0.67, 1.0, 42, [10, 40], 60),
        ("timm-noise-from", "normal", 0.67, 1.0, 42, 25, 60),
    ]:
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        kw = {"param_group_field": "lr", "noise_range_t": noise_range, "noise_type": noise_type,
              "noise_pct": pct, "noise_std": std, "noise_seed": seed, "t_in_epochs": True}
        sched = Constant(opt, **kw)
        eps = []
        for t in range(n):
            sched.step(t)
            eps.append(opt.param_groups[0]["lr"] - 1.0)  # lr = 1 + 1·ε_t
        add(cid, "timm", f"timm=={version} timm.scheduler.scheduler.Scheduler(...).step(t) "
            f"on SGD(lr=1.0), a constant _get_lr: Scheduler._add_noise / _calculate_noise",
            kw, {}, range(n), eps,
            note="values are ε_t = lr_t / lr - 1: PyTorch's draws; compared as distributions")


def main():
    big_vision_cases()
    haegele_cases()
    levanter_cases()
    olmo_cases()
    transformers_cases()
    timm_noise_cases()
    text = "[\n" + ",\n".join(json.dumps(c, separators=(",", ":")) for c in CASES) + "\n]\n"
    OUT.write_text(text)
    per_source: dict[str, int] = {}
    for c in CASES:
        per_source[c["source"]] = per_source.get(c["source"], 0) + 1
    print(f"wrote {len(CASES)} cases ({len(text) / 1024:.0f} KiB) to {OUT}")
    for source, n in sorted(per_source.items()):
        print(f"  {source}: {n}")


if __name__ == "__main__":
    main()
