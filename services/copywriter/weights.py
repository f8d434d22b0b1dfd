"""Where the copy model's weights live: the converted base model and the trained runs."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from shared.settings import CopySettings


@dataclass(frozen=True)
class CopyPaths:
    """``<models_dir>/<base_model>`` and ``<models_dir>/copy/{run-*,latest}``."""

    base: Path
    runs: Path

    @classmethod
    def from_settings(cls, settings: CopySettings) -> CopyPaths:
        models = Path(settings.models_dir).resolve()
        return cls(base=models / settings.base_model, runs=models / "copy")

    @property
    def latest(self) -> Path:
        return self.runs / "latest"

    def adapter(self) -> Path | None:
        """The latest trained adapter, or None when nothing was trained yet."""
        return self.latest.resolve() if (self.latest / "adapter_config.json").exists() else None

    def new_run(self) -> Path:
        run = self.runs / time.strftime("run-%Y%m%d-%H%M%S", time.gmtime())
        run.mkdir(parents=True, exist_ok=True)
        return run

    def point_latest(self, run: Path) -> None:
        """Switch ``latest`` to ``run`` atomically (readers see the old or the new run)."""
        link = self.runs / f".latest-{os.getpid()}"
        link.unlink(missing_ok=True)
        link.symlink_to(run.name)
        os.replace(link, self.latest)
