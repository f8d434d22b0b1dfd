"""Batched copy generation: one ``generate`` call per request batch, then post-processing.

Used in-process (evaluation, benchmarks) and by Triton's ``copy_generator`` (batched) and
``copy_generator_stream`` (token by token) models.

Every row has its own token budget (a request's ``MAX_TOKENS``), yet the batch is sampled
in one call: up to the largest budget, after which each row's tokens past its own budget
are cut (:func:`within_budgets`) before decoding, post-processing and counting. Every row
is also sampled with its own generator (:mod:`adcraft.services.copywriter.decoding`), left to
right, so a row's tokens depend on its seed and its prompt only, not on how long the call
runs or on its neighbours (padding aside, which can move logits in the last digits). One
call per distinct budget would split the batch the dynamic batcher built; the price here is
only that a short row may sample tokens that are then thrown away.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path
from typing import cast

import torch
from peft import PeftModel
from transformers import (
    BatchEncoding,
    DynamicCache,
    LogitsProcessorList,
    PreTrainedModel,
    StoppingCriteriaList,
)
from transformers.generation.streamers import BaseStreamer
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from adcraft.services.copywriter import base_model, prompts, ranking
from adcraft.services.copywriter.decoding import (
    Abandoned,
    FirstLineEnd,
    GeneratedNoRepeat,
    SeededSampler,
    variant_seeds,
    word_starts,
)
from adcraft.services.copywriter.phrases import Shop, slot_of
from adcraft.services.copywriter.vocabulary import (
    Vocabulary,
    brief_words,
    common_words,
    joins,
    shop_words,
    struck_endings,
)
from adcraft.services.copywriter.weights import BASE, LATEST, SHIPPED, CopyPaths, version
from adcraft.services.copywriter.words_only import WordsOnly, token_pieces
from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.copy_rules import cta, postprocess
from adcraft.shared.copy_rules.postprocess import CopyRules, Variant
from adcraft.shared.copy_rules.screen import CopyScreen
from adcraft.shared.runtime.settings import CopySettings


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
        vocabulary: bool = False,
        phrases: Shop | None = None,
        version: str = BASE,
    ) -> None:
        self.model, self.tokenizer, self.settings = model, tokenizer, settings
        self.version = version  # which adapter writes: pools record it
        self.rules = CopyRules.from_settings(settings)
        self.screen = CopyScreen.from_settings(settings)
        self.dropped: Counter[str] = Counter()  # variants dropped since loading, by reason
        self.device = next(model.parameters()).device
        self.corpus_ngrams = {g for text in corpus or [] for g in postprocess.word_ngrams(text, 3)}
        self.end_of_turn = cast(int, tokenizer.convert_tokens_to_ids(prompts.END_OF_TURN))
        self.word_starts = word_starts(tokenizer)
        newlines = [i for token, i in tokenizer.get_vocab().items() if "Ċ" in token]
        self.line_end = FirstLineEnd(torch.tensor(newlines, device=self.device))
        # Sampling under the vocabulary (serving): each token's text, to follow words.
        self.pieces = token_pieces(tokenizer) if vocabulary else None
        self.words = shop_words(corpus) if corpus else common_words()
        self.phrases = phrases

    @classmethod
    def load(
        cls,
        settings: CopySettings,
        device: str = "cpu",
        run: str | None = LATEST,
        shipped: Path = SHIPPED,
    ) -> CopyWriter:
        """The base model with the adapter ``run`` names merged in (none when ``run`` is
        None or names nothing trained yet; ``latest`` falls back to ``shipped``)."""
        paths = CopyPaths.from_settings(settings, shipped)
        model, tokenizer = base_model.load(base_model.prepare(paths.base), device)
        adapter = None if run is None else paths.adapter(run)
        corpus, phrases = None, None
        if adapter is not None:
            model = PeftModel.from_pretrained(model, adapter).merge_and_unload().eval()
            corpus = (adapter / "corpus.txt").read_text().splitlines()
            phrases = Shop.of((adapter / "phrases.txt").read_text().splitlines())
        return cls(
            model, tokenizer, settings, corpus, settings.vocabulary, phrases, version(adapter)
        )

    @classmethod
    def for_instance(cls, args: dict, settings: CopySettings) -> CopyWriter:
        """The writer of a Triton model instance (``args`` as ``initialize`` gets them), on
        the instance's device, with a fresh global seed: unseeded briefs draw from it, and
        replicas must not repeat each other."""
        gpu = args["model_instance_kind"] == "GPU"
        torch.seed()
        device = f"cuda:{args['model_instance_device_id']}" if gpu else "cpu"
        # Both copy models serve the adapter shipped beside copy_generator.
        shipped = Path(args["model_repository"]).parent / "copy_generator" / "weights" / "1"
        return cls.load(settings, device, shipped=shipped)

    def limit(self, placement: str) -> int:
        return self.rules.limits[placement]

    @torch.inference_mode()
    def generate(
        self,
        prompts_: list[str],
        budgets: list[int],
        seeds: list[int | None] | None = None,
        streamer: BaseStreamer | None = None,
        stop: Callable[[], bool] | None = None,
        rows: list[Vocabulary] | None = None,
    ) -> tuple[list[str], list[int]]:
        """Raw continuations of ``prompts_`` (one sampled each with generator seed
        ``seeds[i]``, drawn when None, at most ``budgets[i]`` new tokens) and each one's
        token count; ``streamer`` (a batch of one only) sees the tokens as they come, and
        writing ends early once ``stop()`` is true (nobody waits for it). With ``rows`` (each
        row's vocabulary) and a vocabulary, every word written is an allowed one."""
        encoded, cache = self.prefill(prompts_)
        prompt_length = encoded["input_ids"].shape[1]
        processors = LogitsProcessorList()
        if self.settings.no_repeat_ngram_size:
            processors.append(
                GeneratedNoRepeat(
                    self.settings.no_repeat_ngram_size, prompt_length, self.word_starts
                )
            )
        if self.pieces is not None and rows is not None:
            processors.append(WordsOnly(self.pieces, self.end_of_turn, rows, prompt_length))
        processors.append(
            SeededSampler(
                seeds or [None] * len(prompts_), self.settings.temperature, self.settings.top_p
            )
        )
        output = self.model.generate(  # type: ignore[operator]  # causal LMs all generate
            **encoded,
            past_key_values=cache,
            do_sample=False,  # greedy over the sampler's scores: it has drawn the token
            logits_processor=processors,
            max_new_tokens=max(budgets),
            stopping_criteria=StoppingCriteriaList(
                [self.line_end.after(encoded["input_ids"])] + ([Abandoned(stop)] if stop else [])
            ),
            eos_token_id=self.end_of_turn,
            pad_token_id=self.tokenizer.pad_token_id,
            streamer=streamer,
        )
        pad = self.tokenizer.pad_token_id
        new = within_budgets(output[:, prompt_length:], budgets, pad)
        counts = (new != pad).sum(dim=1).tolist()
        return self.tokenizer.batch_decode(new, skip_special_tokens=True), counts

    @torch.inference_mode()
    def prefill(self, prompts_: list[str]) -> tuple[BatchEncoding, DynamicCache]:
        """``prompts_`` encoded (left-padded) and the model's cache of all but each one's
        last token. A prompt is read once however many rows share it (a brief's candidates
        do): its cache is copied to each, so a pool's prompt costs one row, not twelve."""
        distinct = list(dict.fromkeys(prompts_))
        rows = torch.tensor([distinct.index(p) for p in prompts_], device=self.device)
        encoded = self.tokenizer(distinct, return_tensors="pt", padding=True).to(self.device)
        mask = encoded["attention_mask"][:, :-1]
        cache = DynamicCache(config=self.model.config)
        self.model(  # type: ignore[operator]
            input_ids=encoded["input_ids"][:, :-1],
            attention_mask=mask,
            position_ids=(mask.cumsum(-1) - 1).clamp(min=0),  # as generate counts them
            past_key_values=cache,
            use_cache=True,
        )
        cache.batch_select_indices(rows)
        return BatchEncoding({k: v[rows] for k, v in encoded.items()}), cache

    def raw(
        self,
        briefs: list[CopyBrief],
        budgets: list[int] | None = None,
        seeds: list[int | None] | None = None,
        streamer: BaseStreamer | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> tuple[list[str], list[int]]:
        """First lines as the model wrote them, one per brief (sampled with ``seeds[i]``),
        each within its budget of new tokens (``settings.max_new_tokens`` for all by
        default); see :meth:`generate` for ``streamer`` and ``stop``."""
        # A brief's rows share its vocabulary (and what it learns of the phrases).
        vocabularies = {b: self.vocabulary(b) for b in dict.fromkeys(briefs)}
        rows = None if self.pieces is None else [vocabularies[b] for b in briefs]
        texts, counts = self.generate(
            [prompts.render(self.tokenizer, b, self.limit(b.placement)) for b in briefs],
            [self.settings.max_new_tokens] * len(briefs) if budgets is None else budgets,
            seeds,
            streamer,
            stop,
            rows,
        )
        return [postprocess.first_line(t) for t in texts], counts

    def vocabulary(self, brief: CopyBrief) -> Vocabulary:
        """What a row writing for ``brief`` may write."""
        phrases = None if self.phrases is None else self.phrases.phrases_for(brief.product)
        struck = struck_endings(brief.cta_style)
        unsaid, feels = ranking.unlisted_feels(brief), ranking.listed_feels(brief)
        limit = self.limit(brief.placement)
        reserve = 1 + cta.shortest(brief.cta_style, brief.product)
        return Vocabulary(
            self.words,
            brief_words(brief),
            phrases,
            slot_of(brief),
            struck,
            unsaid,
            feels,
            joins(brief),
            ranking.bare_words(brief),
            limit,
            reserve,
        )

    def write(
        self,
        briefs: list[CopyBrief],
        variants: list[int],
        budgets: list[int],
        seeds: list[int | None] | None = None,
        streamer: BaseStreamer | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> tuple[list[list[Variant]], list[int]]:
        """Up to ``variants[i]`` finished variants for each brief, each of at most
        ``budgets[i]`` new tokens, and the tokens generated for each brief. Write many,
        serve the best: ``settings.candidates`` times as many are sampled in one call (see
        :func:`postprocess.variants`) and the best kept (:func:`ranking.best`); with a
        ``streamer``, one (what it showed is what is served). Candidate
        ``j`` of brief ``i`` is sampled with a seed derived from (``seeds[i]``, ``j``);
        unseeded briefs draw theirs."""
        # A stream shows one row's text as it is written: that row is the one served.
        candidates = 1 if streamer is not None else self.settings.candidates
        asked = [n * candidates for n in variants]
        rows = list(zip(briefs, asked, budgets, seeds or [None] * len(briefs), strict=True))
        texts, counts = self.raw(
            [b for b, n, _, _ in rows for _ in range(n)],
            [t for _, n, t, _ in rows for _ in range(n)],
            [s for _, n, _, seed in rows for s in variant_seeds(seed, n)],
            streamer,
            stop,
        )
        ends = list(accumulate(asked))
        starts = [end - n for end, n in zip(ends, asked, strict=True)]
        raw = [texts[a:b] for a, b in zip(starts, ends, strict=True)]
        served = self.best(briefs, raw, variants)
        return served, [sum(counts[a:b]) for a, b in zip(starts, ends, strict=True)]

    def best(
        self, briefs: list[CopyBrief], raw: list[list[str]], variants: list[int]
    ) -> list[list[Variant]]:
        """The ``variants[i]`` best of each brief's ``raw`` candidates that survive
        post-processing (:meth:`finish`) with no :func:`ranking.flaw` (counted in
        ``dropped``), by :func:`ranking.best`."""
        kept = []
        for brief, row in zip(briefs, self.finish(briefs, raw), strict=True):
            flaws = [ranking.flaw(v.text, brief) for v in row]
            self.dropped.update(f for f in flaws if f is not None)
            kept.append([v for v, f in zip(row, flaws, strict=True) if f is None])
        fluency = iter(self.fluency([v.text for row in kept for v in row]))
        served = []
        for row, n in zip(kept, variants, strict=True):
            scores = [next(fluency) for _ in row]
            served.append([row[i] for i in ranking.best([v.text for v in row], scores, n)])
        return served

    @torch.inference_mode()
    def fluency(self, texts: list[str], batch_size: int = 32) -> list[float]:
        """Mean log-probability per token of each text under the model (no prompt)."""
        scores: list[float] = []
        for start in range(0, len(texts), batch_size):
            encoded = self.tokenizer(
                texts[start : start + batch_size],
                return_tensors="pt",
                padding=True,
                padding_side="right",
                add_special_tokens=False,
            ).to(self.device)
            logits = self.model(**encoded).logits[:, :-1].float()  # type: ignore[operator]
            labels = encoded["input_ids"][:, 1:]
            mask = encoded["attention_mask"][:, 1:].float()
            logp = torch.log_softmax(logits, dim=-1).gather(2, labels.unsqueeze(2)).squeeze(2)
            per_text = (logp * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
            scores += per_text.tolist()
        return scores

    def finish(self, briefs: list[CopyBrief], raw: list[list[str]]) -> list[list[Variant]]:
        """The variants of each brief that survive post-processing (see
        :func:`postprocess.variants`); the others are counted in ``dropped`` by reason."""
        results = []
        for brief, generated in zip(briefs, raw, strict=True):
            kept, dropped = postprocess.variants(
                brief, generated, self.rules, self.corpus_ngrams, self.screen
            )
            results.append(kept)
            self.dropped.update(dropped)
        return results
