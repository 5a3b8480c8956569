"""Float64 NumPy references of the documented formulas, and tolerance-aware comparisons.

The references are written the plain way (Python integers for positions, float64 for the rest),
independently of the library's float32 tricks, so that a wrong trick shows up as a mismatch.
"""

from __future__ import annotations

import math
import os
import pathlib
import struct
import subprocess
import sys

import numpy as np


def _lerp(a, b, f):
    return a + (b - a) * f


def _cos(a, b, f):
    """From a (f = 0) to b (f = 1) along (1 + cos πf)/2, starting from the nearer end so that no
    difference cancels: a + (b - a)·sin²(πf/2) on the first half, b + (a - b)·sin²(π(1-f)/2) on
    the second (exact at both ends)."""
    if f <= 0.5:
        return a + (b - a) * math.sin(math.pi * f / 2) ** 2
    return b + (a - b) * math.sin(math.pi * (1 - f) / 2) ** 2


def reference(kind: str, kw: dict, t: int) -> float:
    """The value of shape `kind` with arguments `kw` at integer step `t` (float64)."""
    t = max(int(t), 0)
    if kind == "constant":
        return kw["value"]
    if kind == "linear":
        return _lerp(kw["init_value"], kw["end_value"], min(t, kw["steps"]) / kw["steps"])
    if kind == "step_decay":
        return kw["init_value"] * kw.get("gamma", 0.1) ** (t // kw["every"])
    if kind == "multistep_decay":
        passed = sum(1 for m in kw["boundaries"] if m <= t)
        return kw["init_value"] * kw.get("gamma", 0.1) ** passed
    if kind == "exponential_decay":
        n, begin = kw.get("transition_steps", 1), kw.get("transition_begin", 0)
        elapsed = max(t - begin, 0)
        p = elapsed // n if kw.get("staircase", False) else elapsed / n
        v = kw["init_value"] * math.exp(min(p * math.log(kw["gamma"]), 700.0))
        end = kw.get("end_value")
        if end is not None:
            v = max(v, end) if kw["gamma"] < 1 else min(v, end)
        return v
    if kind == "polynomial_decay":
        n, end = kw["steps"], kw.get("end_value", 0.0)
        return (kw["init_value"] - end) * (1 - min(t, n) / n) ** kw.get("power", 1.0) + end
    if kind == "inverse_time_decay":
        n = kw["transition_steps"]
        p = t // n if kw.get("staircase", False) else t / n
        return kw["init_value"] / (1 + kw["decay_rate"] * p)
    if kind == "inverse_sqrt":
        w = kw.get("warmup_steps", 0)
        tau = kw.get("timescale") or (w or 10_000)
        if t < w:
            return kw["init_value"] * t / w
        return kw["init_value"] / math.sqrt((t + tau - w) / tau)
    if kind == "cosine_annealing":
        n = kw["steps"]
        f = min(t, n) / n if n else 1.0
        return _cos(kw["init_value"], kw.get("end_value", 0.0), f ** kw.get("k", 1.0))
    if kind == "tanh_decay":
        n, end = kw["steps"], kw.get("end_value", 0.0)
        if t >= n:
            return end
        x = kw.get("lower", -7.0) * (1 - t / n) + kw.get("upper", 3.0) * t / n
        return end + (kw["init_value"] - end) * (1 - math.tanh(x)) / 2
    if kind == "sgdr":
        n, m = kw["cycle_steps"], kw.get("cycle_mult", 1)
        if m == 1:
            i, start, length = t // n, (t // n) * n, n
        else:
            i, start, length = 0, 0, n
            while t >= start + length:
                start, length, i = start + length, length * m, i + 1
        low = kw.get("end_value", 0.0)
        if kw.get("cycles") is not None and i >= kw["cycles"]:
            return low
        peak = max(kw["init_value"] * kw.get("cycle_decay", 1.0) ** i, low)
        return _cos(peak, low, (t - start) / length)
    if kind == "cyclic":
        up = kw["up_steps"]
        down = kw.get("down_steps") if kw.get("down_steps") is not None else up
        c, p = divmod(t, up + down)
        w = p / up if p <= up else (up + down - p) / down
        mode = kw.get("mode", "triangular")
        scale = {"triangular": 1.0, "triangular2": 0.5**c,
                 "exp_range": kw.get("gamma", 1.0) ** t}[mode]
        return kw["min_value"] + (kw["max_value"] - kw["min_value"]) * scale * w
    if kind in ("one_cycle", "one_cycle_momentum"):
        total, pct = kw["steps"], kw.get("pct_start", 0.3)
        three = kw.get("three_phase", False)
        if kind == "one_cycle":
            peak = kw["peak_value"]
            init = peak / kw.get("div_factor", 25.0)
            final = init / kw.get("final_div_factor", 1e4)
            values = [init, peak, init, final] if three else [init, peak, final]
        else:
            lo, hi = kw.get("min_value", 0.85), kw.get("max_value", 0.95)
            values = [hi, lo, hi, hi] if three else [hi, lo, hi]
        ends = ([pct * total - 1, 2 * pct * total - 2, total - 1] if three
                else [pct * total - 1, total - 1])
        x = min(float(t), ends[-1])
        start = 0.0
        for i, end in enumerate(ends):
            if x <= end or i == len(ends) - 1:
                f = (x - start) / (end - start)
                anneal = _cos if kw.get("anneal", "cos") == "cos" else _lerp
                return anneal(values[i], values[i + 1], f)
            start = end
    if kind == "log_annealing":
        n, low = kw["steps"], kw.get("end_value", 0.0)
        w = math.log((n + 1) / (min(t, n) + 1)) / math.log(n + 1) if n else 0.0
        return low + (kw["init_value"] - low) * w
    if kind == "warmup_stable_decay":
        w, s, d = kw["warmup_steps"], kw["stable_steps"], kw["decay_steps"]
        peak, init, end = kw["peak_value"], kw.get("init_value", 0.0), kw.get("end_value", 0.0)
        if t < w:
            return _lerp(init, peak, t / w)
        if t < w + s:
            return peak
        f = min(t - w - s, d) / d if d else 1.0
        return anneal_reference(kw.get("shape", "linear"), peak, end, f)
    raise KeyError(kind)


def anneal_reference(shape: str, start: float, end: float, f: float) -> float:
    """The §2a anneal from `start` to `end` at fraction `f`, in float64 (API.md's formulas)."""
    if shape == "exponential":
        return start ** (1 - f) * end**f
    curve = {"linear": 1 - f, "cosine": (1 + math.cos(math.pi * f)) / 2, "sqrt": 1 - math.sqrt(f),
             "square": 1 - f * f,
             "mirror_cosine": 2 * (1 - f) - (1 + math.cos(math.pi * f)) / 2}[shape]
    return end + (start - end) * curve


def references(kind: str, kw: dict, steps) -> np.ndarray:
    return np.array([reference(kind, kw, int(t)) for t in np.asarray(steps).ravel()])


def assert_close(actual, expected, rtol: float, atol: float = 0.0, what: str = "") -> None:
    """`np.testing.assert_allclose` in float64 with a message naming the worst step."""
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def power_tolerance(expected, init: float, rtol: float = 2e-6) -> np.ndarray:
    """The float32 tolerance of a value: `rtol` relative, plus the error of a power ``gamma**p``.

    A power is computed as ``exp(p·ln gamma)``; float32's rounding of the exponent makes its
    relative error about ``|ln(value/init)|·2**-23``, which is the second term.
    """
    expected = np.asarray(expected, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.abs(np.log(np.abs(expected) / abs(init))) if init else np.zeros_like(expected)
    return rtol + np.where(np.isfinite(logs), logs, 0.0) * 1.2e-7


def reference_config(config: dict, t: int) -> float:
    """The value of the schedule that `config` (from `jaxsched.to_config`) describes, at `t`.

    Shapes go to `reference`; combinators follow their documented formulas, in float64 with
    Python integers for positions.
    """
    t = max(int(t), 0)
    kind = config["kind"]
    kw = {k: v for k, v in config.items() if k != "kind"}
    if kind == "join":
        bounds = kw["boundaries"]
        i = sum(1 for b in bounds if b <= t)
        start = bounds[i - 1] if i else 0
        return reference_config(kw["schedules"][i], t - start)
    if kind == "piecewise_constant":
        return kw["values"][sum(1 for b in kw["boundaries"] if b <= t)]
    if kind == "piecewise_linear":
        knots, values = kw["boundaries"], kw["values"]
        if t < knots[0]:
            return values[0]
        for i in range(len(knots) - 1):
            if knots[i] <= t < knots[i + 1]:
                return _lerp(values[i], values[i + 1], (t - knots[i]) / (knots[i + 1] - knots[i]))
        return values[-1]
    if kind == "warmup":
        n, v0 = kw["steps"], kw["init_value"]
        if t >= n:
            return reference_config(kw["schedule"], t - n)
        v, f = reference_config(kw["schedule"], 0), t / n
        if kw["shape"] == "linear":
            return _lerp(v0, v, f)
        if kw["shape"] == "cosine":
            return _cos(v0, v, f)
        return v0 * (v / v0) ** f
    if kind == "staircase":
        k = kw["every"]
        return reference_config(kw["schedule"], k * (t // k))
    if kind == "repeat":
        p = kw["period"]
        return kw["decay"] ** (t // p) * reference_config(kw["schedule"], t % p)
    if kind == "per_epoch":
        return reference_config(kw["schedule"], t // kw["steps_per_epoch"])
    if kind == "clip":
        v = reference_config(kw["schedule"], t)
        if kw["min_value"] is not None:
            v = max(v, kw["min_value"])
        if kw["max_value"] is not None:
            v = min(v, kw["max_value"])
        return v
    if kind == "binary":
        left, right = (reference_config(x, t) if isinstance(x, dict) else x
                       for x in (kw["left"], kw["right"]))
        ops = {"add": lambda: left + right, "sub": lambda: left - right,
               "mul": lambda: left * right, "div": lambda: left / right}
        return ops[kw["op"]]()
    return reference(kind, kw, t)


# -- reduce on plateau ---------------------------------------------------------------------------


def f32(x: float) -> float:
    """x rounded to the nearest float32 (overflow to +-inf), as a Python float."""
    try:
        return struct.unpack("f", struct.pack("f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def plateau_improves(v: float, best: float, mode: str, threshold_mode: str,
                     threshold: float) -> bool:
    """Whether a finite `v` improves on a finite `best`, as `js.reduce_on_plateau` documents
    it: ``v < best - |best| * threshold`` ("min", "rel") evaluated as ``best - v > margin``,
    the difference and the margin each rounded once to float32."""
    margin = f32(abs(best) * threshold) if threshold_mode == "rel" else threshold
    gain = f32(best - v) if mode == "min" else f32(v - best)
    return gain > margin


def plateau_reference(values, *, mode, threshold_mode, factor, patience, threshold, cooldown,
               min_scale, accumulation_steps):
    """PyTorch's ReduceLROnPlateau.step rules as API.md §4 states them, one update at a time.

    Returns one tuple (scale, best, wait, cooldown_count, count, accumulated) per update.
    """
    scale, best = 1.0, math.inf if mode == "min" else -math.inf
    wait = cooldown_count = 0
    window = 0      # values seen in the current accumulation window
    total = 0.0     # their float32 running sum
    rows = []
    for v in values:
        window += 1
        total = f32(total + v)
        if window == accumulation_steps:
            observation = f32(total / accumulation_steps)  # one PyTorch "epoch"
            window, total = 0, 0.0
            if not math.isfinite(observation):
                improved = False  # NaN and +-inf: never an improvement, never the best
            elif math.isinf(best):
                improved = True   # the first finite observation
            else:
                improved = plateau_improves(observation, best, mode, threshold_mode, threshold)
            if improved:
                best, wait = observation, 0
            else:
                wait += 1
            if cooldown_count > 0:
                cooldown_count, wait = cooldown_count - 1, 0
            if wait > patience:
                scale = max(f32(scale * factor), min_scale)
                cooldown_count, wait = cooldown, 0
        rows.append((scale, best, wait, cooldown_count, window, total))
    return rows


def run_on_eight_cpu_devices(script: str) -> None:
    """Runs `script` in a new Python with 8 simulated CPU devices (XLA_FLAGS has to be set before
    jax is imported) and the checkout on its path; warnings are errors. It must print "OK"."""
    root = pathlib.Path(__file__).resolve().parents[1]
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu")
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    result = subprocess.run([sys.executable, "-W", "error", "-c", script], env=env, cwd=root,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "OK" in result.stdout, result.stdout + result.stderr


def count_equations(jaxpr) -> int:
    """Equations of a jaxpr, counting those of nested jaxprs (scan bodies, inner jits) too."""
    n = 0
    for eqn in jaxpr.eqns:
        n += 1
        for param in eqn.params.values():
            for sub in param if isinstance(param, (list, tuple)) else [param]:
                if hasattr(sub, "jaxpr") and hasattr(sub, "consts"):  # ClosedJaxpr
                    n += count_equations(sub.jaxpr)
                elif hasattr(sub, "eqns"):  # Jaxpr
                    n += count_equations(sub)
    return n
