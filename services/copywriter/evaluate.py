"""``adcraft eval copy``: base vs fine-tuned model on products held out of training."""

from __future__ import annotations

import math
import random

import torch

from services.copywriter import cta, dataset, text_metrics
from services.copywriter.generate import CopyWriter
from services.copywriter.postprocess import novelty, word_ngrams
from services.copywriter.train import TrainConfig, train
from services.copywriter.weights import CopyPaths
from shared.copy_contract import CTA_STYLES, SEGMENTS, TONES, CopyBrief
from shared.settings import CopySettings

KEYS = (
    "sentiment",
    "distinct_1",
    "distinct_2",
    "self_bleu",
    "cta_rate",
    "length_compliance",
    "novelty",
    "perplexity",
)
# Not targets: what the distinct-2 gap is made of (calls to action share bigrams; shorter
# copy repeats less).
DIAGNOSTICS = ("distinct_2_message", "words")


def held_out_briefs(items: list[dataset.Product], count: int, seed: int) -> list[CopyBrief]:
    """One brief per held-out product (one of its highlights, random segment, tone, CTA
    style and placement)."""
    rng = random.Random(seed)
    return [
        CopyBrief(
            p.noun,
            p.department,
            p.attributes,
            rng.choice(sorted(SEGMENTS)),
            rng.choice(sorted(TONES)),
            rng.choice(sorted(CTA_STYLES)),
            "headline" if rng.random() < 0.25 else "description",
            rng.choice(p.quotes)[0],
        )
        for p in items[:count]
    ]


@torch.inference_mode()
def perplexity(writer: CopyWriter, texts: list[str], batch_size: int = 16) -> float:
    """Token-level perplexity of ``texts`` (real review text) under the writer's model."""
    tokenizer, model = writer.tokenizer, writer.model
    total, count = 0.0, 0
    for start in range(0, len(texts), batch_size):
        encoded = tokenizer(
            texts[start : start + batch_size],
            return_tensors="pt",
            padding=True,
            padding_side="right",
            truncation=True,
            max_length=96,
            add_special_tokens=False,
        ).to(writer.device)
        logits = model(**encoded).logits[:, :-1]
        labels = encoded["input_ids"][:, 1:]
        mask = encoded["attention_mask"][:, 1:].bool()
        nll = torch.nn.functional.cross_entropy(logits[mask], labels[mask], reduction="sum")
        total, count = total + float(nll), count + int(mask.sum())
    return math.exp(total / count)


def score(
    writer: CopyWriter, briefs: list[CopyBrief], reviews: list[str], corpus: set, seed: int
) -> tuple[dict[str, float], list[str]]:
    """Every metric of one model; copy is judged as generated (before post-processing)."""
    torch.manual_seed(seed)
    texts, _ = writer.raw(briefs)
    limits = [writer.limit(b.placement) for b in briefs]
    figures = {
        "sentiment": text_metrics.sentiment(texts),
        "distinct_1": text_metrics.distinct_n(texts, 1),
        "distinct_2": text_metrics.distinct_n(texts, 2),
        "self_bleu": text_metrics.self_bleu(texts),
        "cta_rate": text_metrics.cta_rate(texts),
        "length_compliance": text_metrics.length_compliance(texts, limits),
        "novelty": sum(novelty(t, corpus) for t in texts) / len(texts),
        "perplexity": perplexity(writer, reviews),
        "distinct_2_message": text_metrics.distinct_n([cta.split_closing(t)[0] for t in texts], 2),
        "words": text_metrics.mean_words(texts),
    }
    return {k: round(v, 4) for k, v in figures.items()}, texts


def evaluate(settings: CopySettings, products: int = 64, seed: int = 0, log=print) -> dict:
    """Metrics of the base and the latest tuned model (training one first if none exists)."""
    paths = CopyPaths.from_settings(settings)
    adapter = paths.adapter()
    if adapter is None:
        log("no trained copy model yet: training one first")
        adapter = train(settings, TrainConfig(), log)
    held_out = [p for p in dataset.products(dataset.read_reviews(settings.reviews)) if p.held_out]
    briefs = held_out_briefs(held_out, products, seed)
    reviews = [text[:400] for p in held_out[:products] for text in p.reviews[:2]]
    corpus = {
        g
        for line in (adapter / "corpus.txt").read_text().splitlines()
        for g in word_ngrams(line, 3)
    }
    report, samples = {}, {}
    for name, tuned in (("base", False), ("tuned", True)):
        writer = CopyWriter.load(settings, tuned=tuned)
        report[name], samples[name] = score(writer, briefs, reviews, corpus, seed)
        log(f"{name}: {report[name]}")
        del writer
    pairs = zip(briefs, samples["base"], samples["tuned"], strict=True)
    for brief, base_copy, tuned_copy in list(pairs)[:5]:
        log(
            f"\n{brief.product} / {brief.tone} / {brief.cta_style} {brief.placement}\n"
            f"  base : {base_copy}\n  tuned: {tuned_copy}"
        )
    return report
