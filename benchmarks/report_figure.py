"""Draws benchmarks/ratios.png, the report's figure, from the tables of the raw logs.

Two ratios whose point is how they grow with a size: optax's time over jaxsched's for `join` and
`piecewise_constant` against the number of pieces (benchmarks/logs/combinators.md), and the
sweep variants' speed-up over optax built per run against the number of runs K
(benchmarks/logs/sweeps.md). The numbers are read from the logs' markdown tables, so the figure
shows exactly the recorded runs.

Usage: python benchmarks/report_figure.py [--out benchmarks/ratios.png]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent


def table_rows(text: str, first_cell: str) -> list[list[str]]:
    """The cells of every markdown table row whose first cell matches `first_cell`."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and re.fullmatch(first_cell, cells[0]):
            rows.append(cells)
    return rows


def combinator_ratios(text: str) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """{schedule: {"compile" | "eval": [(pieces, optax / jaxsched)]}} from the CPU table."""
    table = text.split("## GPU")[0]
    out: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for cells in table_rows(table, r"join|piecewise_constant"):
        if cells[2] != "optax":
            continue
        compile_ratio, eval_ratio = (float(x.strip(" ×")) for x in cells[6].split(","))
        kind = out.setdefault(cells[0], {"compile": [], "eval": []})
        kind["compile"].append((int(cells[1]), compile_ratio))
        kind["eval"].append((int(cells[1]), eval_ratio))
    return out


def sweep_speedups(text: str) -> dict[str, list[tuple[int, float]]]:
    """{variant: [(K, optax-per-run time / the variant's)]} from the first sweep table."""
    table = text.split("Same runs, same results")[0]
    out: dict[str, list[tuple[int, float]]] = {}
    for cells in table_rows(table, r"\d+"):
        if len(cells) == 8 and cells[6].endswith("×"):
            out.setdefault(cells[1], []).append((int(cells[0]), float(cells[6].strip(" ×"))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "ratios.png"))
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    combinators = combinator_ratios((HERE / "logs" / "combinators.md").read_text())
    sweeps = sweep_speedups((HERE / "logs" / "sweeps.md").read_text())
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for (name, ratios), color in zip(combinators.items(), ("C0", "C3")):
        for what, style in (("compile", "-o"), ("eval", "--s")):
            pieces, ratio = zip(*ratios[what])
            left.plot(pieces, ratio, style, color=color, label=f"{name}, {what}")
    left.axhline(1, color="0.5", linewidth=1)
    left.set(xscale="log", yscale="log", xlabel="pieces (join) or boundaries (piecewise)",
             ylabel="optax's time / jaxsched's", title="Combinators: optax / jaxsched (CPU)")
    left.legend(fontsize="small")
    for variant, points in sweeps.items():
        k, speedup = zip(*points)
        right.plot(k, speedup, "-o", label=variant)
    right.axhline(1, color="0.5", linewidth=1)
    right.set(xscale="log", xlabel="runs in the sweep (K)", xticks=[1, 4, 8, 16],
              xticklabels=["1", "4", "8", "16"], ylabel="speed-up over (a)",
              title="Sweeps: wall time of (a) / each variant (CPU)")
    right.legend(fontsize="small")
    for ax in (left, right):
        ax.grid(alpha=0.3, which="both")
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
