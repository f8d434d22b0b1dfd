"""``adcraft train combos``: train on simulated ads (and a snapshot of the live reward
model when asked), measure on held-out ads, export the next version."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from adcraft.services.combinations import export
from adcraft.services.combinations.candidates import Candidates
from adcraft.services.combinations.evaluation import top1_vs_best
from adcraft.services.combinations.reinforce import TrainConfig, train
from adcraft.shared.adapters import redis_client
from adcraft.shared.adapters.posterior_store import PosteriorStore
from adcraft.shared.runtime.settings import Settings


def run(
    config: TrainConfig,
    settings: Settings | None,
    model_dir: Path,
    log: Callable[[str], None] = print,
) -> Path:
    """Train with ``config`` on the GPU when there is one; return the exported folder.
    With ``settings``, every ad posterior in its Redis joins the training ads."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(1)  # tensors this small lose time to a second thread
    snapshot = None
    if settings is not None:
        posteriors = PosteriorStore(redis_client.client(settings.redis)).all()
        if not posteriors:
            raise ValueError("the reward model has published no posterior yet")
        snapshot, _ = Candidates.of(posteriors)
        log(f"snapshot: {len(posteriors)} ad posteriors from Redis")
    log(f"training on {device}")
    model = train(config, snapshot, device, log)
    figures = {"top1_vs_best": round(top1_vs_best(model), 4)}
    log(f"held-out top1_vs_best {figures['top1_vs_best']}")
    return export.save(model, config, figures, model_dir)
