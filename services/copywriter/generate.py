"""Batched copy generation: one ``generate`` call per request batch, then post-processing.

Used in-process (evaluation, benchmarks) and by Triton's ``copy_generator`` model.

Every row has its own token budget (a request's ``MAX_TOKENS``), yet the batch is sampled
in one call: up to the largest budget, after which each row's tokens past its own budget
are cut (:func:`within_budgets`) before decoding, post-processing and counting. Sampling
is left to right, so a row's first tokens do not depend on how long the call runs: a
request's copy is what it would be alone, whatever its neighbours ask for. One call per
distinct budget would split the batch the dynamic batcher built; the price here is only
that a short row may sample tokens that are then thrown away.
"""

from __future__ import annotations

from collections import deque

import torch
from peft import PeftModel
from transformers import PreTrainedModel, StoppingCriteria, StoppingCriteriaList
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from services.copywriter import base_model, postprocess, prompts
from services.copywriter.postprocess import CopyRules, Variant
from services.copywriter.weights import CopyPaths
from shared.copy_contract import CopyBrief
from shared.settings import CopySettings


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


def within_budgets(new_ids: torch.Tensor, budgets: list[int], pad_id: int) -> torch.Tensor:
    """``new_ids`` (generated tokens, a row per prompt) with every token past its row's
    budget replaced by ``pad_id``.

    >>> within_budgets(torch.tensor([[5, 6, 7], [5, 6, 7], [5, 0, 0]]), [1, 3, 2], 0).tolist()
    [[5, 0, 0], [5, 6, 7], [5, 0, 0]]
    """
    position = torch.arange(new_ids.shape[1], device=new_ids.device)
    budget = torch.tensor(budgets, device=new_ids.device).unsqueeze(1)
    return new_ids.masked_fill(position >= budget, pad_id)


class CopyWriter:
    """A (fine-tuned) causal LM that writes copy for briefs."""

    def __init__(
        self,
        model: PreTrainedModel | PeftModel,
        tokenizer: PreTrainedTokenizerBase,
        settings: CopySettings,
        corpus: list[str] | None = None,
    ) -> None:
        self.model, self.tokenizer, self.settings = model, tokenizer, settings
        self.rules = CopyRules.from_settings(settings)
        self.device = next(model.parameters()).device
        self.corpus_ngrams = {g for text in corpus or [] for g in postprocess.word_ngrams(text, 3)}
        self.recent: deque[str] = deque(maxlen=settings.recent_copies)
        self.end_of_turn = tokenizer.convert_tokens_to_ids(prompts.END_OF_TURN)
        newlines = [i for token, i in tokenizer.get_vocab().items() if "Ċ" in token]
        self.line_end = FirstLineEnd(torch.tensor(newlines, device=self.device))

    @classmethod
    def load(cls, settings: CopySettings, device: str = "cpu", tuned: bool = True) -> CopyWriter:
        """The base model with the latest trained adapter merged in (when ``tuned`` and one
        exists)."""
        paths = CopyPaths.from_settings(settings)
        model, tokenizer = base_model.load(base_model.prepare(paths.base), device)
        adapter = paths.adapter() if tuned else None
        corpus = None
        if adapter is not None:
            model = PeftModel.from_pretrained(model, adapter).merge_and_unload().eval()
            corpus = (adapter / "corpus.txt").read_text().splitlines()
        return cls(model, tokenizer, settings, corpus)

    def limit(self, placement: str) -> int:
        return self.rules.limits[placement]

    @torch.inference_mode()
    def generate(self, prompts_: list[str], budgets: list[int]) -> tuple[list[str], list[int]]:
        """Raw continuations of ``prompts_`` (one sampled each, at most ``budgets[i]`` new
        tokens) and each one's token count."""
        encoded = self.tokenizer(prompts_, return_tensors="pt", padding=True).to(self.device)
        output = self.model.generate(  # type: ignore[operator]  # causal LMs all generate
            **encoded,
            do_sample=True,
            temperature=self.settings.temperature,
            top_p=self.settings.top_p,
            no_repeat_ngram_size=self.settings.no_repeat_ngram_size,
            max_new_tokens=max(budgets),
            stopping_criteria=StoppingCriteriaList([self.line_end.after(encoded["input_ids"])]),
            eos_token_id=self.end_of_turn,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        pad = self.tokenizer.pad_token_id
        new = within_budgets(output[:, encoded["input_ids"].shape[1] :], budgets, pad)
        counts = (new != pad).sum(dim=1).tolist()
        return self.tokenizer.batch_decode(new, skip_special_tokens=True), counts

    def raw(
        self, briefs: list[CopyBrief], budgets: list[int] | None = None
    ) -> tuple[list[str], list[int]]:
        """First lines as the model wrote them, one per brief, each within its budget of new
        tokens (``settings.max_new_tokens`` for all by default)."""
        texts, counts = self.generate(
            [prompts.render(self.tokenizer, b, self.limit(b.placement)) for b in briefs],
            [self.settings.max_new_tokens] * len(briefs) if budgets is None else budgets,
        )
        return [postprocess.first_line(t) for t in texts], counts

    def write(
        self, briefs: list[CopyBrief], variants: list[int], budgets: list[int]
    ) -> tuple[list[list[Variant]], list[int]]:
        """Up to ``variants[i]`` finished variants for each brief, each of at most
        ``budgets[i]`` new tokens, all sampled in one call (see :func:`postprocess.variants`),
        and the tokens generated for each brief."""
        rows = list(zip(briefs, variants, budgets, strict=True))
        texts, counts = self.raw(
            [b for b, n, _ in rows for _ in range(n)], [t for _, n, t in rows for _ in range(n)]
        )
        results: list[list[Variant]] = []
        tokens: list[int] = []
        position = 0
        for brief, n in zip(briefs, variants, strict=True):
            generated = texts[position : position + n]
            results.append(
                postprocess.variants(brief, generated, self.rules, self.recent, self.corpus_ngrams)
            )
            tokens.append(sum(counts[position : position + n]))
            position += n
        return results, tokens
