"""The diversity term on copy the model samples itself (sequence-level unlikelihood).

Each round samples one copy per brief of the batch and penalises every sampled token that
completes a token n-gram another sample used, in this round or among the last few dozen.
The targets alone cannot teach variety across ads: the model learns their most common
phrasings, and only its own samples show which ones it repeats. Trigrams, punctuation
exempt: a first run on bigrams that also penalised punctuation degenerated into endless
strings of praise ("best best Best bright best...").
"""

from __future__ import annotations

from collections import Counter, deque

import torch

from adcraft.services.copywriter import prompts
from adcraft.services.copywriter.generate import CopyWriter
from adcraft.services.copywriter.objectives import (
    cross_sample_repeats,
    right_pad,
    sample_unlikelihood,
)
from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.copy_rules.postprocess import ngrams


class SampleMemory:
    """The token n-grams of the last ``size`` samples, counted, and the tokens never
    penalised (``exempt``: punctuation)."""

    def __init__(self, size: int, n: int, exempt: frozenset[int]) -> None:
        self.n, self.exempt = n, exempt
        self.counts: Counter = Counter()
        self.window: deque[set] = deque(maxlen=size)

    def repeats(self, samples: list[list[int]]) -> list[list[bool]]:
        """Flags of :func:`cross_sample_repeats`; the samples then join the memory."""
        flags = cross_sample_repeats(samples, self.counts, self.n, self.exempt)
        for sample in samples:
            if len(self.window) == self.window.maxlen:
                self.counts.subtract(self.window[0])
            grams = set(ngrams(sample, self.n))
            self.window.append(grams)
            self.counts.update(grams)
        return flags


def sampled_repeats_loss(
    writer: CopyWriter, briefs: list[CopyBrief], memory: SampleMemory
) -> torch.Tensor:
    """Sample one copy per brief (dropout off), then the mean unlikelihood of the sampled
    tokens that repeat other samples."""
    model, tokenizer = writer.model, writer.tokenizer
    model.eval()
    texts, _ = writer.raw(briefs)
    model.train()
    samples = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
    rows, flags = [], []
    for brief, sample, repeats in zip(briefs, samples, memory.repeats(samples), strict=True):
        prompt = prompts.render(tokenizer, brief, writer.limit(brief.placement))
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        rows.append(prompt_ids + sample)
        flags.append([0] * len(prompt_ids) + [int(r) for r in repeats])
    ids = right_pad(rows, tokenizer.pad_token_id).to(writer.device)
    attention = right_pad([[1] * len(row) for row in rows], 0).to(writer.device)
    logits = model(input_ids=ids, attention_mask=attention).logits
    flagged = right_pad(flags, 0)[:, 1:].bool().to(writer.device)
    return sample_unlikelihood(logits[:, :-1], ids[:, 1:], flagged)
