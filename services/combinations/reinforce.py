"""Training the generator by REINFORCE against the reward model's posterior.

Each step draws a batch of random ads (:mod:`~services.combinations.worlds`), samples
``samples`` combinations per ad from the policy, and rewards each with a Thompson draw of
the reward model's logit, so the policy is paid to explore where the posterior is unsure.
The baseline is leave-one-out: each sample's advantage is its reward minus the mean of the
ad's other samples (no value network, low variance). An entropy bonus (reward minus
``entropy_weight`` × log π) keeps the policy from collapsing early.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from services.combinations.candidates import Candidates
from services.combinations.generator import CombinationGenerator
from services.combinations.worlds import posterior_logit, sample


@dataclass(frozen=True)
class TrainConfig:
    """Seeded, so a run is reproducible."""

    steps: int = 400
    ads: int = 32
    samples: int = 8
    learning_rate: float = 3e-3
    entropy_weight: float = 0.02
    seed: int = 0


def train(config: TrainConfig, log: Callable[[str], None] = print) -> CombinationGenerator:
    """A generator trained on ``config.steps`` batches of random ads."""
    torch.manual_seed(config.seed)
    rng = torch.Generator().manual_seed(config.seed)
    model = CombinationGenerator()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    for step in range(config.steps):
        worlds = sample(config.ads, rng)
        loss, reward = reinforce_loss(model, worlds.seen, config, rng)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 50 == 0 or step == config.steps - 1:
            log(f"step {step:4d}  loss {loss.item():+.4f}  mean sampled logit {reward:+.4f}")
    return model.eval()


def reinforce_loss(
    model: CombinationGenerator, seen: Candidates, config: TrainConfig, rng: torch.Generator
) -> tuple[torch.Tensor, float]:
    """The policy-gradient loss of one batch, and its mean reward."""
    n = config.samples
    many = Candidates(
        *(
            t.repeat_interleave(n, dim=0)
            for t in (seen.features, seen.mask, seen.pairs, seen.context)
        )
    )
    with torch.no_grad():
        drawn = model.sample(many, rng=rng)
    log_prob = model.log_prob(many, drawn.choices).sum(-1)
    reward = posterior_logit(many, drawn.choices, rng) - config.entropy_weight * log_prob.detach()
    per_ad = reward.reshape(-1, n)
    advantage = per_ad - (per_ad.sum(1, keepdim=True) - per_ad) / (n - 1)
    loss = -(advantage.reshape(-1) * log_prob).mean()
    return loss, float(per_ad.mean())
