"""adcraft installs under one top-level name, and the package list names every folder."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_installed_under_adcraft():
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {
        "adcraft." + ".".join(init.parent.relative_to(ROOT).parts)
        for folder in ("services", "shared")
        for init in (ROOT / folder).rglob("__init__.py")
    }
    assert set(listed["packages"]) == folders
    assert {name.split(".")[0] for name in listed["packages"]} == {"adcraft"}


def test_only_adcraft_is_importable_outside_the_checkout(tmp_path):
    code = (
        "import importlib.util as u;"
        " print(*(n for n in ('adcraft', 'services', 'shared') if u.find_spec(n)))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert found.stdout.split() == ["adcraft"]
