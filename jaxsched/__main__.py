"""The command line: ``jaxsched show CONFIG.json`` and ``jaxsched demo``.

``jaxsched`` is the console script that ``pip install`` puts on the path; ``python -m jaxsched``
runs the same commands.

``show`` prints a schedule given as a JSON config (see `jaxsched.to_config`): its repr, a table of
values at chosen steps and a terminal chart from step 0 to ``--steps N`` (by default the schedule's
horizon), and writes a PNG with ``--png FILE``. A config that cannot be read or built gives a
one-line error naming the bad field, and exit code 2.

``demo`` trains a small model on scikit-learn's handwritten digits under several schedules, runs
the learning-rate range test, prints a results table and writes a PNG (see `jaxsched._demo`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import numpy as np

from ._checks import INT32_MAX
from ._demo import DEFAULTS, MissingDependency

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2  # a bad command line or a bad config (argparse also exits with 2)

LOG_DECADES = 4  # a log-scale chart shows this many decades below its largest value
MAX_EVALUATIONS = 1_000_000  # `show` evaluates every step up to this many, else a sample
# `show` refuses configs nested deeper than this (JSON objects and arrays): real ones nest a few
# levels, and a few hundred exceed Python's recursion limit in `from_config`, `repr` or tracing.
MAX_DEPTH = 100
LIST_FIELDS = ("boundaries", "values")  # the hyperparameters that are lists of numbers


class CliError(Exception):
    """An error reported as one line on stderr, with an exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


# -- show ------------------------------------------------------------------------------------------


def load_config(path: str) -> Any:
    """Reads and builds the schedule in the JSON file `path`; `CliError` for anything bad."""
    from ._configs import from_config

    config = read_config(path)
    check_config(path, config)
    try:
        schedule = from_config(config)
    except (ValueError, TypeError, OverflowError) as e:
        raise CliError(f"{path}: {_first_line(e)}") from None
    check_scalar(path, schedule)
    return schedule


class _OutOfRange:
    """What `read_config` puts where the JSON has an integer too large for any number."""

    def __init__(self, digits: str):
        self.digits = digits


def _parse_int(digits: str) -> int | _OutOfRange:
    # Python refuses to convert more than 4,300 digits (a ValueError without the field), and a
    # number past float64's range fails in float() (an OverflowError): both become a marker that
    # `check_config` reports with its field.
    if len(digits) <= 400:
        value = int(digits)
        if abs(value) <= sys.float_info.max:
            return value
    return _OutOfRange(digits)


def read_config(path: str) -> Any:
    """The JSON in `path`: UTF-8 (with or without a byte-order mark), UTF-16 or UTF-32."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise CliError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        return json.loads(data, parse_int=_parse_int)  # detects the encoding from the bytes
    except json.JSONDecodeError as e:
        where = f"line {e.lineno}, column {e.colno}"
        raise CliError(f"{path}: invalid JSON: {e.msg} ({where})") from None
    except UnicodeDecodeError as e:
        raise CliError(
            f"{path}: not a text file in UTF-8, UTF-16 or UTF-32 (byte {e.object[e.start]:#04x} "
            f"at offset {e.start} is not {e.encoding}); save the config as UTF-8"
        ) from None
    except RecursionError:
        raise CliError(f"{path}: invalid JSON: nested too deeply to read (show reads at most "
                       f"{MAX_DEPTH} levels of objects and arrays)") from None


def _field(parts: Sequence[str]) -> str:
    """A field's path as from_config names it (``right.steps``, ``schedules[1].value``)."""
    if len(parts) > 8:  # a long chain: its ends, and how many levels lie between
        parts = [*parts[:3], f".<{len(parts) - 5} more levels>", *parts[-2:]]
    return "".join(parts).lstrip(".") or "config"


def check_config(path: str, config: Any) -> None:
    """Before building: no integer out of range, no nesting deeper than `MAX_DEPTH`."""
    stack: list[tuple[Any, list[str]]] = [(config, [])]
    while stack:  # a loop, not recursion: the config may be deeper than Python's stack
        node, parts = stack.pop()
        if isinstance(node, (dict, list)) and len(parts) >= MAX_DEPTH:
            raise CliError(f"{path}: {_field(parts)}: nested more than {MAX_DEPTH} levels deep "
                           f"(objects and arrays); show reads at most {MAX_DEPTH}")
        if isinstance(node, _OutOfRange):
            digits = len(node.digits.lstrip("-"))
            raise CliError(f"{path}: {_field(parts)}: an integer of {digits} digits is out of "
                           "range (a schedule's numbers are float32, its steps int32)")
        if isinstance(node, dict):
            stack += [(v, [*parts, f".{k}"]) for k, v in node.items()]
        elif isinstance(node, list):
            stack += [(v, [*parts, f"[{i}]"]) for i, v in enumerate(node)]


def check_scalar(path: str, schedule: Any) -> None:
    """Every hyperparameter a number (a stacked schedule is for vmap, not for show)."""
    import jax

    for keys, leaf in jax.tree_util.tree_flatten_with_path(schedule)[0]:
        parts = [_part(key) for key in keys]
        if np.ndim(leaf) > (1 if parts and parts[-1][1:] in LIST_FIELDS else 0):
            shown = f" ({np.asarray(leaf).tolist()})" if np.size(leaf) <= 8 else ""
            raise CliError(f"{path}: {_field(parts)} must be a number, got an array of shape "
                           f"{np.shape(leaf)}{shown}")


def _part(key: Any) -> str:
    """One step of a pytree key path, as `_field` joins them."""
    if hasattr(key, "name"):  # an attribute
        return f".{key.name}"
    return f"[{getattr(key, 'idx', getattr(key, 'key', key))!r}]"  # an index or a dict key


def _first_line(error: BaseException) -> str:
    """An exception's message without the lines JAX adds after it."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def table_steps(num_steps: int, rows: int = 11) -> list[int]:
    """Round steps from 0 to `num_steps` (both included) for the value table."""
    if num_steps < rows - 1:
        return list(range(num_steps + 1))
    return sorted({int(round(x)) for x in np.linspace(0, num_steps, rows)})


def format_table(steps: Sequence[int], values: Sequence[float]) -> str:
    """A two-column table ``step | learning rate``."""
    width = max(4, len(str(max(steps))))
    lines = [f"{'step':>{width}}  learning rate", f"{'-' * width}  -------------"]
    lines += [f"{s:>{width}}  {v:.6g}" for s, v in zip(steps, values)]
    return "\n".join(lines)


def _chart_steps(num_steps: int) -> np.ndarray:
    if num_steps + 1 <= MAX_EVALUATIONS:
        return np.arange(num_steps + 1, dtype=np.int64)
    return np.unique(np.round(np.linspace(0, num_steps, MAX_EVALUATIONS)).astype(np.int64))


def ascii_chart(steps: np.ndarray, values: np.ndarray, *, width: int = 64, height: int = 12,
                log_scale: bool = False) -> str:
    """A terminal chart of `values` against `steps`, plain ASCII and no dependencies.

    The steps are split into `width` columns; each column is drawn from the smallest to the largest
    value in it and the last value of the column before, so the line is connected, jumps (a step
    decay) show as vertical strokes and nothing is aliased away.
    A log-scale chart spans `LOG_DECADES` decades below the largest value.
    """
    values = np.asarray(values, dtype=np.float64)
    steps = np.asarray(steps)
    if log_scale:
        shown = np.where(values > 0, values, np.nan)
        if not np.any(np.isfinite(shown)):
            raise CliError("--log needs positive values; this schedule has none", EXIT_ERROR)
        ys = np.log10(shown)
        ys = np.maximum(ys, np.nanmax(ys) - LOG_DECADES)  # tiny values sit on the bottom row
    else:
        ys = np.where(np.isfinite(values), values, np.nan)
    lo, hi = float(np.nanmin(ys)), float(np.nanmax(ys))
    span = hi - lo

    def row(y: float) -> int:
        if span <= 0:
            return (height - 1) // 2
        return int(round((y - lo) / span * (height - 1)))

    grid = [[" "] * width for _ in range(height)]
    columns = np.array_split(np.arange(len(ys)), min(width, len(ys)))
    previous = None  # the last value of the column before: joining it draws a jump as a stroke
    for c, index in enumerate(columns):
        col = ys[index]
        col = col[np.isfinite(col)]
        if col.size == 0:
            continue
        low, high = float(col.min()), float(col.max())
        if previous is not None:
            low, high = min(low, previous), max(high, previous)
        for r in range(row(low), row(high) + 1):
            grid[height - 1 - r][c] = "*"
        previous = float(col[-1])

    def label(y: float) -> str:
        return f"{10 ** y if log_scale else y:.3g}"

    labels = {0: label(hi), height - 1: label(lo)}
    if height >= 5:
        labels[(height - 1) // 2] = label(lo + span * (height - 1 - (height - 1) // 2)
                                          / (height - 1) if span > 0 else lo)
    pad = max(len(v) for v in labels.values())
    used = max(len(columns), 1)
    lines = [f"{labels.get(i, ''):>{pad}} |{''.join(r[:used])}".rstrip()
             for i, r in enumerate(grid)]
    lines.append(f"{'':>{pad}} +{'-' * used}")
    first, last = str(int(steps[0])), str(int(steps[-1]))
    gap = max(used - len(first) - len(last), 1)
    note = "  (step; log scale)" if log_scale else "  (step)"
    lines.append(f"{'':>{pad}}  {first}{' ' * gap}{last}{note}")
    return "\n".join(lines)


def show(config_path: str, num_steps: int | None = None, *, at: Sequence[int] | None = None,
         png: str | None = None, log_scale: bool = False, chart: bool = True,
         out: Any = None) -> int:
    """What ``jaxsched show`` does; returns the exit code.

    `num_steps` None shows the schedule up to its horizon (the step from which its value never
    changes); a schedule without one (periodic, asymptotic) needs `num_steps`. Everything is
    computed before anything is printed, so an error leaves stdout empty.
    """
    out = out or sys.stdout
    if num_steps is not None and (num_steps < 1 or num_steps > INT32_MAX):
        raise CliError(f"--steps must be between 1 and 2**31 - 1, got {num_steps}")
    if at and any(s < 0 or s > INT32_MAX for s in at):
        raise CliError(f"--at steps must be between 0 and 2**31 - 1, got {sorted(set(at))}")
    try:
        schedule = load_config(config_path)
        _check_drawable(config_path, schedule)
        if num_steps is None:
            num_steps = _horizon_steps(config_path, schedule)
        steps = sorted(set(at)) if at else table_steps(num_steps)
        text = _show_text(schedule, num_steps, steps, chart, log_scale)
    except RecursionError:  # a nesting within MAX_DEPTH that still exhausts Python's stack
        raise CliError(f"{config_path}: the schedule is nested too deeply to build, print or "
                       "evaluate within Python's recursion limit") from None
    print(text, file=out)
    if png:
        _write_png(schedule, num_steps, png, log_scale)
        print(f"\nwrote {png}", file=out)
    return EXIT_OK


def _check_drawable(config_path: str, value: Any) -> None:
    """A config `show` cannot draw (a loss law: a function of a whole schedule) is one line."""
    from ._laws import LossLaw

    if isinstance(value, LossLaw):
        raise CliError(f"{config_path}: a {value.form} loss law, not a schedule: nothing to draw "
                       "(load it with jaxsched.from_config and call its .predict(schedule, "
                       "steps))")


def _horizon_steps(config_path: str, schedule: Any) -> int:
    """`show`'s default ``--steps``: the schedule's horizon (at least 1); a batch ramp's, the
    steps its `total` takes, else the first step of its last stage and a tenth more."""
    from ._batch import BatchRamp

    if isinstance(schedule, BatchRamp):  # the last stage's start, and a tenth more to show it
        if schedule.num_steps is not None:
            return max(schedule.num_steps, 1)
        last = schedule.stages[-1][0]
        return max(last + last // 10, 1)
    if getattr(schedule, "horizon", None) is None:
        raise CliError(f"{config_path}: {schedule.kind} has no horizon (its value keeps "
                       "changing, or settles only asymptotically): give --steps N")
    return max(int(schedule.horizon), 1)


def _show_text(schedule: Any, num_steps: int, steps: list[int], chart: bool,
               log_scale: bool) -> str:
    """The repr, the table and (with `chart`) the terminal chart, as `show` prints them; for a
    batch ramp, its batch size, micro-batches and the samples (and tokens) before each step."""
    from ._batch import BatchRamp
    from ._plot import evaluate

    if isinstance(schedule, BatchRamp):
        table = _ramp_table(schedule, steps)
        draw = schedule.batch_size
    else:
        values = evaluate(schedule, np.asarray(steps, dtype=np.int64))
        table, draw = format_table(steps, values.tolist()), schedule
    parts = [repr(schedule), table]
    if chart:
        chart_steps = _chart_steps(num_steps)
        parts.append(ascii_chart(chart_steps, evaluate(draw, chart_steps), log_scale=log_scale))
    return "\n\n".join(parts)


def _ramp_table(plan: Any, steps: Sequence[int]) -> str:
    """``step | batch size | micro-batches | samples before`` (and ``tokens before``), exact."""
    columns = {"batch size": [int(b) for b in plan.batch_size(np.asarray(steps))],
               "micro-batches": [int(m) for m in plan.micro_batches(np.asarray(steps))],
               "samples before": [plan.offset(s) for s in steps]}
    if plan.tokens_per_sample > 1:
        columns["tokens before"] = [plan.offset(s, "tokens") for s in steps]
    rows = [["step", *columns]] + [[str(s), *(str(c[i]) for c in columns.values())]
                                   for i, s in enumerate(steps)]
    widths = [max(len(row[j]) for row in rows) for j in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _write_png(schedule: Any, num_steps: int, path: str, log_scale: bool) -> None:
    try:
        import matplotlib
    except ImportError:
        raise CliError("--png needs matplotlib: pip install 'jaxsched[plot]'", EXIT_ERROR) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ._batch import BatchRamp
    from ._plot import plot

    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    try:
        if isinstance(schedule, BatchRamp):
            plot(schedule.batch_size, num_steps + 1, ax=ax, log_scale=log_scale,
                 title=repr(schedule)[:60])
            ax.set_ylabel("batch size (samples)")
        else:
            plot(schedule, num_steps + 1, ax=ax, log_scale=log_scale)
        ax.grid(alpha=0.3)
        try:
            fig.savefig(path, dpi=100)
        except OSError as e:
            raise CliError(f"{path}: cannot write: {e.strerror or e}", EXIT_ERROR) from None
    finally:
        plt.close(fig)


# -- the command line ------------------------------------------------------------------------------


MIN_DEMO_STEPS = 4  # the demo's one-cycle run needs pct_start * steps > 1 (pct_start is 0.3)
MIN_FIND_STEPS = 2  # lr_find sweeps at least two learning rates
MAX_SEED = 2**63 - 1  # jax.random.key takes a signed 64-bit seed


def _integer(low: int, high: int, why: str = "") -> Callable[[str], int]:
    """An argparse `type`: an integer in ``[low, high]``, else a one-line reason."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low or value > high:
            bound = f"at least {low}" if value < low else f"at most {high}"
            reason = f" ({why})" if why and value < low else ""
            raise argparse.ArgumentTypeError(f"must be {bound}{reason}, got {value}")
        return value

    return parse


_positive_int = _integer(1, INT32_MAX)
_step = _integer(0, INT32_MAX)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit code 2), as `CliError`s are."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser(prog: str = "python -m jaxsched") -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog,
        description="jaxsched: learning-rate schedules for JAX and Optax.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser(
        "show",
        help="print (and plot) a schedule given as a JSON config",
        description="Print a schedule's repr, its values at a few steps and a terminal chart "
        "(for a batch_ramp: its batch sizes and the samples consumed). CONFIG.json holds what "
        'jaxsched.to_config writes, e.g. {"kind": "cosine_annealing", "init_value": 0.1, '
        '"steps": 1000}.',
    )
    p.add_argument("config", metavar="CONFIG.json", help="the schedule's config")
    p.add_argument("--steps", type=_positive_int, metavar="N",
                   help="show steps 0 to N (default: the schedule's horizon, the step from which "
                   "its value no longer changes)")
    p.add_argument("--at", type=_step, nargs="+", metavar="STEP",
                   help="steps for the table (default: 11 round steps from 0 to N)")
    p.add_argument("--png", metavar="FILE", help="also write a plot to FILE (needs matplotlib)")
    p.add_argument("--log", action="store_true", help="logarithmic y axis")
    p.add_argument("--no-chart", action="store_true", help="no terminal chart")

    d = commands.add_parser(
        "demo",
        help="train a small model on handwritten digits under several schedules",
        description="Train one small MLP on scikit-learn's digits under several schedules, run "
        "the learning-rate range test, print a results table and write a PNG of the lr and "
        "loss curves. Needs the demo extra: pip install 'jaxsched[demo]'.",
    )
    d.add_argument("--steps", default=DEFAULTS["steps"], metavar="N", type=_integer(
                       MIN_DEMO_STEPS, INT32_MAX, "one-cycle's warmup needs 0.3 * steps > 1"),
                   help=f"training steps per schedule, at least {MIN_DEMO_STEPS} (default "
                   f"{DEFAULTS['steps']})")
    d.add_argument("--out", default=DEFAULTS["out"], metavar="DIR",
                   help=f"folder for the PNG (default {DEFAULTS['out']})")
    d.add_argument("--batch-size", type=_positive_int, default=DEFAULTS["batch_size"],
                   metavar="B", help=f"batch size; one larger than the training set is cut to "
                   f"its size (default {DEFAULTS['batch_size']})")
    d.add_argument("--hidden", type=_positive_int, default=DEFAULTS["hidden"], metavar="H",
                   help=f"hidden units (default {DEFAULTS['hidden']})")
    d.add_argument("--find-steps", default=DEFAULTS["find_steps"], metavar="N",
                   type=_integer(MIN_FIND_STEPS, INT32_MAX, "lr_find sweeps at least two rates"),
                   help=f"steps of the lr range test, at least {MIN_FIND_STEPS} (default "
                   f"{DEFAULTS['find_steps']})")
    d.add_argument("--seed", type=_integer(0, MAX_SEED), default=DEFAULTS["seed"], metavar="S",
                   help=f"random seed, 0 to 2**63 - 1 (default {DEFAULTS['seed']})")
    d.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def check_out_dir(out: str) -> None:
    """`demo --out`: a directory the PNG can be written to (created if need be), checked before
    anything is trained; `CliError` otherwise."""
    if os.path.lexists(out) and not os.path.isdir(out):
        raise CliError(f"--out {out}: not a directory")
    try:
        os.makedirs(out, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        raise CliError(f"--out {out}: cannot write there: {e.strerror or e}") from None


def main(argv: Sequence[str] | None = None, prog: str = "python -m jaxsched") -> int:
    """Runs the command line with `argv` (default: ``sys.argv[1:]``); returns the exit code."""
    args = build_parser(prog).parse_args(argv)
    try:
        if args.command == "show":
            return show(args.config, args.steps, at=args.at, png=args.png,
                        log_scale=args.log, chart=not args.no_chart)
        from ._demo import run_demo

        check_out_dir(args.out)
        run_demo(steps=args.steps, out=args.out, batch_size=args.batch_size,
                 hidden=args.hidden, find_steps=args.find_steps, seed=args.seed,
                 progress=not args.no_progress)
        return EXIT_OK
    except CliError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.code
    except MissingDependency as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR


def script() -> NoReturn:
    """The ``jaxsched`` console script (``[project.scripts]`` in pyproject.toml)."""
    sys.exit(main(prog="jaxsched"))


if __name__ == "__main__":
    sys.exit(main())
