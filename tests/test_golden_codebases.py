"""The rows of docs/migration.md for praxis, TF Model Garden, scenic, big_vision, levanter,
MaxText, OLMo-core and Megatron-LM, against each upstream's own formula.

`tests/golden/codebases.json` is written by `tests/golden/generate_codebases.py`, which transcribes
each upstream (cited by repository and commit) in float64 Python, with its step clamps and offsets.
Each case carries the jaxsched expression of its row exactly as the migration page writes it; the
expression is evaluated with the case's parameters as its variables and compared, at float32
precision, at every recorded step (0, 1, each boundary and its neighbours, past the end).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js

ROOT = Path(__file__).resolve().parents[1]
CASES: list[dict] = json.loads((ROOT / "tests" / "golden" / "codebases.json").read_text())
MIGRATION = (ROOT / "docs" / "migration.md").read_text()
RTOL = 2e-5  # float32 against float64, as tests/test_golden.py
ATOL = 1e-6  # times the largest value of the case: where a value crosses or reaches 0


@functools.cache
def build(case_id: str) -> js.Schedule:
    case = next(c for c in CASES if c["id"] == case_id)
    names = {"js": js, "__builtins__": {"sum": sum, "int": int}, **case["params"]}
    return eval(case["expression"], names)  # noqa: S307 (the expressions of docs/migration.md)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_the_row_matches_the_upstream_formula(case):
    s = build(case["id"])
    assert isinstance(s, js.Schedule)
    want = np.asarray(case["values"])
    got = np.asarray(s(np.asarray(case["steps"], np.int32)), np.float64)
    scale = np.max(np.abs(want))
    bad = ~np.isclose(got, want, rtol=RTOL, atol=ATOL * scale)
    assert not bad.any(), (f"{case['row']}: steps {np.asarray(case['steps'])[bad][:8]} got "
                           f"{got[bad][:8]} want {want[bad][:8]}")


@pytest.mark.parametrize("codebase", sorted({c["codebase"] for c in CASES}))
def test_under_vmap_and_through_a_config(codebase):
    """The first row of each codebase, per step under `jax.vmap` and rebuilt from its config."""
    case = next(c for c in CASES if c["codebase"] == codebase)
    s = build(case["id"])
    steps = jnp.asarray(case["steps"], jnp.int32)
    again = js.from_config(js.to_config(s))
    assert again == s
    got = np.asarray(jax.jit(jax.vmap(again))(steps), np.float64)
    want = np.asarray(case["values"])
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL * np.max(np.abs(want)))


def _rows(text: str) -> dict[str, list[str]]:
    """The first cells of the page's table lines, by each `js.` expression in their second."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        cells = line.split(" | ")
        if line.startswith("| ") and len(cells) >= 2:
            for code in re.findall(r"`([^`]*js\.[^`]*)`", cells[1]):
                rows.setdefault(code, []).append(cells[0])
    return rows


def test_every_case_is_a_row_of_the_migration_page():
    rows = _rows(MIGRATION)
    for case in CASES:
        names = rows.get(case["expression"])
        assert names, f"{case['id']}: `{case['expression']}` is not on the page"
        assert any(f"`{case['row']}`" in name for name in names), (case["id"], case["row"])


def test_every_codebase_cites_its_commit():
    for case in CASES:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", case["source"]), case["source"]
        assert case["source"].split("@")[1][:8] in MIGRATION, case["source"]
