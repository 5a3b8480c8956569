"""Generates tests/golden/plateau.json from PyTorch's ReduceLROnPlateau.

Run with a Python that has torch (torch is never a dependency of jaxsched):

    python tests/golden/generate_plateau.py

Every case feeds one metric sequence, one value per ``scheduler.step(metric)``, to
``torch.optim.lr_scheduler.ReduceLROnPlateau(SGD([p], lr=1.0), ..., eps=0.0)`` and records, after
each step, the lr ratio ``lr / base_lr`` (base_lr = 1.0, so ``min_lr`` is the floor of the ratio,
i.e. jaxsched's ``min_scale``), ``num_bad_epochs`` (jaxsched's ``wait``), ``cooldown_counter``
(``cooldown_count``) and ``best_at``: the index of the observation whose value is torch's ``best``
(-1 while it is still +-inf). The scale sequence is run-length encoded, ``[[ratio, repeats],
...]``, to keep the file small; the ratios are PyTorch's float64 values as they are.

The metric values lie on a grid of 2**-12 with magnitudes below 4, so they are exact in float32
and float64 alike, and the generator checks that no observation lies within 1e-6 (relative) of
its improvement threshold: float32 arithmetic (jaxsched) then takes the same decisions as
PyTorch's float64 arithmetic, and the tests can demand exact decisions.

Two documented departures from PyTorch are produced from PyTorch itself:

* an infinity in the improving direction (-inf in "min" mode, +inf in "max" mode) is, in
  jaxsched, a bad observation like NaN; PyTorch would make it its best forever. For those
  positions torch is fed NaN (``torch_values`` in the sequence), which PyTorch treats as a bad
  observation. Infinities in the bad direction and NaNs are fed to torch as they are.
* for negative metrics, jaxsched's "rel" test ``v < b - |b| * threshold`` equals PyTorch's
  ``v < b * (1 - threshold')`` with ``threshold' = -threshold`` while the best b is negative
  ("max" mode likewise). The "negative_*" sequences are all negative, so their "rel" cases are
  generated with ``torch_threshold = -threshold``; the same cases run with ``+threshold``, i.e.
  PyTorch's own (sign-wrong) answer, are stored under ``"torch_raw"`` for the test to show that
  they differ.
"""

from __future__ import annotations

import itertools
import json
import math
import pathlib

import numpy as np
import torch

LENGTH = 40
GRID = 2.0**-12
OUT = pathlib.Path(__file__).with_name("plateau.json")


def _grid(x: np.ndarray) -> list[float]:
    return [float(v) for v in np.round(np.asarray(x, np.float64) / GRID) * GRID]


def sequences() -> dict[str, dict]:
    rng = np.random.default_rng(20240604)
    t = np.arange(LENGTH, dtype=np.float64)
    noise = lambda scale: scale * rng.standard_normal(LENGTH)  # noqa: E731

    decreasing = 0.4 + 2.0 * np.exp(-t / 8) + noise(0.03)
    slow = 1.5 - 0.01 * t + noise(0.02)
    increasing = 0.5 + 0.45 * (1 - np.exp(-t / 8)) + noise(0.02)
    jitter = 1.0 + GRID * rng.integers(-1, 2, LENGTH)

    def with_(base, **at):
        values = _grid(base)
        for special, indices in at.items():
            for i in indices:
                values[i] = {"nan": math.nan, "pinf": math.inf, "ninf": -math.inf}[special]
        return values

    seqs = {
        "decreasing_noisy": ("min", _grid(decreasing)),
        "decreasing_slow": ("min", _grid(slow)),
        "flat_min": ("min", _grid(np.ones(LENGTH))),
        "jitter_min": ("min", _grid(jitter)),
        "nan_min": ("min", with_(decreasing, nan=[3, 10, 11, 12, 25])),
        "inf_min": ("min", with_(decreasing, pinf=[5, 17, 18], ninf=[8, 30])),
        "nan_first_min": ("min", with_(slow, nan=[0, 1], ninf=[2])),
        "negative_min": ("min", _grid(-0.5 - 1.5 * (1 - np.exp(-t / 8)) + noise(0.03))),
        "increasing_noisy": ("max", _grid(increasing)),
        "flat_max": ("max", _grid(np.ones(LENGTH))),
        "jitter_max": ("max", _grid(jitter)),
        "nan_inf_max": ("max", with_(increasing, nan=[4, 20], ninf=[7, 8], pinf=[12, 33])),
        "negative_max": ("max", _grid(-3.0 + 2.5 * (1 - np.exp(-t / 8)) + noise(0.03))),
    }
    out = {}
    for name, (mode, values) in seqs.items():
        improving_inf = -math.inf if mode == "min" else math.inf
        torch_values = [math.nan if v == improving_inf else v for v in values]
        out[name] = {"mode": mode, "values": values, "torch_values": torch_values}
    return out


DEFAULTS = dict(factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel", cooldown=0,
                min_lr=0.0)


def configs() -> list[dict]:
    variants = [
        {},  # PyTorch's defaults
        dict(patience=0), dict(patience=1), dict(patience=2), dict(patience=4),
        dict(threshold=0.0, patience=2), dict(threshold=0.01, patience=2),
        dict(threshold=0.05, patience=1),
        dict(threshold_mode="abs", threshold=0.0, patience=2),
        dict(threshold_mode="abs", threshold=0.01, patience=2),
        dict(threshold_mode="abs", threshold=0.1, patience=1),
        dict(cooldown=1, patience=0), dict(cooldown=3, patience=1), dict(cooldown=2, patience=3),
        dict(factor=0.5, patience=1), dict(factor=0.9, patience=0),
        dict(min_lr=0.01, factor=0.5, patience=0),
        dict(min_lr=0.3, factor=0.5, patience=1, cooldown=1),
        dict(min_lr=0.25, factor=0.5, patience=0),  # the floor is hit exactly
        dict(min_lr=1.0, patience=0),  # never reduces
    ]
    grid = list(itertools.product(
        [0.1, 0.5, 0.7],  # factor
        [0, 1, 3],  # patience
        ["rel", "abs"],  # threshold_mode
        [0.0, 1e-3, 0.02],  # threshold
        [0, 1, 2],  # cooldown
        [0.0, 0.05],  # min_lr
    ))
    rng = np.random.default_rng(7)
    for i in rng.choice(len(grid), size=8, replace=False):
        f, p, tm, th, cd, ml = grid[i]
        variants.append(dict(factor=f, patience=p, threshold_mode=tm, threshold=th, cooldown=cd,
                             min_lr=ml))
    return [{**DEFAULTS, **v} for v in variants]


def run_torch(values: list[float], mode: str, cfg: dict, threshold: float) -> dict:
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode=mode, factor=cfg["factor"], patience=cfg["patience"], threshold=threshold,
        threshold_mode=cfg["threshold_mode"], cooldown=cfg["cooldown"], min_lr=cfg["min_lr"],
        eps=0.0,
    )
    out = {"scale": [], "wait": [], "cooldown": [], "best_at": []}
    best_at = -1
    for i, v in enumerate(values):
        opt.step()
        before = sched.best
        sched.step(v)
        if sched.best != before:
            best_at = i
        assert (best_at == -1 and math.isinf(sched.best)) or values[best_at] == sched.best
        out["scale"].append(float(opt.param_groups[0]["lr"]) / 1.0)
        out["wait"].append(int(sched.num_bad_epochs))
        out["cooldown"].append(int(sched.cooldown_counter))
        out["best_at"].append(best_at)
    out["scale"] = _run_lengths(out["scale"])
    return out


def _run_lengths(xs: list[float]) -> list[list]:
    runs: list[list] = []
    for x in xs:
        if runs and runs[-1][0] == x:
            runs[-1][1] += 1
        else:
            runs.append([x, 1])
    return runs


def check_margins(values: list[float], mode: str, cfg: dict, best_at: list[int]) -> None:
    """No observation within 1e-6 (relative) of jaxsched's improvement threshold."""
    th = cfg["threshold"]
    if th == 0.0:
        return  # the threshold is the best itself, exact in any precision
    for i, v in enumerate(values):
        prev = best_at[i - 1] if i else -1
        if prev < 0 or not math.isfinite(v):
            continue
        b = values[prev]
        margin = abs(b) * th if cfg["threshold_mode"] == "rel" else th
        bound = b - margin if mode == "min" else b + margin
        if abs(v - bound) <= 1e-6 * max(abs(bound), 1.0):
            raise AssertionError(f"near tie at step {i}: value {v} vs threshold {bound} ({cfg})")


def main() -> None:
    seqs = sequences()
    cases, raw = [], []
    for name, seq in seqs.items():
        negative = name.startswith("negative_")
        assert not negative or all(v < 0 for v in seq["values"])
        for cfg in configs():
            flip = negative and cfg["threshold_mode"] == "rel"
            torch_threshold = -cfg["threshold"] if flip else cfg["threshold"]
            result = run_torch(seq["torch_values"], seq["mode"], cfg, torch_threshold)
            check_margins(seq["torch_values"], seq["mode"], cfg, result["best_at"])
            options = {k: cfg[k] for k in DEFAULTS}
            cases.append({"sequence": name, "options": options,
                          "torch_threshold": torch_threshold, **result})
            if flip and cfg["threshold"] > 0:
                raw.append({"sequence": name, "options": options,
                            "torch_threshold": cfg["threshold"],
                            **run_torch(seq["torch_values"], seq["mode"], cfg, cfg["threshold"])})
    assert any(r["scale"] != c["scale"] for r in raw for c in cases
               if (c["sequence"], c["options"]) == (r["sequence"], r["options"]))
    data = {
        "torch_version": torch.__version__,
        "generator": "tests/golden/generate_plateau.py",
        "note": "ReduceLROnPlateau(SGD(lr=1.0), eps=0.0); state after each scheduler.step(value)",
        "sequences": seqs,
        "cases": cases,
        "torch_raw": raw,
    }
    lines = ["{"]
    for i, (key, val) in enumerate(data.items()):
        end = "," if i < len(data) - 1 else ""
        if isinstance(val, list):
            items = ",\n".join("  " + json.dumps(c, separators=(",", ":")) for c in val)
            lines.append(f"{json.dumps(key)}: [\n{items}\n]{end}")
        elif isinstance(val, dict):
            items = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}"
                               for k, v in val.items())
            lines.append(f"{json.dumps(key)}: {{\n{items}\n}}{end}")
        else:
            lines.append(f"{json.dumps(key)}: {json.dumps(val)}{end}")
    lines.append("}")
    OUT.write_text("\n".join(lines) + "\n")
    print(f"{OUT}: {len(cases)} cases, {len(raw)} raw, {OUT.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
