"""README.md, the front door: short, its quickstart runs, the gallery is embedded, every link
leads somewhere. (The migration tables moved to docs/migration.md: tests/test_docs.py.)
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import re
from pathlib import Path

import jax

import jaxsched as js

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def quickstart() -> str:
    """The quickstart's code: between the markers that docs/index.md includes it by."""
    section = README.split("<!-- quickstart -->", 1)[1].split("<!-- /quickstart -->", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_quickstart_runs_and_prints_what_the_readme_says():
    block = quickstart()
    code_lines = [line for line in block.splitlines() if line.strip()]
    assert len(code_lines) <= 13, "the quickstart is about a dozen lines of code"  # blanks apart
    assert "optax.chain(" in block and "js.learning_rate(" in block
    out = io.StringIO()
    # As a user runs it: optax's own code needs standard (not strict) dtype promotion.
    with contextlib.redirect_stdout(out), jax.numpy_dtype_promotion("standard"):
        exec(compile(block, "README.md:quickstart", "exec"), namespace := {})
    printed = re.search(r"It prints, on a CPU:\n\n```\n(.*?)```", README, re.S).group(1)
    lines = [re.fullmatch(r"step (\d+): loss (\S+), lr (\S+)", line).groups()
             for line in out.getvalue().splitlines()]
    assert [step for step, _, _ in lines] == ["0", "250", "500", "750"]
    schedule, state = namespace["schedule"], namespace["state"]
    for (step, loss, lr), shown in zip(lines, printed.splitlines(), strict=True):
        # the rate of update step + 1: the schedule's value times the plateau's scale
        assert float(lr) <= float(schedule(int(step) + 1)) * 1.05
        # as printed in the README (the lr exactly; the tiny losses within float32 noise)
        assert shown.split(", lr ")[1] == lr
        assert float(loss) < 1e-3 or shown == f"step {step}: loss {loss}, lr {lr}"
    assert float(lines[-1][2]) < 0.01 * float(schedule(751))  # the plateau cut the rate
    assert float(js.plateau_scale(state)) < 1


def test_the_saved_config_is_what_the_command_line_shows(tmp_path, monkeypatch, capsys):
    """The quickstart's schedule, saved as the README shows, then `jaxsched show` as it shows."""
    from jaxsched.__main__ import main

    section = README.split("<!-- quickstart -->", 1)[1].split("<!-- /quickstart -->", 1)[0]
    save, = [b for b in re.findall(r"```python\n(.*?)```", section, re.S) if "json.dump" in b]
    command = re.search(r"```\n(jaxsched show \S+)", section).group(1).split()
    schedule_line = re.search(r"^schedule = .*$", quickstart(), re.M).group(0)
    monkeypatch.chdir(tmp_path)
    exec(f"import jaxsched as js\n{schedule_line}\n{save}", namespace := {})
    assert main(command[1:], prog="jaxsched") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == repr(namespace["schedule"])
    assert "1000  0\n" in out  # steps 0 to the horizon, 1000, as the comment says


def test_the_gallery_is_embedded_and_exists():
    (path,) = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", README)
    assert path == "docs/gallery.png" and (ROOT / path).is_file()


def test_the_readme_is_a_front_door():
    """Short: what it is, set-up, quickstart, gallery, what is inside; the rest is in docs/."""
    assert len(README) <= 12_000, len(README)
    for text in ("## Set-up", "make demo", "make test", "make docs", "## Quickstart",
                 "## Gallery", "## What is inside", "## Documentation"):
        assert text in README


def test_every_link_of_the_readme_leads_to_a_file():
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    local = [link for link in links if "://" not in link]
    assert len(local) >= 15
    for link in local:
        assert (ROOT / link).is_file(), link


def test_every_js_call_in_the_readme_names_real_functions_and_arguments():
    checked = 0
    for node in ast.walk(ast.parse(quickstart())):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "js"):
            parameters = inspect.signature(getattr(js, node.func.attr)).parameters
            assert {k.arg for k in node.keywords} <= set(parameters), ast.unparse(node)
            checked += 1
    assert checked >= 3
