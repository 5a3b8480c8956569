"""Renders the gallery of every shape and combinator to docs/gallery.png (``make gallery``).

Each panel is titled with the expression that builds its schedule, exactly as a user writes it
(``import jaxsched as js``, then ``js.<expression>``). Combinator panels draw the schedule they
wrap as a dashed grey line. A test checks that every public function of jaxsched that builds a
schedule has a panel of its own, so a new one cannot be left out, and that the titles stay
legible where the picture is shown 800 pixels wide (the README on GitHub, the docs' column).

Usage: python tools/gallery.py [--out docs/gallery.png] [--dpi 80]
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import textwrap
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run from a fresh clone without installing
    sys.path.insert(0, ROOT)

import jaxsched as js  # noqa: E402

# (expression, steps drawn, expression of the wrapped schedule or None)
SHAPES: list[tuple[str, int, str | None]] = [
    ("constant(1.0)", 1000, None),
    ("linear(1.0, 0.1, steps=800)", 1000, None),
    ("step_decay(1.0, every=250, gamma=0.5)", 1000, None),
    ("multistep_decay(1.0, boundaries=[300, 600, 800], gamma=0.3)", 1000, None),
    ("exponential_decay(1.0, gamma=0.99, transition_steps=5)", 1000, None),
    ("polynomial_decay(1.0, steps=800, power=2.0)", 1000, None),
    ("inverse_time_decay(1.0, decay_rate=1.0, transition_steps=100)", 1000, None),
    ("inverse_sqrt(1.0, warmup_steps=100)", 1000, None),
    ("power_decay(1.0, power=0.7, timescale=50)", 1000, None),
    ("cosine_annealing(1.0, steps=800, end_value=0.1, k=2.0)", 1000, None),
    ("log_annealing(1.0, steps=800)", 1000, None),
    ("tanh_decay(1.0, steps=800, end_value=0.1)", 1000, None),
    ("sgdr(1.0, cycle_steps=100, cycle_mult=1.5, cycle_decay=0.8, cycles=5)", 1500, None),
    ("cyclic(0.1, 1.0, up_steps=100, mode='triangular2')", 1000, None),
    ("one_cycle(1.0, steps=1000)", 1000, None),
    ("one_cycle_momentum(steps=1000)", 1000, None),
    ("warmup_stable_decay(1.0, warmup_steps=100, stable_steps=600, decay_steps=200, "
     "shape='sqrt')", 1000, None),
    ("wsd_cycles(1.0, cycle_steps=[400, 300, 300], decay_steps=80, warmup_steps=50, "
     "rewarmup_steps=30)", 1000, None),
]

COMBINATORS: list[tuple[str, int, str | None]] = [
    ("join([linear(0.0, 1.0, steps=100), cosine_annealing(1.0, 900)], boundaries=[100])",
     1000, None),
    ("piecewise_constant(boundaries=[200, 500, 800], values=[1.0, 0.5, 0.8, 0.1])", 1000, None),
    ("piecewise_linear(boundaries=[0, 200, 500, 900], values=[0.1, 1.0, 0.6, 0.0])", 1000, None),
    ("warmup(cosine_annealing(1.0, 900), steps=100)", 1000, "cosine_annealing(1.0, 900)"),
    ("staircase(exponential_decay(1.0, gamma=0.995), every=150)", 1000,
     "exponential_decay(1.0, gamma=0.995)"),
    ("repeat(warmup(cosine_annealing(1.0, 200), 50), period=250, decay=0.7)", 1000, None),
    ("per_epoch(step_decay(1.0, every=3, gamma=0.5), steps_per_epoch=100)", 1000, None),
    ("hold(linear(1.0, 0.0, steps=1000), start=200, end=700)", 1000,
     "linear(1.0, 0.0, steps=1000)"),
    ("interleave([cosine_annealing(1.0, 1000), constant(0.2)], boundaries=[150], period=200)",
     1000, "cosine_annealing(1.0, 1000)"),
    ("warmup(constant(1.0), steps=400, shape='power', power=3.0)", 1000, None),
    ("clip(cyclic(0.0, 1.0, up_steps=125), min_value=0.2, max_value=0.8)", 1000,
     "cyclic(0.0, 1.0, up_steps=125)"),
    ("warmup(piecewise_constant([400, 700], [1.0, 0.5, 0.2]), 100, prefix=False)", 1000,
     "piecewise_constant([400, 700], [1.0, 0.5, 0.2])"),
    ("cooldown(warmup(constant(1.0), 100), start=700, steps=200, shape='sqrt')", 1000,
     "warmup(constant(1.0), 100)"),
    ("shift(cosine_annealing(1.0, 1000), steps=-200)", 1000, "cosine_annealing(1.0, 1000)"),
    ("extend(cosine_annealing(1.0, 600), at=300, horizon=1000)", 1000,
     "cosine_annealing(1.0, 600)"),
    ("noise(cosine_annealing(1.0, 1000), key=0, std=0.1, start=200, end=800)", 1000,
     "cosine_annealing(1.0, 1000)"),
    ("cosine_annealing(1.0, 1000) * linear(0.2, 1.0, steps=500)", 1000, None),
    ("linear(1.0, 0.0, steps=1000) ** 3", 1000, None),
    ("schedule(lambda t: 1.0 / (1.0 + 0.02 * t))", 1000, None),
]


def namespace() -> dict[str, Any]:
    """The public names of jaxsched, for evaluating the gallery's expressions."""
    return {k: v for k, v in vars(js).items() if not k.startswith("_")}


def build(expression: str) -> js.Schedule:
    return eval(expression, namespace())  # our own constant expressions, above


def entries() -> list[tuple[str, str, int, str | None]]:
    """(section, expression, steps, wrapped) for every panel."""
    return ([("shape", *e) for e in SHAPES] + [("combinator", *e) for e in COMBINATORS])


def functions_shown() -> set[str]:
    """The jaxsched functions the panels call at their top level (arithmetic panels: none)."""
    calls = (ast.parse(expression, mode="eval").body for _, expression, _, _ in entries())
    return {call.func.id for call in calls
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name)}


# The layout: COLUMNS panels of PANEL inches at DPI, titles in TITLE_PT points. Shown WIDTH_PX
# wide, a title's letters are TITLE_PT * DPI / 72 * WIDTH_PX / (picture's width) pixels high.
COLUMNS, PANEL, DPI, TITLE_PT, TICK_PT = 3, (3.6, 2.7), 80, 10, 9
WIDTH_PX = 800


def render(path: str, *, columns: int = COLUMNS, dpi: int = DPI) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = entries()
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(PANEL[0] * columns, PANEL[1] * rows),
                             layout="constrained")
    try:
        for ax, (section, expression, steps, wrapped) in zip(axes.flat, panels):
            if wrapped is not None:
                js.plot(build(wrapped), steps, ax=ax, color="0.6", linestyle="--", linewidth=1.2)
            color = "C0" if section == "shape" else "C3"
            js.plot(build(expression), steps, ax=ax, color=color, linewidth=1.8,
                    title="\n".join(textwrap.wrap(expression, 40)))
            ax.set_xlabel("")
            ax.set_ylabel("")
            ax.title.set_fontsize(TITLE_PT)
            ax.tick_params(labelsize=TICK_PT)
            ax.grid(alpha=0.3)
            low, high = ax.get_lines()[-1].get_ydata().min(), ax.get_lines()[-1].get_ydata().max()
            if low == high:  # a flat line: show it against zero, not against a zoomed-in axis
                ax.set_ylim(min(0.0, low), max(0.0, high) * 1.1 + (high == 0))
        for ax in axes.flat[len(panels):]:
            ax.axis("off")
        fig.suptitle("jaxsched: every shape (blue) and combinator (red); x: step, y: value",
                     fontsize=TITLE_PT + 3)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fig.savefig(path, dpi=dpi)
    finally:
        plt.close(fig)
    from PIL import Image  # matplotlib's own dependency

    with Image.open(path) as image:  # 64 colours: a third of the bytes, the same picture
        small = image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "gallery.png"))
    parser.add_argument("--dpi", type=int, default=DPI)
    args = parser.parse_args(argv)
    print(f"wrote {render(args.out, dpi=args.dpi)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
