"""What ``adcraft eval combos`` reports: the generator against its baselines on held-out
worlds (seeds never used in training)."""

from __future__ import annotations

import torch

from services.combinations.baselines import best_share
from services.combinations.generator import CombinationGenerator
from services.combinations.online import OnlineConfig, policies, regret
from services.combinations.worlds import sample

HELD_OUT_SEED = 999


def top1_vs_best(model: CombinationGenerator, ads: int = 256, seed: int = HELD_OUT_SEED) -> float:
    """Mean over held-out ads of the reward model's click probability of the generator's
    top combination when it exploits (the first of a 16-wide beam), as a share of the best
    combination's (enumerated)."""
    worlds = sample(ads, torch.Generator().manual_seed(seed))
    with torch.inference_mode():
        top1 = model.top_k(worlds.seen.exploring(torch.zeros(ads)), 16).choices[:, 0]
    return float(best_share(worlds.seen, top1).mean())


def report(model: CombinationGenerator, config: OnlineConfig) -> dict[str, float]:
    """``top1_vs_best`` and each policy's regret per impression over a simulated online run."""
    figures = {"top1_vs_best": top1_vs_best(model)}
    for name, policy in policies(model).items():
        figures[f"{name}_regret"] = regret(policy, config)
    return figures
