"""Versioned generator weights, where the Triton model reads them.

``adcraft train combos`` writes ``<model dir>/weights/<version>/`` holding the weights
(``generator.pt``, a plain state dict) and ``config.json`` (network shape, training config,
held-out figures, torch version). Versions are integers; the model serves the highest
unless told otherwise. Triton ignores the non-numeric ``weights`` folder.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from adcraft.services.combinations.generator import CombinationGenerator
from adcraft.services.combinations.reinforce import TrainConfig

MODEL_DIR = Path("model_repo/combination_generator")
WEIGHTS, CONFIG = "generator.pt", "config.json"


def versions(model_dir: Path = MODEL_DIR) -> list[int]:
    """The exported versions, oldest first."""
    root = model_dir / "weights"
    found = root.iterdir() if root.is_dir() else []
    return sorted(int(p.name) for p in found if p.name.isdigit() and (p / WEIGHTS).is_file())


def save(
    model: CombinationGenerator,
    config: TrainConfig,
    figures: dict[str, float],
    model_dir: Path = MODEL_DIR,
) -> Path:
    """Write ``model`` as the next version; return its folder."""
    version = (versions(model_dir) or [0])[-1] + 1
    folder = model_dir / "weights" / str(version)
    folder.mkdir(parents=True)
    torch.save(model.state_dict(), folder / WEIGHTS)
    meta = {
        "version": version,
        "network": {"context_dim": model.context_dim, "hidden": model.hidden},
        "train": dataclasses.asdict(config),
        "figures": figures,
        "torch": torch.__version__,
    }
    (folder / CONFIG).write_text(json.dumps(meta, indent=2) + "\n")
    return folder


def load(
    model_dir: Path = MODEL_DIR, version: int | None = None, device: str = "cpu"
) -> tuple[CombinationGenerator, int]:
    """The generator of ``version`` (the highest when None), in eval mode, and its version;
    :class:`FileNotFoundError` if none is exported."""
    available = versions(model_dir)
    if not available:
        raise FileNotFoundError(f"no generator weights under {model_dir / 'weights'}")
    version = available[-1] if version is None else version
    folder = model_dir / "weights" / str(version)
    meta = json.loads((folder / CONFIG).read_text())
    model = CombinationGenerator(**meta["network"])
    state = torch.load(folder / WEIGHTS, map_location=device, weights_only=True)
    model.load_state_dict(state)
    return model.to(device).eval(), version
