"""Training the generator by REINFORCE against the reward model's posterior.

Each step draws a batch of random ads (:mod:`~adcraft.services.combinations.worlds`), and, when a
snapshot of the live reward model is given, a batch of its ads too; it samples ``samples``
combinations per ad from the policy and rewards each with a Thompson draw of the reward
model's logit, so the policy is paid to explore where the posterior is unsure. The
baseline is leave-one-out: each sample's advantage is its reward minus the mean of the ad's
other samples (no value network, low variance). An entropy bonus (reward minus
``entropy_weight`` × log π) keeps the policy from collapsing early.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from adcraft.services.combinations.candidates import Candidates, combinations_of
from adcraft.services.combinations.generator import CombinationGenerator
from adcraft.services.combinations.worlds import (
    HELD_OUT_SEED,
    ONLINE_SEED,
    combination_logits,
    posterior_logit,
    sample,
)
from adcraft.shared.contract.combination_contract import EXPLORE


@dataclass(frozen=True)
class TrainConfig:
    """Seeded, so a run is reproducible (on one device)."""

    steps: int = 1_500
    ads: int = 32
    samples: int = 8
    learning_rate: float = 3e-3
    entropy_weight: float = 0.005
    imitation_weight: float = 0.5
    draws: int = 4
    hidden: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        held_out = {HELD_OUT_SEED, ONLINE_SEED, ONLINE_SEED + 1}
        if self.seed in held_out:
            raise ValueError(f"seeds {sorted(held_out)} are kept for evaluation")


def train(
    config: TrainConfig,
    snapshot: Candidates | None = None,
    device: str = "cpu",
    log: Callable[[str], None] = print,
) -> CombinationGenerator:
    """A generator trained on ``config.steps`` batches of random ads (and of ``snapshot``'s
    ads, when given), on ``device``."""
    torch.manual_seed(config.seed)
    rng = torch.Generator().manual_seed(config.seed)
    model = CombinationGenerator(hidden=config.hidden).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    for step in range(config.steps):
        batches = [sample(config.ads, rng).seen]
        if snapshot is not None:
            pick = torch.randint(0, snapshot.mask.shape[0], (config.ads,), generator=rng)
            batches.append(snapshot.rows(pick))
        batches = [b.exploring(torch.rand(config.ads, generator=rng) < 0.5) for b in batches]
        losses, rewards = zip(
            *(reinforce_loss(model, b.to(device), config, rng) for b in batches), strict=True
        )
        loss = torch.stack(losses).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == config.steps - 1:
            mean = sum(rewards) / len(rewards)
            log(f"step {step:5d}  loss {loss.item():+.4f}  mean sampled logit {mean:+.4f}")
    return model.cpu().eval()


def reinforce_loss(
    model: CombinationGenerator, seen: Candidates, config: TrainConfig, rng: torch.Generator
) -> tuple[torch.Tensor, float]:
    """The policy-gradient loss of one batch, and its mean reward."""
    n = config.samples
    many = seen.repeat(n)
    with torch.no_grad():
        uniform = torch.rand(many.mask.shape[:2], generator=rng).to(many.mask.device)
        drawn = model.sample(many, uniform=uniform)
    log_prob = model.log_prob(many, drawn.choices).sum(-1)
    reward = posterior_logit(many, drawn.choices, rng) - config.entropy_weight * log_prob.detach()
    per_ad = reward.reshape(-1, n)
    advantage = per_ad - (per_ad.sum(1, keepdim=True) - per_ad) / (n - 1)
    loss = -(advantage.reshape(-1) * log_prob).mean()
    explorers = seen.rows(torch.nonzero(seen.context[:, EXPLORE] > 0).flatten())
    if config.imitation_weight and len(explorers.mask):
        targets = thompson_choices(explorers, config.draws, rng).to(seen.mask.device)
        imitated = model.log_prob(explorers.repeat(config.draws), targets).sum(-1)
        loss = loss - config.imitation_weight * imitated.sum() / (len(seen.mask) * config.draws)
    return loss, float(per_ad.mean())


def thompson_choices(seen: Candidates, draws: int, rng: torch.Generator) -> torch.Tensor:
    """Per ad, ``draws`` combinations [B × draws, S], each the best (enumerated) under one
    Thompson draw of the posterior: element effects drawn, pair weights at their means."""
    seen = seen.to("cpu")
    mean, sd = seen.features[..., 0], seen.features[..., 1]
    noise = torch.randn((len(mean), draws, *mean.shape[1:]), generator=rng)
    drawn = mean[:, None] + sd[:, None] * noise
    best = []
    for row in range(len(mean)):
        combos = combinations_of(seen, row)
        best.append(combos[combination_logits(drawn[row], seen.pairs[row], combos).argmax(-1)])
    return torch.cat(best)
