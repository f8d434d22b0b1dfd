"""Training copy written from a product's facts: the copy the model learns to write.

Every piece of copy names the product. A headline is the product with one or two of its
attributes, then a short CTA. A description states a modest benefit that fits the garment
(a swimsuit is "ready for the beach", never "layers under anything"), in the shop's voice,
from the product's attributes, what its reviews praise and the audience, and ends with a
CTA of the requested style whose object agrees with the product ("Grab a pair" for jeans,
never "Grab it"). Many templates per shape, so the model learns to vary its phrasing; none
quotes a review, names another garment, claims scarcity, a fit or a delivery date.

>>> import random
>>> brief = CopyBrief("dress", "Dresses", ("flowy", "soft"), "adult", "warm", "direct",
...                   "description", "for summer days")
>>> copy, action = description(brief, 90, random.Random(1))
>>> copy
'This flowy dress is made for summer days. Shop this dress for the weekend.'
>>> copy.endswith(action) and len(copy) <= 90
True
>>> headline(brief._replace(placement="headline"), 30, random.Random(2))
('Flowy dress. Shop one now.', 'Shop one now.')
"""

from __future__ import annotations

import random

from adcraft.services.copywriter import ranking
from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.copy_rules import cta

# What each garment does for its wearer: verb phrases after "this <noun>" or "that".
BENEFITS = {
    "dress": (
        "goes from brunch to dinner",
        "makes getting ready easy",
        "moves with you",
        "drapes beautifully",
    ),
    "knit top": (
        "goes from desk to dinner",
        "keeps its shape all day",
        "feels light and easy to wear",
    ),
    "blouse": ("goes from desk to dinner", "adds polish to any workday", "drapes beautifully"),
    "sweater": ("is made for cool days", "keeps its shape all day", "layers easily on cool days"),
    "pair of pants": (
        "moves with you",
        "keeps you comfortable all day",
        "works from desk to dinner",
    ),
    "pair of jeans": ("keeps its shape all day", "is easy to wear all week", "moves with you"),
    "skirt": ("moves with you", "goes from desk to dinner", "adds polish to any workday"),
    "jacket": ("finishes your look", "is made for cool days", "adds polish to any outfit"),
    "lounge set": ("makes staying in easy", "keeps you comfortable at home"),
    "swimsuit": ("is ready for the beach", "is made for sunny days", "is ready for pool days"),
    "pair of shorts": ("is made for sunny days", "moves with you", "is easy to wear all summer"),
    "sleep set": ("is made for restful nights", "feels soft against your skin"),
    "pair of leggings": ("moves with you", "keeps you comfortable all day"),
    "bralette": ("feels soft against your skin", "keeps you comfortable all day"),
    "statement piece": ("adds a fresh twist to your look", "makes an everyday look special"),
}
BENEFITS |= {
    "fine-gauge sweater": BENEFITS["sweater"],
    "coat": BENEFITS["jacket"],
    "pair of casual pants": BENEFITS["pair of pants"],
    "chemise": BENEFITS["sleep set"],
    "layering piece": BENEFITS["knit top"],
}
DEFAULT_BENEFITS = ("is easy to love", "fits right into your week")
PERSONAS = {
    "young": ("for your weekend plans", "for nights out with friends"),
    "adult": ("for busy workdays", "for days on the go"),
    "senior": ("for relaxed, easy days", "made for everyday comfort"),
}
# Worn at home, in bed or at the beach: the audience's days do not fit, the moment does.
MOMENTS = {
    "lounge set": "for slow weekends at home",
    "sleep set": "for restful nights",
    "chemise": "for restful nights",
    "swimsuit": "for sunny days",
    "bralette": "for everyday comfort",
}
DESCRIPTIONS = {
    # Keyed by tone; "{praise}" templates are used only when the brief has one.
    "warm": (
        "{A} and {b}, this {noun} {benefit}.",
        "You'll love how this {a} {noun} {benefit}.",
        "{An} {a}, {b} {noun} {persona}.",
        "This {a} {noun} is made {praise}.",
        "Meet {an} {a} {noun} that {benefit}.",
    ),
    "bold": (
        "Say hello to {an} {a} {noun} that {benefit}!",
        "This {a} {noun} {benefit}!",
        "Meet the {a} {noun} {persona}!",
        "{A} and {b}: this {noun} {benefit}!",
        "This {a} {noun} is made {praise}!",
    ),
    "elegant": (
        "Effortlessly {a}, this {noun} {benefit}.",
        "A refined, {a} {noun} {persona}.",
        "Our {a} {noun} {benefit}.",
        "{An} {a}, {b} {noun} that {benefit}.",
        "Our {a} {noun}, made {praise}.",
    ),
}
HEADLINES = ("{A} {short}.", "The {a} {short}.", "Meet the {a} {short}.", "{A}, {b} {short}.")


def short_noun(noun: str) -> str:
    """The product noun without its "pair of" (for headlines and CTA objects)."""
    return noun.removeprefix("pair of ")


def description(brief: CopyBrief, limit: int, rng: random.Random) -> tuple[str, str]:
    """A benefit sentence and a CTA of the brief's style within ``limit``: (copy, CTA)."""
    phrasings = cta.phrasings(brief.cta_style, brief.product)
    action = rng.choice([p for p in phrasings if len(p) <= limit // 2])
    a, b = _two_attributes(brief, rng)
    personas = PERSONAS.get(brief.segment, ("for every day",))
    fields = {
        "a": a,
        "A": a.capitalize(),
        "an": "an" if a[0] in "aeiou" else "a",
        "An": "An" if a[0] in "aeiou" else "A",
        "b": b,
        "noun": brief.product,
        "persona": MOMENTS.get(brief.product) or rng.choice(personas),
        "praise": brief.highlight,
    }
    templates = [
        t
        for t in DESCRIPTIONS[brief.tone]
        if (brief.highlight or "{praise}" not in t) and (a != b or "{b}" not in t)
    ]
    benefits = BENEFITS.get(brief.product, DEFAULT_BENEFITS)
    written = (t.format(**fields, benefit=b) for t in templates for b in benefits)
    bodies = [body for body in dict.fromkeys(written) if not ranking.repeats_a_word(body)]
    bodies = bodies or [f"{fields['An']} {a} {brief.product}."]
    shortest = min(len(p) for p in phrasings)
    fitting = [body for body in bodies if len(body) + 1 + len(action) <= limit] or [
        body for body in bodies if len(body) + 1 + shortest <= limit
    ]
    body = rng.choice(fitting or [min(bodies, key=len)])
    if len(body) + 1 + len(action) > limit:
        action = cta.compose(brief.cta_style, body, limit - len(body) - 1, brief.product)
    return f"{body} {action}", action


def headline(brief: CopyBrief, limit: int, rng: random.Random) -> tuple[str, str]:
    """The product and one or two of its attributes, then a short CTA (the product alone
    when no attribute leaves room for one)."""
    short = short_noun(brief.product)
    attributes = list(brief.attributes) or ["lovely"]
    pairs = [(a, b) for a in attributes for b in attributes if a != b] or [(attributes[0],) * 2]
    named = [
        t.format(A=a.capitalize(), a=a, b=b, short=short)
        for a, b in pairs
        for t in HEADLINES
        if a != b or "{b}" not in t
    ]
    room = limit - 1 - min(len(p) for p in cta.phrasings(brief.cta_style, brief.product))
    bodies = [body for body in named if len(body) <= room]
    bare = [f"{short.capitalize()}.", f"{short.split()[-1].capitalize()}."]
    body = rng.choice(bodies or [next((f for f in bare if len(f) <= room), bare[-1])])
    key = f"{body}{rng.random()}"
    action = cta.compose(brief.cta_style, key, limit - len(body) - 1, brief.product)
    return f"{body} {action}", action


def _two_attributes(brief: CopyBrief, rng: random.Random) -> tuple[str, str]:
    """Two different attributes of the brief in random order (one repeated when it has
    one; "lovely" when it has none)."""
    attributes = list(brief.attributes) or ["lovely"]
    first = rng.choice(attributes)
    rest = [x for x in attributes if x != first] or [first]
    return first, rng.choice(rest)
