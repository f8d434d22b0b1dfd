"""Every docstring example in adcraft, run on the installed modules (``adcraft.*``): one
test per docstring, as ``--doctest-modules`` would collect them."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules_with_examples() -> list[str]:
    """Installed names of the modules whose source holds an example (read, not imported)."""
    return sorted(
        "adcraft." + ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for folder in ("services", "shared")
        for path in (ROOT / folder).rglob("*.py")
        if ">>> " in path.read_text()
    )


def _examples() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [
        test
        for name in _modules_with_examples()
        for test in finder.find(importlib.import_module(name))
        if test.examples
    ]


@pytest.mark.parametrize("example", _examples(), ids=lambda test: test.name)
def test_docstring_examples_hold(example: doctest.DocTest) -> None:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(example, out=print)
    assert runner.summarize(verbose=False).failed == 0, f"{example.name}: see the output above"
