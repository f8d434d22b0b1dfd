"""What ``adcraft eval combos`` reports: the generator against its baselines on held-out
worlds (seeds never used in training)."""

from __future__ import annotations

import torch

from adcraft.services.combinations.baselines import best_share
from adcraft.services.combinations.generator import CombinationGenerator
from adcraft.services.combinations.online import OnlineConfig, policies, regret
from adcraft.services.combinations.worlds import HELD_OUT_SEED, sample


def top1_shares(
    model: CombinationGenerator, ads: int = 256, seed: int = HELD_OUT_SEED
) -> torch.Tensor:
    """Per held-out ad, the reward model's click probability of the generator's top
    combination when it exploits (the first of a 16-wide beam), as a share of the best
    combination's (enumerated)."""
    worlds = sample(ads, torch.Generator().manual_seed(seed))
    with torch.inference_mode():
        top1 = model.top_k(worlds.seen.exploring(torch.zeros(ads)), 16).choices[:, 0]
    return best_share(worlds.seen, top1)


def top1_vs_best(model: CombinationGenerator, ads: int = 256, seed: int = HELD_OUT_SEED) -> float:
    """The mean of :func:`top1_shares`."""
    return float(top1_shares(model, ads, seed).mean())


def report(model: CombinationGenerator, config: OnlineConfig) -> dict[str, float]:
    """Top-1 quality on held-out ads (mean share of the best, its 10th percentile, the
    share of ads at ≥ 0.97) and each policy's cumulative regret over a simulated online
    run (expected clicks lost)."""
    shares = top1_shares(model)
    figures = {
        "top1_vs_best": float(shares.mean()),
        "top1_vs_best_p10": float(shares.quantile(0.1)),
        "top1_ads_at_097": float((shares >= 0.97).float().mean()),
    }
    for name, policy in policies(model).items():
        figures[f"{name}_regret"] = regret(policy, config)
    return figures
