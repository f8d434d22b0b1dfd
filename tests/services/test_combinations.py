"""The combination generator's propensities are exact, its top-K is the policy's, and the
baselines do what they claim."""

import math

import pytest
import torch
from scipy.stats import chisquare

from services.combinations.baselines import (
    additive_value,
    best_share,
    combinations_of,
    greedy_additive,
    per_slot_thompson,
)
from services.combinations.candidates import Candidates
from services.combinations.generator import CombinationGenerator
from services.combinations.reinforce import TrainConfig, train
from services.combinations.worlds import sample


def _batch() -> Candidates:
    """Two requests of different shapes: 3 slots × (3, 2, 3) and 2 slots × (2, 1)."""
    torch.manual_seed(0)
    first = Candidates.single(
        [
            [[0.2, 0.5, 1, 0], [0.1, 1, 2, 0], [-0.3, 0.2, 3, 0.1]],
            [[0.0, 1, 0, 0], [0.4, 0.3, 1, 0]],
            [[0.1, 0.1, 1, 0], [0.2, 0.2, 2, 0], [0.3, 0.3, 3, 0]],
        ],
        pairs={(0, 2, 1, 0): 1.5, (1, 1, 2, 0): -0.7},
    )
    second = Candidates.single([[[0.5, 0.1, 1, 0], [0.6, 0.1, 1, 0]], [[0.0, 1, 0, 0]]])
    return _stack(first, second)


def _stack(*requests: Candidates) -> Candidates:
    slots = max(r.mask.shape[1] for r in requests)
    width = max(r.mask.shape[2] for r in requests)

    def pad(tensor: torch.Tensor, dims: list[int]) -> torch.Tensor:
        sizes = [0, 0] * (tensor.dim() - 1)
        for dim in dims:
            target = slots if dim in (1, 3) else width
            sizes[2 * (tensor.dim() - 1 - dim) + 1] = target - tensor.shape[dim]
        return torch.nn.functional.pad(tensor, sizes)

    return Candidates(
        torch.cat([pad(r.features, [1, 2]) for r in requests]),
        torch.cat([pad(r.mask, [1, 2]) for r in requests]),
        torch.cat([pad(r.pairs, [1, 2, 3, 4]) for r in requests]),
        torch.cat([r.context for r in requests]),
    )


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(1)
    return CombinationGenerator().eval()


def _probability(model, batch, row, choice):
    choices = torch.tensor([choice])
    one = Candidates(
        *(t[row : row + 1] for t in (batch.features, batch.mask, batch.pairs, batch.context))
    )
    with torch.no_grad():
        return float(model.log_prob(one, choices).sum().exp())


def test_propensities_are_products_of_slot_probabilities_and_sum_to_one(model):
    batch = _batch()
    with torch.no_grad():
        drawn = model.sample(batch, rng=torch.Generator().manual_seed(2))
    assert torch.allclose(drawn.probability, drawn.slot_probabilities.prod(-1))
    assert drawn.choices[1, 2] == -1 and drawn.slot_probabilities[1, 2] == 1
    for row in range(2):
        total = sum(_probability(model, batch, row, c) for c in combinations_of(batch, row))
        assert total == pytest.approx(1.0, abs=1e-5)
        assert all(batch.mask[row, s, c] for s, c in enumerate(drawn.choices[row]) if c >= 0)


def test_sampling_frequencies_match_the_propensities(model):
    batch = _batch()
    draws = 20_000
    many = Candidates(
        *(
            t[:1].repeat_interleave(draws, 0)
            for t in (batch.features, batch.mask, batch.pairs, batch.context)
        )
    )
    with torch.no_grad():
        drawn = model.sample(many, rng=torch.Generator().manual_seed(3))
    space = combinations_of(batch, 0)
    seen = {combo: 0 for combo in space}
    for choice in drawn.choices.tolist():
        seen[tuple(choice)] += 1
    probabilities = [_probability(model, batch, 0, combo) for combo in space]
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)
    expected = [draws * p / sum(probabilities) for p in probabilities]  # float32 rounding
    result = chisquare([seen[combo] for combo in space], expected)
    assert result.pvalue > 1e-3


def test_top_k_is_the_most_probable_distinct_combinations(model):
    batch = _batch()
    with torch.no_grad():
        top = model.top_k(batch, k=5)
    ranked = sorted(combinations_of(batch, 0), key=lambda c: -_probability(model, batch, 0, c))[:5]
    assert [tuple(c) for c in top.choices[0].tolist()] == ranked
    for got, combo in zip(top.probability[0].tolist(), ranked, strict=True):
        assert got == pytest.approx(_probability(model, batch, 0, combo), rel=1e-5)
    # The second request has only 2 combinations: the rest have probability 0.
    assert top.probability[1, :2].sum() == pytest.approx(1.0, abs=1e-5)
    assert top.probability[1, 2:].tolist() == [0.0, 0.0, 0.0]


def test_greedy_sees_pairs_and_thompson_explores_within_the_mask():
    batch = _batch()
    best = greedy_additive(batch)
    values = {c: additive_value(batch, 0, c) for c in combinations_of(batch, 0)}
    assert tuple(best[0].tolist()) == max(values, key=values.get)
    assert best[0, 0] == 2  # the strong pair wins over slot 0's best mean
    rng = torch.Generator().manual_seed(4)
    picks = torch.stack([per_slot_thompson(batch, rng) for _ in range(200)])
    assert (picks[:, 1, 2] == -1).all()
    assert set(picks[:, 0, 0].tolist()) == {0, 1, 2}  # uncertain posteriors are explored
    assert math.isclose(float(batch.mask[1].sum()), 3.0)


@pytest.mark.slow
def test_trained_generator_finds_near_best_combinations_on_unseen_ads():
    model = train(TrainConfig(steps=1_500, entropy_weight=0.005), log=lambda _: None)
    held_out = sample(64, torch.Generator().manual_seed(999))  # seeds never used in training
    with torch.no_grad():
        top1 = model.top_k(held_out.seen, 16).choices[:, 0]
    generator = best_share(held_out.seen, top1)
    means = held_out.seen.features[..., 0].masked_fill(~held_out.seen.mask, float("-inf"))
    per_slot = means.argmax(-1).masked_fill(~held_out.seen.slots, -1)
    assert float(generator.mean()) >= 0.97
    assert float(generator.mean()) > float(best_share(held_out.seen, per_slot).mean())
