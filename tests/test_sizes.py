"""The house's size rules: no module over 400 lines, no function over 60."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    p for room in ("services", "shared", "model_repo") for p in (ROOT / room).rglob("*.py")
)


def test_no_module_is_over_400_lines():
    long = {p.relative_to(ROOT): n for p in SOURCES if (n := p.read_text().count("\n")) > 400}
    assert not long


def test_no_function_is_over_60_lines():
    long = {
        f"{path.relative_to(ROOT)}:{node.name}": node.end_lineno - node.lineno + 1
        for path in SOURCES
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > 60
    }
    assert not long
