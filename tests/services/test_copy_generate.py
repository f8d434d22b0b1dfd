"""Generation keeps every row within its own token budget, whatever its batch neighbours';
the decoding plug-ins ban only repeats of generated text and sample each row on its own."""

import torch

from adcraft.services.copywriter.decoding import GeneratedNoRepeat, SeededSampler, draw
from adcraft.services.copywriter.generate import within_budgets

PAD = 0
VOCAB = 50
CONTINUES = 11  # the one token that continues a word
STARTS = torch.arange(VOCAB) != CONTINUES


def test_each_row_is_cut_at_its_own_budget():
    generated = torch.randint(1, 1000, (4, 40))
    generated[3, 10:] = PAD  # a row that stopped early (its line ended) stays as it was
    budgets = [4, 40, 1, 25]
    kept = within_budgets(generated, budgets, PAD)
    tokens = (kept != PAD).sum(dim=1).tolist()
    assert tokens == [4, 40, 1, 10]
    for row, budget in enumerate(budgets):
        assert torch.equal(kept[row, :budget], generated[row, :budget])
        assert tokens[row] <= budget


def banned(ban: GeneratedNoRepeat, ids: list[list[int]]) -> list[list[int]]:
    scores = ban(torch.tensor(ids), torch.zeros(len(ids), VOCAB))
    return [row.isinf().nonzero().flatten().tolist() for row in scores]


def test_only_ngrams_of_the_generated_text_are_banned():
    prompt = [[PAD, 7, 8, 9], [3, 7, 8, 9]]  # left-padded: both prompts end "7 8 9"
    ban = GeneratedNoRepeat(3, prompt_length=4, word_starts=STARTS)
    # Generated "7 8": the prompt's "7 8 9" may be written again (8 8 may not).
    assert banned(ban, [p + [7, 8] for p in prompt]) == [[8], [8]]
    # Generated "7 8 9 … 7 8": now "7 8 9" was generated, so 9 is banned (in that row only).
    rows = [prompt[0] + [7, 8, 9, 1, 7, 8], prompt[1] + [7, 1, 2, 1, 7, 8]]
    assert banned(ban, rows) == [[8, 9], [8]]
    unigrams = GeneratedNoRepeat(1, prompt_length=4, word_starts=STARTS)  # no token twice…
    assert banned(unigrams, [p + [5, 6] for p in prompt]) == [[5, 6], [5, 6]]
    # …but never a token that continues a word (banned mid-word, "bralette" came out "bralte")
    assert banned(unigrams, [p + [5, 6, CONTINUES] for p in prompt]) == [[5, 6], [5, 6]]


def test_a_rows_tokens_depend_on_its_seed_and_scores_only():
    scores = torch.randn(3, VOCAB)

    def tokens(seeds: list[int | None], rows: torch.Tensor, steps: int = 20) -> torch.Tensor:
        sampler = SeededSampler(seeds, temperature=0.8, top_p=0.95)
        drawn = [sampler(torch.zeros(len(seeds), 1, dtype=torch.long), rows) for _ in range(steps)]
        assert all((d.isfinite().sum(dim=1) == 1).all() for d in drawn)  # greedy takes the draw
        return torch.stack([d.argmax(dim=1) for d in drawn], dim=1)

    alone = tokens([11], scores[:1])
    assert torch.equal(tokens([5, 11, None], scores[[2, 0, 1]])[1], alone[0])
    assert torch.equal(tokens([11], scores[:1]), alone)
    assert not torch.equal(tokens([12], scores[:1]), alone)
    torch.manual_seed(3)
    unseeded = tokens([None], scores[:1])
    torch.manual_seed(3)
    assert torch.equal(tokens([None], scores[:1]), unseeded)  # the global RNG seeds it


def test_draws_follow_the_nucleus_of_the_tempered_distribution():
    scores = torch.tensor([2.0, 1.0, 0.5, -1.0, -3.0])
    n, temperature, top_p = 20_000, 0.8, 0.9
    uniforms = (torch.arange(n, dtype=torch.float64) + 0.5) / n  # an even grid over [0, 1)
    drawn = draw(scores.expand(n, -1), uniforms, temperature, top_p)
    probs = torch.softmax(scores / temperature, dim=0)
    nucleus = 3  # probabilities 0.68, 0.20, 0.10, 0.02, 0.00: the third reaches 0.9
    expected = torch.zeros_like(probs)
    expected[:nucleus] = probs[:nucleus] / probs[:nucleus].sum()
    observed = torch.bincount(drawn, minlength=len(scores)) / n
    assert torch.allclose(observed, expected, atol=2 / n)
