"""The colab/ notebooks: stored without outputs, and each runs top to bottom (quick sizes).

Each notebook is executed with nbclient in a fresh kernel started from *this* interpreter
(`sys.executable`), through a kernelspec written to a temporary folder, so the test does not
depend on which kernels the machine has installed. The kernel runs in the repository root with
``JAXSCHED_QUICK=1`` (the notebooks shrink their sizes) and the repository on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "colab").glob("*.ipynb"))
KERNEL = "jaxsched-test"
CELL_TIMEOUT = 300


def test_there_are_four_notebooks():
    assert [p.name[:3] for p in NOTEBOOKS] == ["01_", "02_", "03_", "04_"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_stripped_with_the_install_cell_first(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"]
        assert "attachments" not in cell
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    first = "".join(code[0]["source"])
    assert 'find_spec("jaxsched") is None' in first
    assert "%pip install" in first and "git+https://github.com/" in first
    assert "JAXSCHED_QUICK" in "".join("".join(c["source"]) for c in code)


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
