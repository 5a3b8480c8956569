"""The colab/ notebooks: 01-04 and 06 stored with the outputs of a full-mode run, a short set-up
cell that installs jaxsched where it is missing (on Colab), and each runs top to bottom (quick
sizes).

The set-up cell (the first code cell) is run on its own, through IPython's input transformer with
``%pip`` recorded instead of run, in both situations: jaxsched importable (a checkout, an install)
and missing (a fresh Colab runtime: install from the repository).

Each notebook is executed with nbclient in a fresh kernel started from *this* interpreter
(`sys.executable`), through a kernelspec written to a temporary folder, so the test does not
depend on which kernels the machine has installed. The kernel runs in the repository root with
``JAXSCHED_QUICK=1`` (the notebooks shrink their sizes) and the repository on ``PYTHONPATH``.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "colab").glob("*.ipynb"))
KERNEL = "jaxsched-test"
CELL_TIMEOUT = 300


# The notebooks committed with the outputs of tools/execute_notebooks.py (the fifth, on
# training beyond a fixed horizon, is executed and committed by its author).
EXECUTED = [p for p in NOTEBOOKS if p.name[:3] in ("01_", "02_", "03_", "04_", "06_")]


def test_there_are_the_executed_notebooks():
    assert [p.name[:3] for p in EXECUTED] == ["01_", "02_", "03_", "04_", "06_"]


def code_cells(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]
            if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", EXECUTED, ids=lambda p: p.stem)
def test_notebook_is_stored_with_its_full_mode_outputs(path):
    """Committed as ``tools/execute_notebooks.py`` leaves it: every code cell run once, in order,
    in full mode, without an error, and with something to show (figures visible on GitHub and in
    the docs)."""
    nb = json.loads(path.read_text())
    assert nb["metadata"].get("jaxsched", {}).get("executed") == "full", \
        "run python tools/execute_notebooks.py " + path.relative_to(ROOT).as_posix()
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in cells] == list(range(1, len(cells) + 1))
    outputs = [o for c in cells for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert not [o for o in outputs if o.get("name") == "stderr" and "Traceback" in
                "".join(o["text"])]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure"
    for cell in nb["cells"]:
        assert "attachments" not in cell
    assert "JAXSCHED_QUICK" in "".join(code_cells(path))


# Where an output would show the machine it ran on: an absolute path (POSIX or Windows), or an
# installed package's folder.
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:home|root|usr|tmp|work|opt|Users|private|var|mnt)/"
                           r"|\b[A-Za-z]:\\|site-packages|dist-packages")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_output_shows_a_path_of_the_machine_that_ran_it(path):
    """What a reader sees on GitHub and in the docs says nothing about where the notebook ran."""
    nb = json.loads(path.read_text())
    texts = []
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            texts.append("".join(output.get("text", "")))
            for kind, data in output.get("data", {}).items():
                if kind.startswith("text/"):
                    texts.append("".join(data))
            texts.append("".join(output.get("traceback", [])))
    found = [m.group(0) for text in texts for m in ABSOLUTE_PATH.finditer(text)]
    assert not found, found


# -- the set-up cell: where jaxsched comes from ------------------------------------------------

# Modules the notebooks may import, and the distribution that provides each (jax, numpy and optax
# come with jaxsched itself).
OPTIONAL_MODULES = {"matplotlib": "matplotlib", "sklearn": "scikit-learn", "tqdm": "tqdm"}
REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]


def run_setup_cell(source: str, monkeypatch, *, importable: bool) -> list[str]:
    """Runs a set-up cell as IPython would, with ``%pip`` recorded instead of run.

    The cell is transformed by IPython's own input transformer (``%pip ...`` becomes
    ``get_ipython().run_line_magic("pip", ...)``). With ``importable=False``, ``import jaxsched``
    fails, as on a fresh Colab runtime. Returns the recorded ``%pip`` lines.
    """
    from IPython.core.inputtransformer2 import TransformerManager

    pip_lines: list[str] = []

    class Shell:
        def run_line_magic(self, name, line):
            assert name == "pip"
            pip_lines.append(line)

    if not importable:
        monkeypatch.setitem(sys.modules, "jaxsched", None)  # `import jaxsched` raises
    code = TransformerManager().transform_cell(source)
    exec(compile(code, "set-up cell", "exec"), {"get_ipython": Shell})
    return pip_lines


def pip_requirement(line: str):
    """The requirement of a recorded ``%pip install -q "REQUIREMENT"`` line."""
    from packaging.requirements import Requirement

    args = shlex.split(line)
    assert args[:2] == ["install", "-q"] and len(args) == 3, line
    return Requirement(args[2])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_setup_cell_is_short_and_uses_an_importable_jaxsched(path, monkeypatch, capsys):
    pytest.importorskip("IPython", reason="needs the notebooks extra")
    source = code_cells(path)[0]
    assert len(source.splitlines()) <= 4 and max(map(len, source.splitlines())) <= 100
    assert run_setup_cell(source, monkeypatch, importable=True) == []
    assert capsys.readouterr().out == ""  # in a checkout or an install: nothing to do or say


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_setup_cell_installs_from_the_repository_where_jaxsched_is_missing(path,
                                                                              monkeypatch):
    pytest.importorskip("IPython", reason="needs the notebooks extra")
    (line,) = run_setup_cell(code_cells(path)[0], monkeypatch, importable=False)
    requirement = pip_requirement(line)
    assert requirement.name == "jaxsched" and requirement.url == f"git+{REPOSITORY}"
    assert len(requirement.extras) == 1


def test_setup_cells_agree_and_install_what_each_notebook_imports():
    """One set-up cell in every notebook, differing only in the extra each notebook needs."""
    pytest.importorskip("IPython", reason="needs the notebooks extra")
    from IPython.core.inputtransformer2 import TransformerManager
    from packaging.requirements import Requirement

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    pattern = re.compile(r"jaxsched\[(\w+)\]")
    cells = {path.stem: code_cells(path) for path in NOTEBOOKS}
    templates = {pattern.sub("jaxsched[?]", cells[name][0]) for name in cells}
    assert len(templates) == 1
    for name, cells_ in cells.items():
        (extra,) = pattern.findall(cells_[0])
        provided = {Requirement(r).name for r in extras[extra]}
        imported = set()
        for cell in cells_[1:]:
            for node in ast.walk(ast.parse(TransformerManager().transform_cell(cell))):
                if isinstance(node, ast.Import):
                    imported |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module:
                    imported.add(node.module.split(".")[0])
        needed = {OPTIONAL_MODULES[m] for m in imported if m in OPTIONAL_MODULES}
        assert needed <= provided, (name, extra, needed - provided)


def kernel_manager(tmp_path: Path):
    """A KernelManager for a kernelspec that runs this interpreter's ipykernel."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec = tmp_path / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "jaxsched test kernel",
        "language": "python",
    }))
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    return KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)


# jupyter_core < 6 warns once per process that its paths move to platformdirs; nothing to act on.
@pytest.mark.filterwarnings("ignore:Jupyter is migrating its paths:DeprecationWarning")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    pytest.importorskip("ipykernel", reason="needs the notebooks extra")
    nbformat = pytest.importorskip("nbformat", reason="needs the notebooks extra")
    nbclient = pytest.importorskip("nbclient", reason="needs the notebooks extra")

    monkeypatch.setenv("JAXSCHED_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")  # no inline images are needed
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # no user profile or startup
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, km=kernel_manager(tmp_path), timeout=CELL_TIMEOUT, allow_errors=False,
        resources={"metadata": {"path": str(ROOT)}},
    )
    client.execute(cleanup_kc=True)  # shut the kernel down and close its sockets
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert outputs, "the notebook printed nothing"
    assert not [o for o in outputs if o.output_type == "error"]
