"""The copy rules are light: the request worker imports them (and itself) without the
training stack or the screen's scikit-learn model, which loads when a screen is built."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sklearn", "torch", "transformers")


def _loaded(code: str) -> list[str]:
    probe = f"import sys; {code}; print(*(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_request_worker_imports_its_copy_rules_without_heavy_libraries():
    assert _loaded("import adcraft.services.request_worker.main") == []
    assert (
        _loaded("import adcraft.shared.copy_rules.postprocess, adcraft.shared.copy_rules.screen")
        == []
    )


def test_building_a_screen_loads_the_offensive_language_model():
    code = (
        "from adcraft.shared.copy_rules.screen import CopyScreen;"
        " from adcraft.shared.runtime.settings import CopySettings;"
        " CopyScreen.from_settings(CopySettings())"
    )
    assert _loaded(code) == ["sklearn"]
