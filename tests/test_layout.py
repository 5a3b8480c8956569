"""Rooms that say what they hold (issue 19): every module of the package reads in one sitting
(at most 600 lines) and every function fits on a screen (at most 60 lines of code, docstring
aside)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "jaxsched"
MODULES = sorted(PACKAGE.glob("*.py"))
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring is not code
    return body[-1].end_lineno - body[0].lineno + 1 if body else 0


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_a_module_reads_in_one_sitting(module):
    assert len(module.read_text().splitlines()) <= MAX_MODULE_LINES


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_a_function_fits_on_a_screen(module):
    long = {node.name: _code_lines(node) for node in ast.walk(ast.parse(module.read_text()))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and _code_lines(node) > MAX_FUNCTION_LINES}
    assert not long, long
