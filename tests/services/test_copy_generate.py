"""Generation keeps every row within its own token budget, whatever its batch neighbours'."""

import torch

from services.copywriter.generate import within_budgets

PAD = 0


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
