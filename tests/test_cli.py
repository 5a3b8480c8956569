"""``python -m jaxsched``: `show` (table, chart, PNG, errors) and `demo` with tiny settings."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import jaxsched as js
from jaxsched.__main__ import ascii_chart, main, table_steps
from tests.pngs import assert_png

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, config, name: str = "config.json") -> str:
    path = tmp_path / name
    path.write_text(config if isinstance(config, str) else json.dumps(config))
    return str(path)


def table_rows(text: str) -> dict[int, float]:
    """The `step  value` rows of `show`'s table."""
    rows = {}
    lines = text.splitlines()
    start = lines.index(next(line for line in lines if line.split() == ["step", "learning",
                                                                          "rate"]))
    for line in lines[start + 2:]:
        if not line.strip():
            break
        step, value = line.split()
        rows[int(step)] = float(value)
    return rows


def test_show_prints_the_repr_a_table_at_round_steps_and_a_chart(tmp_path, capsys):
    s = js.step_decay(0.1, every=300, gamma=0.5)
    assert main(["show", write(tmp_path, js.to_config(s)), "--steps", "1000"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == repr(s)
    rows = table_rows(out)
    assert list(rows) == list(range(0, 1001, 100))
    for step, value in rows.items():
        assert value == pytest.approx(0.1 * 0.5 ** (step // 300), rel=1e-5)
    chart = out.split("\n\n")[2].splitlines()
    assert chart[0].lstrip().startswith("0.1 |*")  # the top row starts at the initial value
    assert chart[-3].endswith("*")  # ... and the bottom row ends at the final value
    assert chart[-1].split() == ["0", "1000", "(step)"]


def test_show_at_chosen_steps_and_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="needs the plot extra")
    s = js.sgdr(0.1, cycle_steps=100, cycle_mult=2)
    png = tmp_path / "out" / "s.png"
    png.parent.mkdir()
    code = main(["show", write(tmp_path, js.to_config(s)), "--steps", "700", "--at", "299",
                 "0", "100", "--png", str(png), "--log"])
    assert code == 0
    out = capsys.readouterr().out
    rows = table_rows(out)
    assert list(rows) == [0, 100, 299]
    np.testing.assert_allclose(list(rows.values()), np.asarray(s(np.array([0, 100, 299]))),
                               rtol=1e-5)
    assert "(step; log scale)" in out and f"wrote {png}" in out
    assert_png(png)


def test_show_defaults_steps_to_the_horizon(tmp_path, capsys):
    s = js.warmup(js.cosine_annealing(0.1, 900), steps=100)
    assert s.horizon == 1000
    assert main(["show", write(tmp_path, js.to_config(s)), "--no-chart"]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert list(rows) == list(range(0, 1001, 100))
    assert rows[1000] == 0.0 and rows[100] == pytest.approx(0.1)


def test_show_without_a_horizon_asks_for_steps(tmp_path, capsys):
    path = write(tmp_path, js.to_config(js.cyclic(0.0, 0.1, up_steps=10)))
    assert main(["show", path]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"error: {path}: cyclic has no horizon (its value keeps changing, or "
                            "settles only asymptotically): give --steps N\n")


def test_show_a_batch_ramp_prints_its_sizes_and_counts(tmp_path, capsys):
    """A batch_ramp config (`to_config` writes one): the size, micro-batches and the exact
    samples and tokens before each step, by default to its last stage's start and a tenth more;
    a PNG of the sizes."""
    pytest.importorskip("matplotlib", reason="needs the plot extra")
    plan = js.batch_ramp([16, 32, 64], [1000, 5000], micro_batch=8, tokens_per_sample=128)
    first = plan.stages[-1][0]
    png = tmp_path / "ramp.png"
    args = ["show", write(tmp_path, js.to_config(plan)), "--png", str(png)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == repr(plan)
    table = out.split("\n\n")[1].splitlines()
    assert table[0].split() == ["step", "batch", "size", "micro-batches", "samples", "before",
                                "tokens", "before"]
    steps = table_steps(first + first // 10)
    rows = [[int(x) for x in line.split()] for line in table[2:]]
    assert [r[0] for r in rows] == steps
    for step, size, micro, samples, tokens in rows:
        assert size == int(plan.batch_size(step)) and micro == size // 8
        assert samples == plan.offset(step) == int(plan.samples(step))
        assert tokens == 128 * samples
    assert rows[-1][1] == 64 and rows[0][1] == 16
    assert_png(png)


def test_show_a_loss_law_says_it_is_not_a_schedule(tmp_path, capsys):
    law = js.LossLaw("momentum", {"L0": 3.07, "A": 0.49, "alpha": 0.57, "C": 0.4})
    path = write(tmp_path, js.to_config(law))
    assert main(["show", path, "--steps", "10"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"error: {path}: a momentum loss law, not a schedule: nothing to "
                            "draw (load it with jaxsched.from_config and call its "
                            ".predict(schedule, steps))\n")


def test_the_jaxsched_console_script_runs_the_same_commands(tmp_path, monkeypatch, capsys):
    import importlib
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, function = scripts["jaxsched"].partition(":")
    script = getattr(importlib.import_module(module), function)
    s = js.linear(0.1, 0.0, 10)
    monkeypatch.setattr(sys, "argv", ["jaxsched", "show", write(tmp_path, js.to_config(s))])
    with pytest.raises(SystemExit) as exit_info:
        script()
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.splitlines()[0] == repr(s)
    monkeypatch.setattr(sys, "argv", ["jaxsched", "shw"])
    with pytest.raises(SystemExit) as exit_info:
        script()
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("error: jaxsched: argument COMMAND")


def test_table_steps():
    assert table_steps(5) == [0, 1, 2, 3, 4, 5]
    assert table_steps(1000) == list(range(0, 1001, 100))
    assert table_steps(33) == [0, 3, 7, 10, 13, 16, 20, 23, 26, 30, 33]


def test_ascii_chart_draws_jumps_as_vertical_strokes():
    steps = np.arange(40)
    chart = ascii_chart(steps, np.where(steps < 20, 1.0, 0.0), width=40, height=5).splitlines()
    grid = [line.split("|", 1)[1].ljust(40) for line in chart[:5]]
    assert grid[0] == "*" * 21 + " " * 19
    assert grid[-1] == " " * 20 + "*" * 20
    assert all(row[20] == "*" for row in grid)  # the jump at step 20 spans every row
    assert [line.split("|")[0].strip() for line in chart[:5]] == ["1", "", "0.5", "", "0"]
    flat = ascii_chart(steps, np.full(40, 0.5), width=40, height=5).splitlines()
    assert flat[2].split("|", 1)[1] == "*" * 40
    assert all("*" not in line.split("|", 1)[1] for i, line in enumerate(flat[:5]) if i != 2)
    long = ascii_chart(np.arange(10**5), np.linspace(1.0, 0.0, 10**5), width=10, height=10)
    rows = [line.split("|", 1)[1].ljust(10) for line in long.splitlines()[:10]]
    assert rows[0][0] == "*" and rows[-1][-1] == "*" and rows[0][-1] == rows[-1][0] == " "


BAD_CONFIGS = {
    "nested field": ({"kind": "binary", "op": "mul", "left": {"kind": "constant", "value": 2.0},
                      "right": {"kind": "sgdr", "init_value": 0.1, "cycle_steps": -1}},
                     "right.cycle_steps must be"),
    "unknown kind": ({"kind": "cosine"}, "config.kind: unknown kind 'cosine'"),
    "bad value": ({"kind": "constant", "value": "fast"}, "value must be a finite number"),
    "no kind": ({"value": 1.0}, "missing field 'kind'"),
    "not json": ('{"kind": "constant",', "invalid JSON"),
    "sgdr cycle_mult near 1": ({"kind": "sgdr", "init_value": 1.0, "cycle_steps": 10,
                                "cycle_mult": 1.0000001}, "cycle_mult must be"),  # issue 18
}


@pytest.mark.parametrize("name", BAD_CONFIGS)
def test_show_a_bad_config_is_one_line_on_stderr_and_exit_code_2(tmp_path, capsys, name):
    config, message = BAD_CONFIGS[name]
    path = write(tmp_path, config)
    assert main(["show", path, "--steps", "10"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(f"error: {path}: ") and message in captured.err


def nested(kind, depth):
    config = {"kind": "constant", "value": 0.1}
    for _ in range(depth):
        config = {"kind": kind, "schedule": config, **({"min_value": 0.0} if kind == "clip"
                                                       else {"steps": 10})}
    return config


# Files as users break them (issue 10): each is one line on stderr, naming the field or the
# problem, and exit code 2.
BROKEN_FILES = {
    "latin-1": ('{"kind": "constant", "value": 0.1, "note": "caf\xe9"}'.encode("latin-1"),
                "not a text file in UTF-8, UTF-16 or UTF-32 (byte 0xe9 at offset 47 is not "
                "utf-8); save the config as UTF-8"),  # offset 47: the \xe9 of caf\xe9
    "4,300-digit integer": (b'{"kind": "constant", "value": ' + b"7" * 4300 + b"}",
                            "value: an integer of 4300 digits is out of range"),
    "5,000-digit integer": (b'{"kind": "constant", "value": 0.1, "x": [1, -' + b"7" * 5000
                            + b"]}", "x[1]: an integer of 5000 digits is out of range"),
    "JSON 100k deep": (b"[" * 100_000 + b"]" * 100_000,
                       "invalid JSON: nested too deeply to read (show reads at most 100 levels"),
    "clip 400 deep": (json.dumps(nested("clip", 400)).encode(),
                      "schedule.schedule.schedule.<95 more levels>.schedule.schedule: nested "
                      "more than 100 levels deep"),
    "warmup 200 deep": (json.dumps(nested("warmup", 200)).encode(),
                        "nested more than 100 levels deep"),
    "vector value": (b'{"kind": "constant", "value": [0.1, 0.2]}',
                     "value must be a number, got an array of shape (2,) ([0.1, 0.2])"),
    "vector in a join": (json.dumps(js.to_config(js.join(
        [js.constant(0.1), js.clip(js.constant(0.2), 0.0, 1.0)], [5]))).replace(
            '"max_value": 1.0', '"max_value": [1.0, 2.0]').encode(),
        "schedules[1].max_value must be a number, got an array of shape (2,)"),
}


@pytest.mark.parametrize("name", BROKEN_FILES)
def test_show_a_broken_file_is_one_line_naming_the_problem(tmp_path, capsys, name):
    data, message = BROKEN_FILES[name]
    path = tmp_path / "config.json"
    path.write_bytes(data)
    assert main(["show", str(path), "--steps", "10"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith(f"error: {path}: ") and message in captured.err, captured.err


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-32"])
def test_show_reads_utf8_with_a_bom_utf16_and_utf32(tmp_path, capsys, encoding):
    text = json.dumps(js.to_config(js.cosine_annealing(0.1, 100)))
    (tmp_path / "plain.json").write_text(text, encoding="utf-8")
    (tmp_path / "other.json").write_text(text, encoding=encoding)
    assert main(["show", str(tmp_path / "plain.json"), "--steps", "100"]) == 0
    expected = capsys.readouterr().out
    assert main(["show", str(tmp_path / "other.json"), "--steps", "100"]) == 0
    assert capsys.readouterr().out == expected


def test_show_within_the_depth_limit_but_past_the_stack_is_one_line(tmp_path, capsys,
                                                                     monkeypatch):
    import jaxsched.__main__ as cli

    monkeypatch.setattr(cli, "MAX_DEPTH", 10**6)  # let 600 nested clips through to repr
    path = write(tmp_path, nested("clip", 600))
    assert main(["show", path, "--steps", "10"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "the schedule is nested too deeply to build, print or evaluate" in captured.err


@pytest.mark.parametrize("out, problem", [
    ("/dev/null", "--out /dev/null: not a directory"),
    ("/dev/null/sub", "--out /dev/null/sub: cannot write there: Not a directory"),
    ("FILE", "--out FILE: not a directory"),
])
def test_demo_out_is_checked_before_anything_runs(tmp_path, monkeypatch, capsys, out, problem):
    import jaxsched._demo

    monkeypatch.setattr(jaxsched._demo, "run_demo", lambda **kwargs: pytest.fail("it ran"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "FILE").write_text("")
    assert main(["demo", "--out", out, "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"error: {problem}\n"


def test_demo_out_is_created_when_missing(tmp_path, monkeypatch):
    import jaxsched._demo

    seen = {}
    monkeypatch.setattr(jaxsched._demo, "run_demo", lambda **kwargs: seen.update(kwargs))
    out = tmp_path / "a" / "b"
    assert main(["demo", "--out", str(out)]) == 0
    assert out.is_dir() and not any(out.iterdir()) and seen["out"] == str(out)


def test_show_a_missing_file_exits_2(tmp_path, capsys):
    assert main(["show", str(tmp_path / "nope.json"), "--steps", "10"]) == 2
    assert "nope.json: cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["show"], ["show", "c.json", "--steps", "0"],
                                  ["show", "c.json", "--steps", "5", "--at", "-1"], []])
def test_bad_command_lines_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: python -m jaxsched") and err.count("\n") == 1


BAD_DEMO_FLAGS = {
    "find steps below lr_find's two": (["--find-steps", "1"], "--find-steps",
                                       "must be at least 2 (lr_find"),
    "steps too few for one-cycle": (["--steps", "3"], "--steps", "must be at least 4"),
    "zero steps": (["--steps", "0"], "--steps", "must be at least 4"),
    "steps past int32": (["--steps", str(2**31)], "--steps", "must be at most 2147483647"),
    "not an integer": (["--steps", "1e3"], "--steps", "expected an integer, got '1e3'"),
    "zero batch": (["--batch-size", "0"], "--batch-size", "must be at least 1"),
    "zero hidden units": (["--hidden", "0"], "--hidden", "must be at least 1"),
    "negative seed": (["--seed", "-3"], "--seed", "must be at least 0"),
    "seed past 64 bits": (["--seed", str(2**63)], "--seed", "must be at most"),
    "find steps not an integer": (["--find-steps", "ten"], "--find-steps", "expected an integer"),
}


@pytest.mark.parametrize("name", BAD_DEMO_FLAGS)
def test_demo_bad_numeric_flags_are_one_line_and_exit_2(name, capsys, monkeypatch):
    import jaxsched._demo

    flags, flag, reason = BAD_DEMO_FLAGS[name]
    monkeypatch.setattr(jaxsched._demo, "run_demo", lambda **kwargs: pytest.fail("it ran"))
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", *flags])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith(f"error: python -m jaxsched demo: argument {flag}")
    assert reason in captured.err


def test_demo_flag_bounds_are_those_of_the_code_behind_them():
    """The smallest accepted --steps and --find-steps are the smallest the demo can run."""
    from jaxsched.__main__ import MIN_DEMO_STEPS, MIN_FIND_STEPS
    from jaxsched._demo import demo_runs

    demo_runs(MIN_DEMO_STEPS, steps_per_epoch=1)
    with pytest.raises(ValueError):
        demo_runs(MIN_DEMO_STEPS - 1, steps_per_epoch=1)
    with pytest.raises(ValueError, match="num_steps"):
        js.lr_find(lambda p, s, b, lr: (p, s, lr), 0.0, 0.0, np.zeros(MIN_FIND_STEPS - 1),
                   num_steps=MIN_FIND_STEPS - 1)


def test_demo_accepts_the_smallest_values(monkeypatch):
    import jaxsched._demo

    seen = {}
    monkeypatch.setattr(jaxsched._demo, "run_demo", lambda **kwargs: seen.update(kwargs))
    assert main(["demo", "--steps", "4", "--find-steps", "2", "--batch-size", "1", "--hidden",
                 "1", "--seed", "0"]) == 0
    assert (seen["steps"], seen["find_steps"], seen["batch_size"], seen["hidden"],
            seen["seed"]) == (4, 2, 1, 1, 0)


def test_python_m_jaxsched_demo_find_steps_1_exits_2_without_a_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-m", "jaxsched", "demo", "--find-steps", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--find-steps: must be at least 2" in result.stderr
    assert not any(tmp_path.iterdir())  # nothing was trained or written


def test_python_m_jaxsched_exits_2_without_a_traceback(tmp_path):
    config, message = BAD_CONFIGS["nested field"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-m", "jaxsched", "show", write(tmp_path, config), "--steps", "10"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert message in result.stderr


def test_demo_with_tiny_settings(tmp_path):
    pytest.importorskip("sklearn", reason="needs the demo extra")
    from jaxsched._demo import PEAK_LR, run_demo

    stream = io.StringIO()
    results, finder, path = run_demo(steps=24, hidden=8, find_steps=12, out=str(tmp_path / "d"),
                                     progress=False, stream=stream)
    printed = stream.getvalue()
    names = ["constant", "step decay", "cosine + warmup", "one-cycle", "SGDR",
             "reduce on plateau"]
    assert [r.name for r in results] == names
    table = printed[printed.index("schedule "):].splitlines()
    assert table[0].split() == ["schedule", "train", "loss", "test", "loss", "test", "acc",
                                "time"]
    for line, r in zip(table[2:], results):
        assert line.startswith(r.name)
        train_loss, test_loss, accuracy, seconds = line[len(r.name):].split()[:4]
        assert float(train_loss) == pytest.approx(r.train_loss, abs=1e-4)
        assert 0 < float(test_loss) < 5 and 0 <= float(accuracy.rstrip("%")) <= 100
        assert float(seconds) > 0
        assert r.losses.shape == r.lrs.shape == (24,) and np.all(np.isfinite(r.losses))
    # the recorded learning rates are those of the schedules
    by_name = {r.name: r for r in results}
    np.testing.assert_allclose(by_name["step decay"].lrs,
                               [PEAK_LR * 0.1 ** (t // 8) for t in range(24)], rtol=1e-6)
    np.testing.assert_allclose(by_name["constant"].lrs, PEAK_LR, rtol=1e-7)
    assert by_name["cosine + warmup"].lrs[0] == 0.0
    assert np.all(by_name["reduce on plateau"].lrs <= PEAK_LR * (1 + 1e-6))
    assert len(finder.lrs) >= 3 and "lr_find (12 steps, lr 0.0001 to 10" in printed
    # 12 steps on batches of 8 are too noisy to show a fall: the reason is printed (no warning)
    assert finder.suggestion is None
    assert f"no suggestion: {finder.messages['steep']}" in printed
    assert path == str(tmp_path / "d" / "demo.png") and f"wrote {path}" in printed
    assert_png(path, min_size=(900, 250))


def test_demo_command_line_passes_its_flags(monkeypatch, capsys):
    import jaxsched._demo

    seen = {}
    monkeypatch.setattr(jaxsched._demo, "run_demo", lambda **kwargs: seen.update(kwargs))
    assert main(["demo", "--steps", "30", "--out", "x", "--no-progress", "--seed", "3"]) == 0
    assert seen == {"steps": 30, "out": "x", "batch_size": 8, "hidden": 128, "find_steps": 100,
                    "seed": 3, "progress": False}


def test_demo_without_scikit_learn_names_the_demo_extra(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    assert main(["demo", "--steps", "5", "--out", str(tmp_path), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "pip install 'jaxsched[demo]'" in err and err.count("\n") == 1


@pytest.mark.parametrize("tqdm_installed", [True, False])
def test_demo_progress_bars_with_and_without_tqdm(monkeypatch, capsys, tqdm_installed):
    from jaxsched._demo import _progress_bar

    if not tqdm_installed:
        monkeypatch.setitem(sys.modules, "tqdm", None)
    else:
        pytest.importorskip("tqdm")
    bar = _progress_bar(10, "cosine", enabled=True)
    bar.update(4)
    bar.update(6)
    bar.close()
    err = capsys.readouterr().err
    assert "cosine" in err and "10/10" in err
    assert _progress_bar(10, "x", enabled=False) is None


def test_the_show_example_of_the_cli_page_is_what_show_prints(tmp_path, capsys):
    page = (ROOT / "docs" / "cli.md").read_text()
    config = json.loads(re.search(r"With `cos.json` holding\n`(.*?)`", page).group(1))
    expected = re.search(r"--at 0 500 1000` prints\n\n```\n(.*?)```", page, re.S).group(1)
    assert main(["show", write(tmp_path, config, "cos.json"), "--at", "0", "500", "1000"]) == 0
    assert capsys.readouterr().out == expected
