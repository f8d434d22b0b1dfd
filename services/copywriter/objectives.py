"""The multi-objective fine-tuning loss (arXiv 2505.23809, section 3.3), as pure functions.

    L = L_lm + λ_s · L_sentiment + λ_d · L_diversity + λ_c · L_cta

All terms read the same logits, shifted so that position t predicts token t + 1, and are
averaged over the *copy* tokens (review text mixed in for language retention only carries
L_lm):

- ``L_lm``: cross-entropy of the target copy (and of replayed review text).
- ``L_sentiment``: VADER made differentiable. Each vocabulary token carries its VADER
  lexicon valence v (0 when it is not a lexicon word); a sequence's expected valence is
  s = Σ_t E_{p_t}[v], squashed like VADER's compound, s / sqrt(s² + 15). The loss is its
  squared distance to the target sentiment (``sentiment_target``), so the model moves
  probability toward words the offline scorer rates positive, without sampling. It scores
  the message only, not the call to action: the CTA's wording is L_cta's job, and scored
  there the term traded CTA verbs for positive words ("Enjoy it now!" is no CTA).
- ``L_diversity``: token-level unlikelihood (Welleck et al., 2019) of every token already
  used earlier in the same copy, −Σ log(1 − p_t(c)), which penalises repeated n-grams; plus
  the mean pairwise cosine similarity of the copies' average predicted distributions within
  a batch, which penalises writing the same copy for different briefs; plus, on copy the
  model itself samples for the batch's briefs, the unlikelihood of each sampled token (but
  punctuation) that completes a token trigram another recent sample used
  (``cross_sample_repeats``, ``sample_unlikelihood``; see ``sampled_repeats``).
- ``L_cta``: cross-entropy on the call-to-action span only. The requested CTA style is part
  of the prompt; this term weights learning to realise it at the end of the copy.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from typing import cast

import torch
import torch.nn.functional as F
from transformers.tokenization_utils_base import PreTrainedTokenizerBase
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from adcraft.shared.copy_rules.postprocess import ngrams

VADER_ALPHA = 15.0  # VADER's compound normalisation constant


@dataclass(frozen=True)
class LossWeights:
    """λ of each auxiliary term, and the sentiment the copy should have."""

    sentiment: float = 1.0
    diversity: float = 1.0
    cta: float = 1.0
    sentiment_target: float = 0.8


@dataclass(frozen=True)
class Batch:
    """Token ids and, per position of the shifted sequence, which tokens count where."""

    input_ids: torch.Tensor  # (B, T)
    attention_mask: torch.Tensor  # (B, T)
    lm_mask: torch.Tensor  # (B, T-1) tokens the LM loss predicts
    copy_mask: torch.Tensor  # (B, T-1) tokens of generated copy
    cta_mask: torch.Tensor  # (B, T-1) tokens of the call to action

    def to(self, device: str) -> Batch:
        return Batch(*(getattr(self, f.name).to(device) for f in fields(self)))


def vocabulary(tokenizer: PreTrainedTokenizerBase) -> list[str]:
    """Every token decoded, by id (decoding the vocabulary takes a second or two)."""
    return [cast(str, tokenizer.decode([token_id])) for token_id in range(len(tokenizer))]


def valence_table(vocab: list[str]) -> torch.Tensor:
    """VADER valence of every decoded token of ``vocab`` (the word, lower-cased)."""
    lexicon = SentimentIntensityAnalyzer().lexicon
    return torch.tensor([lexicon.get(word.strip().lower(), 0.0) for word in vocab])


def letterless_tokens(vocab: list[str]) -> frozenset[int]:
    """Ids of the decoded tokens of ``vocab`` that hold no letter (punctuation, digits)."""
    return frozenset(i for i, word in enumerate(vocab) if not any(c.isalpha() for c in word))


def right_pad(rows: list[list[int]], fill: int) -> torch.Tensor:
    """``rows`` right-padded with ``fill`` to the longest one."""
    width = max(len(row) for row in rows)
    return torch.tensor([row + [fill] * (width - len(row)) for row in rows])


def lm_loss(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of ``labels`` where ``mask``."""
    if not mask.any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits[mask], labels[mask])


def sentiment_loss(
    probs: torch.Tensor, mask: torch.Tensor, valence: torch.Tensor, target: float
) -> torch.Tensor:
    """Squared distance of each copy's expected VADER compound to ``target``."""
    rows = mask.any(dim=1)
    if not rows.any():
        return probs.sum() * 0.0
    expected = (probs @ valence) * mask  # (B, T) expected valence per position
    total = expected.sum(dim=1)[rows]
    compound = total / torch.sqrt(total**2 + VADER_ALPHA)
    return ((compound - target) ** 2).mean()


def diversity_loss(probs: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Unlikelihood of tokens repeated within a copy + similarity between the batch's copies."""
    length = labels.shape[1]
    earlier = torch.ones(length, length, dtype=torch.bool, device=labels.device).tril(-1)
    # candidate[b, t, s]: token s of the copy came before position t and differs from target t
    candidate = earlier & mask[:, :, None] & mask[:, None, :]
    candidate &= labels[:, None, :] != labels[:, :, None]
    same = labels[:, None, :] == labels[:, :, None]  # (B, s, s'): same token
    repeated_before = (same & earlier & mask[:, None, :]).any(dim=2)  # token s seen earlier
    candidate &= ~repeated_before[:, None, :]  # count each previous token once
    p = torch.gather(probs, 2, labels[:, None, :].expand(-1, length, -1))
    unlikelihood = -(torch.log1p(-p.clamp(max=1 - 1e-5)) * candidate).sum()
    unlikelihood = unlikelihood / candidate.sum().clamp(min=1)
    rows = mask.any(dim=1)
    if rows.sum() < 2:
        return unlikelihood
    average = (probs * mask[..., None]).sum(dim=1)[rows] / mask.sum(dim=1)[rows, None]
    unit = F.normalize(average, dim=1)
    similarity = unit @ unit.T
    count = unit.shape[0]
    off_diagonal = (similarity.sum() - similarity.diagonal().sum()) / (count * (count - 1))
    return unlikelihood + off_diagonal


def cross_sample_repeats(
    samples: list[list[int]], recent: Counter, n: int = 3, exempt: frozenset = frozenset()
) -> list[list[bool]]:
    """Per token of each sample: does it complete an n-gram that another sample of the batch,
    or one counted in ``recent``, also used? Tokens in ``exempt`` never do.

    >>> cross_sample_repeats([[1, 2, 3], [4, 2, 3], [5, 6], [7]], Counter({(5, 6): 1}), n=2)
    [[False, False, True], [False, False, True], [False, True], [False]]
    """
    grams = [ngrams(sample, n) for sample in samples]
    batch = Counter(g for own in grams for g in set(own))
    return [
        [False] * min(n - 1, len(sample))
        + [(recent[g] > 0 or batch[g] > 1) and g[-1] not in exempt for g in own]
        for sample, own in zip(samples, grams, strict=True)
    ]


def sample_unlikelihood(
    logits: torch.Tensor, labels: torch.Tensor, flags: torch.Tensor
) -> torch.Tensor:
    """Mean −log(1 − p) of the flagged sampled tokens (sequence-level unlikelihood)."""
    if not flags.any():
        return logits.sum() * 0.0
    p = logits[flags].float().softmax(dim=-1).gather(1, labels[flags][:, None])
    return -torch.log1p(-p.clamp(max=1 - 1e-5)).mean()


def multi_objective_loss(
    logits: torch.Tensor, batch: Batch, valence: torch.Tensor, weights: LossWeights
) -> tuple[torch.Tensor, dict[str, float]]:
    """The weighted total and each term's value (for logging)."""
    logits = logits[:, :-1].float()
    labels = batch.input_ids[:, 1:]
    probs = logits.softmax(dim=-1)
    terms = {
        "lm": lm_loss(logits, labels, batch.lm_mask),
        "sentiment": sentiment_loss(
            probs, batch.copy_mask & ~batch.cta_mask, valence, weights.sentiment_target
        ),
        "diversity": diversity_loss(probs, labels, batch.copy_mask),
        "cta": lm_loss(logits, labels, batch.cta_mask),
    }
    total = (
        terms["lm"]
        + weights.sentiment * terms["sentiment"]
        + weights.diversity * terms["diversity"]
        + weights.cta * terms["cta"]
    )
    parts = {name: float(value.detach()) for name, value in terms.items()}
    parts["total"] = float(total.detach())
    return total, parts
