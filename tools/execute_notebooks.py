"""Executes the colab/ notebooks in full mode and stores them with their outputs.

The committed notebooks carry their outputs (figures and tables visible on GitHub and in the docs
without running anything); the test suite runs them again in quick mode. Each notebook runs in a
fresh kernel started from this interpreter, in the repository root, with ``JAXSCHED_QUICK``
unset, and is written back in place.

Usage: python tools/execute_notebooks.py [colab/01_tour.ipynb ...]  (default: every notebook)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KERNEL = "jaxsched-execute"


def kernel_manager(folder: Path):
    """A KernelManager for a kernelspec that runs this interpreter's ipykernel."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3",
        "language": "python",
    }))
    specs = KernelSpecManager(kernel_dirs=[str(folder / "kernels")])
    return KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)


def execute(path: Path) -> float:
    """Runs one notebook top to bottom in full mode, writes it back, returns the seconds taken."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        client = nbclient.NotebookClient(
            nb, km=kernel_manager(Path(folder)), timeout=3600, allow_errors=False,
            resources={"metadata": {"path": str(ROOT)}},
        )
        client.execute(cleanup_kc=True)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                 "name": "python3"}  # as Colab and Jupyter name it
    # what the outputs are (tests/test_notebooks.py checks it): full mode, with this jax
    nb.metadata["jaxsched"] = {"executed": "full", "jax": metadata.version("jax")}
    nbformat.write(nb, path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        default=sorted((ROOT / "colab").glob("*.ipynb")))
    args = parser.parse_args()
    os.environ.pop("JAXSCHED_QUICK", None)
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend keeps the figures
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))
    for path in args.notebooks:
        print(f"{path}: {execute(path.resolve()):.0f} s", flush=True)


if __name__ == "__main__":
    main()
