"""A simulated online run: a policy chooses combinations, clicks come from a known truth,
and the real reward model (:class:`ElementRewardModel`) learns from them as it would live.

Every round, each ad is shown ``impressions`` times by the policy under test, reading the
reward model's current posteriors; the clicks drawn from the true world are learned in one
batch before the next round. Cumulative regret is the true click probability lost against
each ad's best combination, summed over every impression of the run (expected clicks
lost). The policies:

- ``generator``: a draw from the trained generator, exploring;
- ``per_slot_ts``: independent Thompson sampling per slot on the element posteriors;
- ``greedy``: the argmax of the additive model's posterior means, pairs included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from adcraft.services.combinations.baselines import greedy_additive, per_slot_thompson
from adcraft.services.combinations.candidates import Candidates
from adcraft.services.combinations.generator import CombinationGenerator
from adcraft.services.combinations.worlds import ONLINE_SEED, Worlds, sample
from adcraft.shared.contract.combination_contract import pack
from adcraft.shared.rewards.reward_model import ElementRewardModel, Example

# (ads, impressions per ad, rng) -> choices [ads × impressions, S], each ad's in a row
Policy = Callable[[Candidates, int, torch.Generator], torch.Tensor]
SEGMENT = "all"


@dataclass(frozen=True)
class OnlineConfig:
    """The run's size; ``seed`` picks held-out worlds (never a training seed)."""

    ads: int = 32
    rounds: int = 30
    impressions: int = 40
    seed: int = ONLINE_SEED


def policies(generator: CombinationGenerator) -> dict[str, Policy]:
    """The policies compared, by name."""
    return {
        "generator": lambda ads, n, rng: generator.sample(ads.repeat(n), rng=rng).choices,
        "per_slot_ts": lambda ads, n, rng: per_slot_thompson(ads.repeat(n), rng),
        "greedy": lambda ads, n, _: greedy_additive(ads).repeat_interleave(n, dim=0),
    }


def regret(policy: Policy, config: OnlineConfig) -> float:
    """Cumulative regret of ``policy`` over the run (expected clicks lost)."""
    worlds = sample(config.ads, torch.Generator().manual_seed(config.seed))
    catalog = catalog_of(worlds)
    model = ElementRewardModel(catalog)
    shown = worlds.repeat(config.impressions)
    best = worlds.best_ctr().repeat_interleave(config.impressions)
    rng = torch.Generator().manual_seed(config.seed + 1)
    lost = 0.0
    for round_ in range(config.rounds):
        batch = posteriors(model, catalog, worlds.seen.shape)
        with torch.no_grad():
            choices = policy(batch, config.impressions, rng)
        ctr = shown.true_ctr(choices)
        clicks = torch.rand(ctr.shape, generator=rng) < ctr
        lost += float((best - ctr).sum())
        model.learn(_examples(catalog, choices, clicks, round_))
    return lost


def catalog_of(worlds: Worlds) -> dict[str, dict[str, list[str]]]:
    """The worlds as a reward model catalogue: ad ``ad<i>``, slots ``s<j>``, elements
    ``e<c>``, in index order."""
    mask = worlds.seen.mask
    return {
        f"ad{row}": {
            f"s{slot}": [f"e{c}" for c in range(int(mask[row, slot].sum()))]
            for slot in range(mask.shape[1])
            if mask[row, slot].any()
        }
        for row in range(mask.shape[0])
    }


def posteriors(
    model: ElementRewardModel, catalog: dict[str, dict[str, list[str]]], shape: tuple[int, int]
) -> Candidates:
    """The reward model's current posteriors of every ad, as the generator sees them."""
    arrays, _ = pack(model.posteriors([(ad, SEGMENT) for ad in catalog], "online"), shape, k=1)
    return Candidates.from_arrays(arrays)


def _examples(
    catalog: dict[str, dict[str, list[str]]],
    choices: torch.Tensor,
    clicks: torch.Tensor,
    round_: int,
) -> list[Example]:
    ads = list(catalog)
    per_ad = len(choices) // len(ads)
    examples = []
    for i, (choice, click) in enumerate(zip(choices.tolist(), clicks.tolist(), strict=True)):
        ad = ads[i // per_ad]
        bag = tuple((slot, f"e{c}") for slot, c in zip(catalog[ad], choice, strict=False))
        examples.append(Example(round_, "click", f"{round_}-{i}", (ad, SEGMENT, bag), click))
    return examples
