"""The release: the sdist and the wheel build, and the wheel installs and works without the source.

Both are built offline from the checkout with the venv's hatchling (``python -m build
--no-isolation``). The wheel is installed with ``pip --no-deps --no-index`` into a fresh virtual
environment that sees jax and optax through a ``.pth`` line naming this interpreter's
site-packages (a path line adds the folder only: the editable install of the checkout that lives
there is not activated). From a folder outside the checkout, with no ``PYTHONPATH``, that
environment imports jaxsched from its own site-packages, reads the version from the wheel's
metadata, and runs the README's quickstart.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    pytest.importorskip("build", reason="needs the dev extra (build, hatchling)")
    pytest.importorskip("hatchling", reason="needs the dev extra (build, hatchling)")
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel",
        "--outdir", str(out), str(ROOT))
    return out


def test_the_sdist_and_the_wheel_carry_the_package_and_the_licence(dist):
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    assert wheel.name == f"jaxsched-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(f"jaxsched-{VERSION}.dist-info/METADATA").decode()
        entry_points = archive.read(f"jaxsched-{VERSION}.dist-info/entry_points.txt").decode()
    assert {"jaxsched/__init__.py", "jaxsched/py.typed",
            f"jaxsched-{VERSION}.dist-info/licenses/LICENSE"} <= names
    assert not [n for n in names if n.startswith(("tests/", "docs/", "colab/"))]
    assert "License-Expression: Apache-2.0" in metadata
    assert "jaxsched = jaxsched.__main__:script" in entry_points  # the `jaxsched` command
    assert re.search(r"^Project-URL: Repository, https://", metadata, re.M)
    with tarfile.open(sdist) as archive:
        members = {Path(m).relative_to(f"jaxsched-{VERSION}").as_posix()
                   for m in archive.getnames()}
    assert {"LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml",
            "jaxsched/__init__.py"} <= members


QUICKSTART = """
import re, sys
from pathlib import Path
import jaxsched as js
assert Path(js.__file__).is_relative_to(sys.prefix), js.__file__  # the installed copy
assert js.__version__ == sys.argv[1], js.__version__                # from the wheel's metadata
readme = sys.argv[2]
code = readme.split("<!-- quickstart -->")[1].split("<!-- /quickstart -->")[0]
exec(re.search(r"```python\\n(.*?)```", code, re.S).group(1))
"""


def test_the_wheel_installs_in_a_fresh_venv_and_runs_the_quickstart(dist, tmp_path):
    (wheel,) = dist.glob("*.whl")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    python = venv / "bin" / "python"
    site = Path(run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
                    ).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["JAX_PLATFORMS"] = "cpu"
    run(sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
        "--no-index", str(wheel), env=env)
    out = run(str(python), "-c", QUICKSTART, VERSION, (ROOT / "README.md").read_text(),
              cwd=tmp_path, env=env).stdout
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["step 0", "step 250", "step 500",
                                                      "step 750"], out
    assert all(re.fullmatch(r"step \d+: loss \S+, lr \S+", line) for line in lines), out
    # the `jaxsched` command pip installed beside the interpreter
    config = tmp_path / "linear.json"
    config.write_text('{"kind": "linear", "init_value": 0.1, "end_value": 0.0, "steps": 10}')
    shown = run(str(venv / "bin" / "jaxsched"), "show", str(config), "--no-chart", cwd=tmp_path,
                env=env).stdout
    assert shown.startswith("linear(init_value=0.1, end_value=0.0, steps=10)\n"), shown
