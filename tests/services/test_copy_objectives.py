"""Each auxiliary loss term moves the way its objective says."""

from collections import Counter

import torch

from adcraft.services.copywriter.objectives import (
    Batch,
    LossWeights,
    cross_sample_repeats,
    diversity_loss,
    multi_objective_loss,
    sample_unlikelihood,
    sentiment_loss,
)
from adcraft.services.copywriter.sampled_repeats import SampleMemory

VOCAB = 6
VALENCE = torch.tensor([0.0, 3.0, -3.0, 0.0, 0.0, 0.0])  # token 1 positive, 2 negative


def _probs(favoured: list[int], mass: float = 0.9) -> torch.Tensor:
    """One sequence whose position t puts ``mass`` on token ``favoured[t]``."""
    probs = torch.full((1, len(favoured), VOCAB), (1 - mass) / (VOCAB - 1))
    for t, token in enumerate(favoured):
        probs[0, t, token] = mass
    return probs


def test_sentiment_loss_prefers_positive_words_and_ignores_non_copy_positions():
    mask = torch.tensor([[True, True, True]])
    positive = sentiment_loss(_probs([1, 1, 3]), mask, VALENCE, target=0.8)
    negative = sentiment_loss(_probs([2, 2, 3]), mask, VALENCE, target=0.8)
    assert positive < negative
    prompt_only = torch.tensor([[False, False, False]])
    assert sentiment_loss(_probs([2, 2, 2]), prompt_only, VALENCE, 0.8) == 0.0


def test_sentiment_gradient_moves_mass_toward_positive_tokens():
    logits = torch.zeros(1, 2, VOCAB, requires_grad=True)
    loss = sentiment_loss(logits.softmax(-1), torch.tensor([[True, True]]), VALENCE, 0.8)
    loss.backward()
    assert (logits.grad[0, :, 1] < 0).all()  # descending raises the positive token
    assert (logits.grad[0, :, 2] > 0).all()


def test_sentiment_term_scores_the_message_not_the_call_to_action():
    ids = torch.tensor([[0, 3, 4, 5]])
    on = torch.ones(1, 3, dtype=torch.bool)
    cta = torch.tensor([[False, True, True]])  # the last two copy tokens are the CTA
    batch = Batch(ids, torch.ones(1, 4, dtype=torch.long), on, on, cta)

    def sentiment_of(favoured: list[int]) -> float:
        logits = torch.log(_probs([*favoured, 0]))  # the last position predicts nothing
        return multi_objective_loss(logits, batch, VALENCE, LossWeights())[1]["sentiment"]

    assert sentiment_of([3, 1, 1]) == sentiment_of([3, 2, 2])  # CTA wording: no effect
    assert sentiment_of([1, 3, 3]) < sentiment_of([2, 3, 3])  # message wording counts


def test_unlikelihood_penalises_repeating_earlier_tokens():
    labels = torch.tensor([[4, 5, 3, 4]])  # target tokens of one copy
    mask = torch.ones(1, 4, dtype=torch.bool)
    repeating = _probs([4, 4, 5, 4])  # puts mass on tokens it already wrote
    fresh = _probs([4, 5, 3, 1])
    assert diversity_loss(repeating, labels, mask) > diversity_loss(fresh, labels, mask)


def test_batch_term_penalises_identical_copies_for_different_briefs():
    labels = torch.tensor([[3, 4], [3, 4]])
    mask = torch.ones(2, 2, dtype=torch.bool)
    same = torch.cat([_probs([3, 4]), _probs([3, 4])])
    different = torch.cat([_probs([3, 4]), _probs([1, 5])])
    assert diversity_loss(same, labels, mask) > diversity_loss(different, labels, mask)


def test_sampled_tokens_that_repeat_another_sample_are_flagged_and_penalised():
    samples = [[1, 2, 3, 0], [4, 2, 3, 0], [5, 1]]
    flags = cross_sample_repeats(samples, Counter(), n=2, exempt=frozenset({0}))
    assert flags == [[False, False, True, False], [False, False, True, False], [False, False]]
    logits = torch.zeros(len(samples), 4, VOCAB, requires_grad=True)
    labels = torch.tensor([s + [0] * (4 - len(s)) for s in samples])
    mask = torch.tensor([f + [False] * (4 - len(f)) for f in flags])
    sample_unlikelihood(logits, labels, mask).backward()
    assert logits.grad[0, 2, 3] > 0  # descending lowers the repeated token
    assert (logits.grad[0, :2] == 0).all() and (logits.grad[2] == 0).all()


def test_memory_counts_recent_samples_until_they_leave_its_window():
    memory = SampleMemory(size=2, n=3, exempt=frozenset({0}))
    assert memory.repeats([[1, 2, 3]]) == [[False, False, False]]
    assert memory.repeats([[1, 2, 3], [1, 2, 0]]) == [[False, False, True], [False, False, False]]
    memory.repeats([[4, 5, 6], [4, 5, 6]])  # the window now holds only these two
    assert memory.repeats([[1, 2, 3]]) == [[False, False, False]]
    assert memory.repeats([[], [4]]) == [[], [False]]  # a flag per token, even for short ones
