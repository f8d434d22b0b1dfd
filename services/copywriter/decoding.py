"""What ``generate`` is given to decode copy: the repetition ban, the per-row sampler, the
line end that stops a row, and the streamer that hands text on as it is written.

Sampling is done here, not by HF's ``do_sample``: :class:`SeededSampler` draws each row's
token with the row's own generator and leaves only that token finite, so ``generate`` runs
greedy over its scores. A row's copy then depends on its seed and its own logits only, never
on the batch around it or on the global RNG (which HF's sampler shares across rows).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import torch
from transformers import LogitsProcessor, StoppingCriteria, TextStreamer
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

SEED_BOUND = 2**63 - 1  # seeds drawn or derived here lie in [0, SEED_BOUND)


class GeneratedNoRepeat(LogitsProcessor):
    """Bans every word-starting token that would complete an ``n``-gram the row already
    generated, or start the word just written again.

    Unlike HF's ``no_repeat_ngram_size``, the prompt's n-grams are not counted, so copy may
    reuse the brief's words (a product name) as written. Tokens that continue a word are
    never banned (``word_starts`` marks the others): banned mid-word, the model finishes
    the word some other way, and a second "bralette" came out "bralte". The prompt is
    ``prompt_length`` tokens long in every row (prompts are left-padded).

    >>> starts = torch.tensor([True] * 7 + [False])  # token 7 continues a word
    >>> ban = GeneratedNoRepeat(2, prompt_length=2, word_starts=starts)
    >>> ids = torch.tensor([[5, 6, 5, 6, 5]])  # prompt 5 6, generated 5 6 5
    >>> ban(ids, torch.zeros(1, 8)).isinf().nonzero()[:, 1].tolist()  # "5 6", "5 5"
    [5, 6]
    >>> ids = torch.tensor([[5, 6, 5, 7, 4, 7]])  # generated "5 7", then "4" and "7"
    >>> ban(ids, torch.zeros(1, 8)).isinf().nonzero()[:, 1].tolist()  # 7 continues "4"
    [4]
    """

    def __init__(self, n: int, prompt_length: int, word_starts: torch.Tensor) -> None:
        self.n, self.prompt_length, self.word_starts = n, prompt_length, word_starts

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        generated = input_ids[:, self.prompt_length :]
        if generated.shape[1] == 0:
            return scores
        word_starts = self.word_starts.to(scores.device)
        hits = torch.zeros_like(scores)
        # The first token of the word just written: "shorts shorts" is never copy.
        starts = word_starts[generated]
        position = torch.arange(generated.shape[1], device=scores.device)
        last = torch.where(starts, position, -1).max(dim=1).values
        previous = generated.gather(1, last.clamp(min=0).unsqueeze(1))
        hits.scatter_add_(1, previous, (last >= 0).to(scores.dtype).unsqueeze(1))
        if generated.shape[1] >= self.n:
            grams = generated.unfold(1, self.n, 1)  # (rows, windows, n)
            tail = generated[:, generated.shape[1] - self.n + 1 :]
            matches = (grams[:, :, :-1] == tail.unsqueeze(1)).all(dim=2)
            hits.scatter_add_(1, grams[:, :, -1], matches.to(scores.dtype))
        banned = (hits > 0) & word_starts[: scores.shape[1]]
        return scores.masked_fill(banned, -float("inf"))


def word_starts(tokenizer: PreTrainedTokenizerBase) -> torch.Tensor:
    """Per token id, whether the token starts a word: a space (``Ġ``) or newline first, or
    no letter at all (punctuation, digits)."""
    starts = torch.ones(len(tokenizer), dtype=torch.bool)
    for token, index in tokenizer.get_vocab().items():
        letters = any(c.isalpha() for c in token)
        starts[index] = not letters or token.startswith(("Ġ", "Ċ"))
    return starts


def draw(
    scores: torch.Tensor, uniforms: torch.Tensor, temperature: float, top_p: float
) -> torch.Tensor:
    """One token per row by inverse CDF: ``uniforms[i]`` in [0, 1) picks from row ``i``'s
    distribution at ``temperature``, cut to its top-``top_p`` nucleus.

    >>> scores = torch.tensor([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]])
    >>> draw(scores, torch.tensor([0.1, 0.95]), temperature=1.0, top_p=1.0).tolist()
    [2, 0]
    >>> draw(scores, torch.tensor([0.1, 0.95]), temperature=1.0, top_p=0.5).tolist()
    [2, 2]
    """
    probs = torch.softmax(scores.float() / temperature, dim=-1)
    ordered, order = probs.sort(dim=-1, descending=True, stable=True)
    cdf = ordered.cumsum(dim=-1)
    kept = ((cdf - ordered) < top_p).sum(dim=-1, keepdim=True)  # the first always stays
    target = uniforms.to(cdf).unsqueeze(1) * cdf.gather(1, kept - 1)
    index = torch.minimum(torch.searchsorted(cdf, target, right=True), kept - 1)
    return order.gather(1, index).squeeze(1)


class SeededSampler(LogitsProcessor):
    """Samples each row with its own generator (one uniform per row and step) and returns
    scores that are ``-inf`` but at the drawn token: greedy decoding then takes the draw.
    A row without a seed gets one from torch's global RNG (``torch.manual_seed`` makes
    such runs repeatable)."""

    def __init__(self, seeds: list[int | None], temperature: float, top_p: float) -> None:
        self.generators = [torch.Generator().manual_seed(own_seed(s)) for s in seeds]
        self.temperature, self.top_p = temperature, top_p

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        uniforms = torch.cat(
            [torch.rand(1, generator=g, dtype=torch.float64) for g in self.generators]
        )
        tokens = draw(scores, uniforms.to(scores.device), self.temperature, self.top_p)
        drawn = torch.full_like(scores, -float("inf"))
        return drawn.scatter_(1, tokens.unsqueeze(1), 0.0)


def own_seed(seed: int | None) -> int:
    """``seed``, or a fresh one from torch's global RNG when None."""
    return int(torch.randint(SEED_BOUND, ())) if seed is None else seed


def variant_seeds(seed: int | None, n: int) -> list[int | None]:
    """Seeds of the ``n`` variants of one brief: a fixed function of (``seed``, variant
    index); all None (each drawn when sampled) when ``seed`` is None.

    >>> variant_seeds(7, 2) == variant_seeds(7, 3)[:2] and len(set(variant_seeds(7, 3))) == 3
    True
    >>> variant_seeds(None, 2)
    [None, None]
    """
    if seed is None:
        return [None] * n
    digests = (hashlib.blake2b(f"{seed}/{i}".encode(), digest_size=8).digest() for i in range(n))
    return [int.from_bytes(d) % SEED_BOUND for d in digests]


class FirstLineEnd(StoppingCriteria):
    """Stops a sequence at the first newline that follows some text (leading blank lines
    are skipped, as :func:`postprocess.first_line` skips them)."""

    def __init__(self, newline_ids: torch.Tensor, prompt_length: int = 0) -> None:
        self.newline_ids, self.prompt_length = newline_ids, prompt_length

    def after(self, prompt_ids: torch.Tensor) -> FirstLineEnd:
        return FirstLineEnd(self.newline_ids, prompt_ids.shape[1])

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs) -> torch.Tensor:
        is_newline = torch.isin(input_ids[:, self.prompt_length :], self.newline_ids)
        text_before = (torch.cumsum(~is_newline, dim=1) - (~is_newline).long()) > 0
        return (is_newline & text_before).any(dim=1)


class Abandoned(StoppingCriteria):
    """Stops every sequence once ``stop()`` says nobody waits for them any more (every
    caller of a served batch gave up): a model server must not keep writing for no one.

    >>> stopped = [False]
    >>> check = Abandoned(lambda: stopped[0])
    >>> ids = torch.zeros((2, 3), dtype=torch.long)
    >>> check(ids, None).tolist(), (stopped.__setitem__(0, True), check(ids, None).tolist())[1]
    ([False, False], [True, True])
    """

    def __init__(self, stop: Callable[[], bool]) -> None:
        self.stop = stop

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs) -> torch.Tensor:
        return torch.full((input_ids.shape[0],), self.stop(), device=input_ids.device)


class TextDeltas(TextStreamer):
    """Hands each piece of new text (whole words, as HF's ``TextStreamer`` cuts them) to
    ``emit`` as a batch of one is generated; the prompt and special tokens are left out."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, emit: Callable[[str], None]) -> None:
        super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True)
        self.emit = emit

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        if text:
            self.emit(text)
