"""Draws docs/laws.png, the figure of docs/laws.md, and prints the numbers the page quotes.

    python tools/laws_figure.py

Fits both laws on the Multi-Power Law paper's training curves (tests/data/loss-curves) of the
25M and 100M models, predicts the six test curves, searches the best 24,000-step schedule with
`js.optimize_schedule` and compares it with cosine and the best warmup-stable-decay.
"""

from __future__ import annotations

import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jaxsched as js  # noqa: E402
from tests import loss_curves as data  # noqa: E402

PEAK, WARMUP, T = 3e-4, 2160, 24000


def errors(law, size, by_curve=False):
    """PredE and WorstE (%) on the paper's test curves: averaged, or `by_curve`."""
    return 100 * data.errors_on_test_curves(law, size, by_curve)


def main() -> None:
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)
    cosine = js.join([js.linear(0.0, PEAK, WARMUP), js.cosine_annealing(PEAK, T - WARMUP, 3e-5)],
                     [WARMUP])
    for column, size in enumerate(("25", "100")):
        curves = [js.LossCurve(*data.curve(size, n), name=n) for n in data.TRAIN]
        laws = {form: js.fit_loss_law(curves, form) for form in ("multi_power", "momentum")}
        minimum = js.fit_loss_law(curves, method="levenberg_marquardt")
        paper = js.LossLaw("multi_power", dict(zip(laws["multi_power"].params,
                                                   data.PAPER_FIT[size])))
        for label, law in {**laws, "multi_power, levenberg_marquardt": minimum}.items():
            print(f"{size}M {label}: {law}; test PredE / WorstE (%): "
                  f"{np.round(errors(law, size), 3).tolist()}")
        print(f"{size}M PredE (%) by test curve, {data.TEST}:")
        for label, law in (("paper's parameters", paper), ("default", laws["multi_power"]),
                           ("minimum", minimum)):
            print(f"  {label:>18}: {np.round(errors(law, size, by_curve=True)[:, 0], 3).tolist()}")
        law = laws["multi_power"]
        ax = axes[column]
        for i, name in enumerate(data.TRAIN + data.TEST):
            rates, steps, loss = data.curve(size, name)
            ax.plot(steps, loss, color="0.6", lw=2.5, alpha=0.6)
            ax.plot(steps, law.predict(rates, steps), lw=1, ls="-" if i < 3 else "--",
                    label=name if column == 0 else None)
        ax.set(title=f"{size}M: data (grey), multi-power law fitted on 3 (solid), "
               f"predicted (dashed)", xlabel="step", ylabel="training loss", ylim=(None, 3.9))
        ax.title.set_fontsize(8)
        found = js.optimize_schedule(law, T, peak_value=PEAK, warmup_steps=WARMUP)
        wsd_loss, shape, fraction, end, wsd = data.best_wsd(law)
        print(f"{size}M predicted final loss: optimize_schedule "
              f"{float(law.predict(found, T - 1)):.5f}, cosine to 3e-5 "
              f"{float(law.predict(cosine, T - 1)):.5f}, best WSD {wsd_loss:.5f} ({shape}, "
              f"{fraction:.0%} cooldown, to {end})")
        values = np.asarray(found(np.arange(T)))
        crossings = {r: WARMUP + int(np.argmax(values[WARMUP:] < r * PEAK)) for r in
                     (0.99, 0.5, 0.1, 0.01)}
        print(f"  its shape: below 99/50/10/1 % of the peak at steps {list(crossings.values())}; "
              f"last value {values[-1]:.3g}")
        axes[2].plot(values, label=f"optimize_schedule, {size}M law")
        if column == 0:
            axes[2].plot(np.asarray(wsd(np.arange(T))), ls=":", label=f"best WSD ({shape}, "
                         f"{fraction:.0%}), 25M law")
    axes[0].legend(fontsize=6, ncol=2)
    axes[2].plot(np.asarray(cosine(np.arange(T))), ls="--", color="0.5", label="cosine to 3e-5")
    axes[2].set(title="the schedule each law predicts best (24,000 steps)", xlabel="step",
                ylabel="learning rate")
    axes[2].title.set_fontsize(8)
    axes[2].legend(fontsize=7)
    figure.savefig(ROOT / "docs" / "laws.png", dpi=100)


if __name__ == "__main__":
    main()
