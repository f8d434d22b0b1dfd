"""Training copy written from a product's facts: the copy the model learns to write.

A headline names the product or its best attribute (a real review title when a clean one
exists, else the attribute and the noun) and ends with a short CTA. A description states a
benefit in the shop's voice, from the product's attributes, department, what its reviews
praise and the audience, and ends with a CTA of the requested style whose object often names
the product. Many templates per shape, so the model learns to vary its phrasing; none quotes
a review sentence, names another garment or claims scarcity.

>>> import random
>>> brief = CopyBrief("dress", "Dresses", ("flowy", "soft"), "adult", "warm", "direct",
...                   "description", "for summer days")
>>> copy, action = description(brief, 90, random.Random(1))
>>> copy
'Cozy up to a flowy dress that is ready for any occasion. Shop your dress online.'
>>> copy.endswith(action) and len(copy) <= 90
True
>>> headline(brief._replace(placement="headline"), 30, random.Random(2), ())
('Flowy dress. Choose one today.', 'Choose one today.')
"""

from __future__ import annotations

import random

from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.copy_rules import cta

BENEFITS = {
    "Tops": (
        "layers easily on cool days",
        "goes from desk to dinner",
        "pairs with everything in your closet",
        "keeps its shape all day",
        "feels light and easy to wear",
    ),
    "Dresses": (
        "moves with you all day",
        "goes from brunch to evening",
        "makes getting ready easy",
        "is ready for any occasion",
        "drapes beautifully",
    ),
    "Bottoms": (
        "fits from morning to night",
        "pairs with everything you own",
        "keeps you comfortable all day",
        "moves with you",
    ),
    "Intimate": (
        "feels soft against your skin",
        "keeps you comfortable day and night",
        "layers under anything",
    ),
    "Jackets": ("keeps you warm in style", "layers over any outfit", "finishes every look"),
    "Trend": ("adds a fresh twist to any outfit", "makes everyday looks special"),
}
DEFAULT_BENEFITS = ("is easy to love", "fits right into your week")
PERSONAS = {
    "young": ("for your weekend plans", "for nights out with friends", "for trend-led looks"),
    "adult": ("for busy workdays", "for easy office outfits", "for days on the go"),
    "senior": ("made for all-day comfort", "for relaxed, easy days", "built to last"),
}
DESCRIPTIONS = {
    # Keyed by tone; "{praise}" templates are used only when the brief has one.
    "warm": (
        "{A} and {b}, this {noun} {benefit}.",
        "You'll love how this {a} {noun} {benefit}.",
        "{An} {a}, {b} {noun} {persona}.",
        "This {a} {noun} is made {praise}.",
        "Cozy up to {an} {a} {noun} that {benefit}.",
    ),
    "bold": (
        "Say hello to your new {a} {noun}!",
        "{A}, {b} and made {praise}!",
        "This {a} {noun} {benefit}!",
        "Meet the {a} {noun} {persona}!",
        "Go {a}: this {noun} {benefit}!",
    ),
    "elegant": (
        "Effortlessly {a}, this {noun} {benefit}.",
        "A refined, {a} {noun} {persona}.",
        "Our {a} {noun} {benefit}.",
        "Timeless and {a}, made {praise}.",
        "{An} {a}, {b} {noun} that {benefit}.",
    ),
}
HEADLINES = ("{A} {short}.", "The {a} {short}.", "Meet the {a} {short}.", "{A}, {b} {short}.")


def short_noun(noun: str) -> str:
    """The product noun without its "pair of" (for headlines and CTA objects)."""
    return noun.removeprefix("pair of ")


def description(brief: CopyBrief, limit: int, rng: random.Random) -> tuple[str, str]:
    """A benefit sentence and a CTA of the brief's style within ``limit``: (copy, CTA)."""
    noun = short_noun(brief.product)
    action = rng.choice([p for p in cta.phrasings(brief.cta_style, noun) if len(p) <= limit // 2])
    a, b = _two_attributes(brief, rng)
    fields = {
        "a": a,
        "A": a.capitalize(),
        "an": "an" if a[0] in "aeiou" else "a",
        "An": "An" if a[0] in "aeiou" else "A",
        "b": b,
        "noun": brief.product,
        "persona": rng.choice(PERSONAS.get(brief.segment, ("for every day",))),
        "praise": brief.highlight,
    }
    templates = [
        t
        for t in DESCRIPTIONS[brief.tone]
        if (brief.highlight or "{praise}" not in t) and (a != b or "{b}" not in t)
    ]
    benefits = BENEFITS.get(brief.department, DEFAULT_BENEFITS)
    bodies = list(dict.fromkeys(t.format(**fields, benefit=b) for t in templates for b in benefits))
    shortest = min(len(p) for p in cta.phrasings(brief.cta_style))
    fitting = [body for body in bodies if len(body) + 1 + len(action) <= limit] or [
        body for body in bodies if len(body) + 1 + shortest <= limit
    ]
    body = rng.choice(fitting or [min(bodies, key=len)])
    if len(body) + 1 + len(action) > limit:
        action = cta.compose(brief.cta_style, body, limit - len(body) - 1)
    return f"{body} {action}", action


def headline(
    brief: CopyBrief, limit: int, rng: random.Random, titles: tuple[str, ...]
) -> tuple[str, str]:
    """The product or its best attribute named in a few words, then a short CTA."""
    short = short_noun(brief.product)
    a, b = _two_attributes(brief, rng)
    shapes = [t for t in HEADLINES if a != b or "{b}" not in t]
    named = [t.format(A=a.capitalize(), a=a, b=b, short=short) for t in shapes]
    room = limit - 1 - min(len(p) for p in cta.phrasings(brief.cta_style))
    bodies = [body for body in (*named, *titles) if len(body) <= room]
    fallback = [f"{a.capitalize()} and {b}.", f"{a.capitalize()}."]
    body = rng.choice(bodies or [next((f for f in fallback if len(f) <= room), fallback[-1])])
    action = cta.compose(brief.cta_style, f"{body}{rng.random()}", limit - len(body) - 1)
    return f"{body} {action}", action


def _two_attributes(brief: CopyBrief, rng: random.Random) -> tuple[str, str]:
    """Two different attributes of the brief in random order (one repeated when it has
    one; "lovely" when it has none)."""
    attributes = list(brief.attributes) or ["lovely"]
    first = rng.choice(attributes)
    rest = [x for x in attributes if x != first] or [first]
    return first, rng.choice(rest)
