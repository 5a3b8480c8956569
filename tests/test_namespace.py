"""The package's namespace is its documented API: `__all__` lists what docs/api.rst documents,
and nothing else public lives in `jaxsched` (no `version`, no `PackageNotFoundError`)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import jaxsched as js

API = Path(__file__).resolve().parents[1] / "docs" / "api.rst"


def _documented() -> list[str]:
    return re.findall(r"^\.\. auto\w+:: +(\w+)", API.read_text(), re.M)


def test_all_is_the_documented_api():
    documented = _documented()
    assert len(documented) >= 40 and len(set(documented)) == len(documented)
    assert sorted(js.__all__) == sorted(documented)


def test_the_namespace_holds_the_api_and_nothing_else():
    public = {n for n in dir(js)
              if not n.startswith("_") and not inspect.ismodule(getattr(js, n))}
    assert public == set(js.__all__)
    assert isinstance(js.__version__, str)


def test_star_import_gives_the_api():
    namespace: dict = {}
    exec("from jaxsched import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(js.__all__)
