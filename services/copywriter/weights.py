"""Where the copy model's weights live: the converted base model, the trained runs, and the
adapter shipped in the Triton model repository (served when nothing was trained here)."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from adcraft.shared.runtime.settings import CopySettings

LATEST = "latest"
# ``adcraft train copy`` with its defaults, copied here: a fresh clone serves tuned copy (a
# Triton model finds it in its own repository folder, wherever adcraft is installed).
SHIPPED = Path(__file__).resolve().parents[2] / "model_repo" / "copy_generator" / "weights" / "1"
# What an adapter serves with: its weights and the shop's words and phrases decoding uses.
SERVED_FILES = ("adapter_config.json", "adapter_model.safetensors", "corpus.txt", "phrases.txt")
BASE = "base"


def version(adapter: Path | None) -> str:
    """The version of the copy a model serves: ``adapter-`` and a digest of the files it
    serves with (equal files, equal version, wherever they lie), or ``base``."""
    if adapter is None:
        return BASE
    digest = hashlib.blake2b(digest_size=6)
    for name in SERVED_FILES:
        digest.update((adapter / name).read_bytes())
    return "adapter-" + digest.hexdigest()


@dataclass(frozen=True)
class CopyPaths:
    """``<models_dir>/<base_model>`` and ``<models_dir>/copy/{run-*,latest,...}``: runs and
    the names that point at them (``latest``, served; ``no-diversity``, the ablation)."""

    base: Path
    runs: Path
    shipped: Path = SHIPPED

    @classmethod
    def from_settings(cls, settings: CopySettings, shipped: Path = SHIPPED) -> CopyPaths:
        models = Path(settings.models_dir).resolve()
        return cls(base=models / settings.base_model, runs=models / "copy", shipped=shipped)

    @property
    def latest(self) -> Path:
        return self.runs / LATEST

    def adapter(self, name: str = LATEST) -> Path | None:
        """The adapter ``name`` points at (``latest`` falls back to the shipped one), or None
        when nothing was trained under it."""
        link = self.runs / name
        if (link / "adapter_config.json").exists():
            return link.resolve()
        shipped = name == LATEST and (self.shipped / "adapter_config.json").exists()
        return self.shipped if shipped else None

    def new_run(self) -> Path:
        stamp = time.strftime("run-%Y%m%d-%H%M%S", time.gmtime())
        run = self.runs / f"{stamp}-{os.getpid()}"
        run.mkdir(parents=True)
        return run

    def point(self, name: str, run: Path) -> None:
        """Switch ``name`` to ``run`` atomically (readers see the old or the new run)."""
        link = self.runs / f".{name}-{os.getpid()}"
        link.unlink(missing_ok=True)
        link.symlink_to(run.name)
        os.replace(link, self.runs / name)
