"""``adcraft eval copy``: the copy each model serves for products held out of training.

Three models: the base LM, the tuned one (``copy/latest``) and the ablation trained with
λ_d = 0 (``copy/no-diversity``); a missing tuned or ablation run is trained first, with the
same seed. Each writes ``variants`` variants for one brief per held-out product (departments
taken in turn), per seed; every figure is judged on the copy a request would get back, after
post-processing, and averaged over the seeds. What post-processing dropped is reported too
(``dropped``: share of the candidates sampled, by reason), so a filter cannot hide a model
that writes badly; ``bare_cta_headline_rate`` is judged on the headlines as written.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean

import torch

from adcraft.services.copywriter import dataset, text_metrics
from adcraft.services.copywriter.generate import CopyWriter
from adcraft.services.copywriter.objectives import LossWeights
from adcraft.services.copywriter.ranking import names_the_product
from adcraft.services.copywriter.train import TrainConfig, train
from adcraft.services.copywriter.weights import LATEST, CopyPaths
from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.copy_rules.cta import find_cta
from adcraft.shared.copy_rules.postprocess import Variant, novelty, one_cta, word_ngrams
from adcraft.shared.copy_rules.screen import unsafe_words
from adcraft.shared.copy_rules.words import Lexicon, words_of, wrong_garments
from adcraft.shared.runtime.settings import CopySettings

NO_DIVERSITY = "no-diversity"
MODELS = {"base": None, "shipped": LATEST, "no_diversity": NO_DIVERSITY}
REFERENCE = Path(__file__).with_name("data") / "reference_copy.txt"  # written by people
KEYS = (
    "sentiment",
    "distinct_1",
    "distinct_2",
    "self_bleu",
    "cta_rate",
    "length_compliance",
    "novelty",
    "perplexity",
    "invented_word_rate",
    "fluency",
    "on_brief",
    "wrong_product_rate",
    "negative_rate",
    "bare_cta_headline_rate",
    "distinct_2_matched",
    "variant_distinct_2",
    "variant_self_bleu",
    "cta_distinct",
    "served_rate",
    "unsafe_rate",
    "foreign_script_rate",
    "pool_coverage",
    "fluency_vs_reference",
)
# Not targets: the reference the fluency figure reads against, what the distinct-2 gap is
# made of (calls to action share bigrams; shorter copy repeats less).
DIAGNOSTICS = ("fluency_reviews", "distinct_2_message", "words")
MATCHED_WORDS = 6  # distinct_2_matched compares every message's first six words
SAMPLES = 10


def held_out_briefs(items: list[dataset.Product], count: int, seed: int) -> list[CopyBrief]:
    """``count`` briefs for held-out products, departments taken in turn (the catalogue is
    mostly tops and dresses), each a random segment, tone, CTA style, praise and placement
    (a quarter headlines)."""
    rng = random.Random(seed)
    by_department: dict[str, list[dataset.Product]] = {}
    for product in items:
        by_department.setdefault(product.department, []).append(product)
    queues = [rng.sample(group, len(group)) for _, group in sorted(by_department.items())]
    picked: list[dataset.Product] = []
    while len(picked) < count and any(queues):
        picked += [queue.pop() for queue in queues if queue][: count - len(picked)]
    return [
        dataset.brief_for(p, rng, "headline" if rng.random() < 0.25 else "description")
        for p in picked
    ]


@dataclass(frozen=True)
class Served:
    """What a model wrote for ``briefs``: each brief's raw variants and the ones served."""

    briefs: list[CopyBrief]
    raw: list[list[str]]
    kept: list[list[Variant]]
    dropped: Counter[str]

    @classmethod
    def of(cls, writer: CopyWriter, briefs: list[CopyBrief], variants: int, seed: int) -> Served:
        """Sample candidates for ``variants`` per brief (seeded), then post-process and
        rank them as serving does (:meth:`CopyWriter.best`)."""
        torch.manual_seed(seed)
        before = Counter(writer.dropped)
        asked = variants * writer.settings.candidates
        texts, _ = writer.raw([b for b in briefs for _ in range(asked)])
        raw = [texts[i * asked : (i + 1) * asked] for i in range(len(briefs))]
        kept = writer.best(briefs, raw, [variants] * len(briefs))
        return cls(briefs, raw, kept, writer.dropped - before)

    def copies(self) -> list[tuple[CopyBrief, Variant]]:
        return [(b, v) for b, row in zip(self.briefs, self.kept, strict=True) for v in row]


@torch.inference_mode()
def perplexity(writer: CopyWriter, texts: list[str], batch_size: int = 16) -> float:
    """Token-level perplexity of ``texts`` under the writer's model (no prompt)."""
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


class Judge:
    """Scores served copy: the word list, the base LM for fluency and its perplexity on
    real review sentences (what fluent text scores)."""

    def __init__(self, base: CopyWriter, sentences: list[str]) -> None:
        self.base, self.lexicon = base, Lexicon()
        self.fluency_reviews = perplexity(base, sentences)
        self.fluency_reference = perplexity(base, REFERENCE.read_text().splitlines())

    def figures(
        self, writer: CopyWriter, served: Served, corpus: set, review_perplexity: float
    ) -> dict[str, float]:
        """Every figure of ``served`` (see the module docstring); ``review_perplexity`` is
        the writer's on held-out review text."""
        copies = served.copies()
        texts = [v.text for _, v in copies]
        firsts = [row[0].text for row in served.kept if row]
        words = [w for b, v in copies for w in self._invented(v.text, b)]
        raw_headlines = [
            t
            for b, row in zip(served.briefs, served.raw, strict=True)
            if b.placement == "headline"
            for t in row
        ]
        candidates = sum(len(row) for row in served.raw)  # sampled, to serve the best
        asked = candidates / writer.settings.candidates
        variant_d2, variant_bleu = text_metrics.variant_diversity(
            [[v.text for v in row] for row in served.kept]
        )
        limits = [writer.limit(b.placement) for b, _ in copies]
        return {
            "sentiment": text_metrics.sentiment(texts),
            "distinct_1": text_metrics.distinct_n(firsts, 1),
            "distinct_2": text_metrics.distinct_n(firsts, 2),
            "self_bleu": text_metrics.self_bleu(firsts),
            "cta_rate": text_metrics.cta_rate(texts),
            "length_compliance": text_metrics.length_compliance(texts, limits),
            "novelty": fmean(novelty(t, corpus) for t in texts) if texts else 0.0,
            "perplexity": review_perplexity,
            "invented_word_rate": len(words) / max(sum(len(words_of(t)) for t in texts), 1),
            "fluency": perplexity(self.base, texts),
            "on_brief": text_metrics.share([names_the_product(v.text, b) for b, v in copies]),
            "wrong_product_rate": text_metrics.share(
                [bool(wrong_garments(v.text, b.product)) for b, v in copies]
            ),
            "negative_rate": text_metrics.share([writer.screen.negative(t) for t in texts]),
            "bare_cta_headline_rate": text_metrics.share(
                [bool(find_cta(t)) and not one_cta(t)[0] for t in raw_headlines]
            ),
            "distinct_2_matched": text_metrics.matched_distinct_2(
                [one_cta(t)[0] for t in firsts], MATCHED_WORDS
            ),
            "variant_distinct_2": variant_d2,
            "variant_self_bleu": variant_bleu,
            "cta_distinct": len({find_cta(t) for t in texts}) / max(len(texts), 1),
            "served_rate": len(texts) / max(asked, 1),
            "unsafe_rate": text_metrics.share([bool(unsafe_words(t)) for t in texts]),
            "foreign_script_rate": text_metrics.share(
                [foreign_script(v.text, b) for b, v in copies]
            ),
            "pool_coverage": text_metrics.share([len(row) >= 2 for row in served.kept]),
            "fluency_vs_reference": perplexity(self.base, texts) / self.fluency_reference,
            "fluency_reviews": self.fluency_reviews,
            "distinct_2_message": text_metrics.distinct_n([one_cta(t)[0] for t in firsts], 2),
            "words": text_metrics.mean_words(texts),
        } | {f"dropped_{k}": n / max(candidates, 1) for k, n in sorted(served.dropped.items())}

    def _invented(self, text: str, brief: CopyBrief) -> list[str]:
        own = set(words_of(" ".join(brief.fields())))  # the brief's words are the product's
        return [w for w in self.lexicon.invented(text) if w not in own]


def foreign_script(text: str, brief: CopyBrief) -> bool:
    """Whether ``text`` has a character outside ASCII that its brief does not (a Cyrillic
    letter in an English word, an emoji).

    >>> b = CopyBrief("dress", "Dresses", ("soft",), "adult", "warm", "direct")
    >>> foreign_script("A soft dress.", b), foreign_script("A soft drеss.", b)
    (False, True)
    """
    allowed = set(" ".join(brief.fields()))
    return any(not c.isascii() and c not in allowed for c in text)


def ensure_runs(
    settings: CopySettings, log: Callable[[str], None], models: tuple[str, ...]
) -> None:
    """Train the shipped model and the λ_d = 0 ablation (same seed) where one of
    ``models`` is missing."""
    paths = CopyPaths.from_settings(settings)
    for name, config in (
        (LATEST, TrainConfig()),
        (NO_DIVERSITY, TrainConfig(weights=LossWeights(diversity=0.0))),
    ):
        if name in {MODELS[m] for m in models} and paths.adapter(name) is None:
            log(f"no {name} copy model yet: training one first")
            train(settings, config, log, name)


def evaluate(
    settings: CopySettings,
    products: int = 64,
    seeds: tuple[int, ...] = (0, 1, 2),
    variants: int = 4,
    log: Callable[[str], None] = print,
    models: tuple[str, ...] = tuple(MODELS),
) -> dict:
    """Figures of ``models`` (means over ``seeds``) and ``SAMPLES`` served samples of the
    shipped model, chosen by the first seed."""
    ensure_runs(settings, log, models)
    held_out = [p for p in dataset.catalogue(settings) if p.held_out]
    reviews = [text[:400] for p in held_out[:products] for text in p.reviews[:2]]
    sentences = [s.strip() for text in reviews for s in text.split(". ") if 20 < len(s) < 120]
    adapter = CopyPaths.from_settings(settings).adapter(LATEST)
    assert adapter is not None  # ensure_runs trained it
    corpus = {
        g
        for line in (adapter / "corpus.txt").read_text().splitlines()
        for g in word_ngrams(line, 3)
    }
    base = CopyWriter.load(settings, run=None)
    judge = Judge(base, sentences[:128])
    report: dict = {}
    for name in models:
        run = MODELS[name]
        writer = base if run is None else CopyWriter.load(settings, run=run)
        rows, served = [], {}
        review_perplexity = perplexity(writer, reviews)
        for seed in seeds:
            served[seed] = Served.of(
                writer, held_out_briefs(held_out, products, seed), variants, seed
            )
            rows.append(judge.figures(writer, served[seed], corpus, review_perplexity))
        keys = dict.fromkeys(k for row in rows for k in row)
        report[name] = {k: round(fmean(row.get(k, 0.0) for row in rows), 4) for k in keys}
        log(f"{name}: {report[name]}")
        if name == "shipped":
            copies = served[seeds[0]].copies()
            picked = random.Random(seeds[0]).sample(copies, min(SAMPLES, len(copies)))
            report["samples"] = [
                f"{b.product} / {b.placement} / {b.tone} / {b.cta_style}: {v.text}"
                for b, v in picked
            ]
    for line in report.get("samples", []):
        log(f"  {line}")
    return report


def served_samples(settings: CopySettings, count: int, seed: int) -> list[dict]:
    """``count`` served variants of the shipped model, one per held-out brief drawn by
    ``seed`` (briefs whose candidates were all dropped are skipped: a template serves
    them), each with its brief, for a blind read."""
    writer = CopyWriter.load(settings)
    held_out = [p for p in dataset.catalogue(settings) if p.held_out]
    briefs = held_out_briefs(held_out, 2 * count, seed)
    served = Served.of(writer, briefs, 1, seed)
    return [
        {
            "product": b.product,
            "attributes": list(b.attributes),
            "highlight": b.highlight,
            "segment": b.segment,
            "tone": b.tone,
            "cta_style": b.cta_style,
            "placement": b.placement,
            "copy": row[0].text,
        }
        for b, row in zip(served.briefs, served.kept, strict=True)
        if row
    ][:count]
