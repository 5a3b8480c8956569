"""The published loss curves of the Multi-Power Law paper (tests/data/loss-curves, MIT; see the
README there): their schedules, exactly as the README defines them, and the paper's split."""

import pathlib

import jax
import numpy as np

import jaxsched as js

DATA = pathlib.Path(__file__).parent / "data" / "loss-curves"
PEAK, WARMUP = 3e-4, 2160
TRAIN = ("cosine_24000", "constant_24000", "wsdcon_9")
TEST = ("cosine_72000", "constant_72000", "wsd_20000_24000", "wsdld_20000_24000", "wsdcon_3",
        "wsdcon_18")
# The paper's published test-set figures (README): average PredE and WorstE.
PAPER = {"25": (0.110e-2, 0.41e-2), "100": (0.142e-2, 0.58e-2)}
# The paper's fitted parameters [L0, A, alpha, B, C, beta, gamma], as its code (src/config.py,
# PARAMS, at the commit of the README) prints them.
PAPER_FIT = {
    "25": (3.04045406, 0.52468604, 0.50786857, 363.78751622, 2.06560812, 0.58279013, 0.64142257),
    "100": (2.6514477, 0.60115152, 0.45295811, 437.9464276, 2.13245612, 0.59785199, 0.65523644),
}


def rates(name):
    """The rate at every step of the run `name` (float64), from the README's definitions."""
    total = 72000 if name.endswith("72000") else 24000
    t = np.arange(total, dtype=np.float64)
    lr = np.full(total, PEAK)
    if name.startswith("cosine"):
        lr = 3e-5 + 0.5 * (PEAK - 3e-5) * (1 + np.cos(np.pi * (t - WARMUP) / (total - WARMUP)))
    elif name.startswith("wsdld"):
        lr = np.where(t < 20000, PEAK, PEAK + (3e-5 - PEAK) * (t - 20000) / 4000)
    elif name.startswith("wsdcon"):
        lr = np.where(t < 8000, PEAK, int(name.split("_")[1]) * 1e-5)
        lr = lr[:16000]
    elif name.startswith("wsd"):
        lr = np.where(t < 20000, PEAK, PEAK ** ((24000 - t) / 4000) * 3e-5 ** ((t - 20000) / 4000))
    lr[:WARMUP] = np.linspace(0, PEAK, WARMUP)
    return lr


def curve(size, name):
    """(rates, steps, loss) of a run: logged steps below the schedule's length."""
    table = np.loadtxt(DATA / size / f"{name}.csv", delimiter=",", skiprows=1)
    lr = rates(name)
    keep = table[:, 0] < lr.size
    return lr, table[keep, 0].astype(np.int64), table[keep, 2]


def errors_on_test_curves(law, size, by_curve=False):
    """PredE and WorstE of `law` on the paper's six test curves (fractions, not percent):
    averaged over the curves, or one row per curve (`by_curve`). Each curve's rates and steps
    are padded to the longest's (the last rate and step repeated; a prediction at step t reads
    the rates up to t only), so that one compiled `predict` serves all six."""
    curves = [curve(size, name) for name in TEST]
    length, points = (max(c[i].size for c in curves) for i in (0, 1))
    rows = []
    for rates, steps, loss in curves:
        rates = np.pad(rates, (0, length - rates.size), mode="edge")
        padded = np.pad(steps, (0, points - steps.size), mode="edge")
        predicted = np.asarray(law.predict(rates, padded), np.float64)[:steps.size]
        relative = np.abs(predicted - loss) / loss
        rows.append((relative.mean(), relative.max()))
    return np.array(rows) if by_curve else np.mean(rows, axis=0)


SHAPES = ("linear", "cosine", "sqrt", "square", "mirror_cosine", "exponential")


def best_wsd(law, steps=24000):
    """The warmup-stable-decay schedule (peak 3e-4, warmup 2,160) that `law` predicts to end
    lowest: cooldowns of 5 %, 10 %, ..., 50 % of `steps` in every shape of API.md §2a, to 0 and
    to 3e-5 (the exponential to 3e-5 only); each shape's ten lengths in one vmapped call.

    Returns:
      (predicted final loss, shape, cooldown fraction, end value, schedule).
    """
    fractions = np.arange(1, 11) * 0.05
    best = (np.inf,)
    for shape in SHAPES:
        for end in ((3e-5,) if shape == "exponential" else (0.0, 3e-5)):
            runs = [js.warmup_stable_decay(PEAK, WARMUP, steps - WARMUP - d, d, shape=shape,
                                           end_value=end)
                    for d in np.round(fractions * steps).astype(int).tolist()]
            final = jax.vmap(lambda s: law.predict(s, steps - 1))(js.stack(runs))
            i = int(np.argmin(final))
            best = min(best, (float(final[i]), shape, float(fractions[i]), end, runs[i]),
                       key=lambda b: b[0])
    return best
