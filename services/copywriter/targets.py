"""Training copy written from a product's facts: the copy the model learns to write.

Every piece of copy names the product, states a benefit that one of its attributes backs,
in the shop's voice, and ends with one CTA of the requested style whose object agrees with
the product ("Grab a pair" for jeans, never "Grab it"). A benefit comes from an attribute,
never from the garment alone: a dress listed as stretchy "moves with you", one listed as
pretty "makes an everyday look special", and no dress "makes getting ready easy" (blind
reads struck claims no attribute backs). An occasion, the audience's days or what reviews
praise, leads into a benefit and never stands for one ("For busy workdays, this soft dress
feels soft all day", not "A soft dress for busy workdays"). A headline is the product and a
short benefit, then a short CTA. Many templates per shape, so the model learns to vary its
phrasing; none quotes a review, names another garment, claims scarcity, a fit or a delivery
date, and every one passes :func:`ranking.flaw`.

>>> import random
>>> brief = CopyBrief("dress", "Dresses", ("flowy", "soft"), "adult", "warm", "direct",
...                   "description", "for summer days")
>>> copy, action = description(brief, 90, random.Random(1))
>>> copy
'Made for summer days, this flowy dress feels good against your skin. Shop one now.'
>>> copy.endswith(action) and len(copy) <= 90
True
>>> headline(brief._replace(placement="headline"), 45, random.Random(2))
('Flowy dress that feels soft. Shop it today.', 'Shop it today.')
>>> headline(brief._replace(product="pair of jeans", attributes=("warm",),
...     placement="headline"), 45, random.Random(3))[0]
'Our jeans keep you warm. Get a pair now.'
"""

from __future__ import annotations

import random

from adcraft.services.copywriter import ranking
from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.copy_rules import cta

# What each attribute lets the shop promise: verb phrases in the plural ("keep you warm"),
# agreed with the noun they follow ("this coat keeps you warm"). Looks back a styling
# benefit; only a feel or a cut backs a claim of how the product feels or performs.
_SPECIAL = ("make an everyday look special", "finish your look")
_TWIST = ("add a fresh twist to your look", "finish your look")
_POLISH = ("add polish to your look", "finish your look")
BENEFITS = {
    "soft": ("feel soft against your skin", "feel good against your skin"),
    "silky": ("feel smooth against your skin",),
    "comfortable": ("keep you comfortable all day", "are easy to wear all day"),
    "relaxed": ("give you room to move", "keep you at ease all day"),
    "cozy": ("keep you cozy", "are made for cool days", "wrap you in comfort"),
    "warm": ("keep you warm", "are made for cool days"),
    "lightweight": ("feel light", "feel light on sunny days"),
    "airy": ("feel light", "let your skin breathe"),
    "breathable": ("let your skin breathe",),
    "flowy": ("move with you", "drape gracefully"),
    "drapey": ("drape gracefully",),
    "stretchy": ("move with you",),
    "fitted": ("give you a tailored look", "keep a clean line"),
    "sturdy": ("are made to last",),
    "versatile": ("go from desk to dinner", "add polish to any outfit", "go with everything"),
    "casual": ("are easy to wear every day",),
    "elegant": _POLISH,
    "chic": _POLISH,
    "classic": _POLISH,
    "stylish": _TWIST,
    "fun": _TWIST,
    "unique": _TWIST,
    "cute": _TWIST,
    "colorful": ("add color to your look", "brighten your look"),
    "vibrant": ("add color to your look", "brighten your look"),
    "flattering": _SPECIAL,
    "pretty": _SPECIAL,
    "beautiful": _SPECIAL,
    "gorgeous": _SPECIAL,
    "lovely": _SPECIAL,
    "feminine": _SPECIAL,
}
# The same promises, short enough for a headline's product and CTA.
_LOOK = "finish your look"
SHORT_BENEFITS = {
    "soft": "feel soft",
    "silky": "feel smooth",
    "comfortable": "feel comfortable",
    "relaxed": "feel relaxed",
    "cozy": "keep you cozy",
    "warm": "keep you warm",
    "lightweight": "feel light",
    "airy": "feel light",
    "breathable": "let skin breathe",
    "flowy": "move with you",
    "drapey": "drape well",
    "stretchy": "move with you",
    "fitted": "look tailored",
    "sturdy": "are made to last",
    "versatile": "go anywhere",
    "casual": "are easy to wear",
    "elegant": "add polish",
    "chic": "add polish",
    "classic": "add polish",
    "stylish": "add a twist",
    "fun": "add a twist",
    "unique": "add a twist",
    "cute": "add a twist",
    "colorful": "add color",
    "vibrant": "add color",
    "flattering": _LOOK,
    "pretty": _LOOK,
    "beautiful": _LOOK,
    "gorgeous": _LOOK,
    "lovely": _LOOK,
    "feminine": _LOOK,
}
# Worn at the beach, in bed or under clothes: what such a garment must not promise.
UNSUITED = {
    "swimsuit": ("cool", "desk"),
    "pair of shorts": ("cool",),
    "sleep set": ("desk", "outfit"),
    "chemise": ("desk", "outfit"),
    "bralette": ("desk", "outfit"),
    "lounge set": ("desk",),
}
# Occasions that lead into a benefit: the audience's days, or the moment a garment is for.
PERSONAS = {
    "young": ("For your weekend plans", "For nights out with friends"),
    "adult": ("For busy workdays", "For days on the go"),
    "senior": ("For slow mornings", "For days out and about"),
}
MOMENTS = {
    "lounge set": "For slow weekends at home",
    "sleep set": "For nights in",
    "chemise": "For nights in",
    "swimsuit": "For sunny days",
    "bralette": "For every day",
}
DESCRIPTIONS = {
    "warm": (
        "{A} and {b}, this {noun} {benefit}.",
        "You'll love how this {a} {noun} {benefit}.",
        "Meet {an} {a} {noun} that {benefit}.",
        "{Lead}, this {a} {noun} {benefit}.",
    ),
    "bold": (
        "Say hello to {an} {a} {noun} that {benefit}!",
        "This {a} {noun} {benefit}!",
        "{A} and {b}: this {noun} {benefit}!",
        "{Lead}, this {a} {noun} {benefit}!",
    ),
    "elegant": (
        "Effortlessly {a}, this {noun} {benefit}.",
        "Our {a} {noun} {benefit}.",
        "{An} {a}, {b} {noun} that {benefit}.",
        "{Lead}, our {a} {noun} {benefit}.",
    ),
}
HEADLINES = ("{A} {short} that {benefit}.", "{This} {short} {benefit}.", "Our {short} {benefit}.")


# What a headline may call a product whose name leaves no room for a benefit.
HEADLINE_NOUNS = {
    "fine-gauge sweater": "sweater",
    "statement piece": "piece",
    "layering piece": "piece",
}


def short_noun(noun: str) -> str:
    """The product noun without its "pair of" (for headlines and CTA objects)."""
    return noun.removeprefix("pair of ")


def agreeing(benefit: str, plural: bool) -> str:
    """``benefit`` (plural) agreed with its subject.

    >>> agreeing("go with everything", False), agreeing("are made to last", False)
    ('goes with everything', 'is made to last')
    >>> agreeing("finish your look", False), agreeing("keep you warm", True)
    ('finishes your look', 'keep you warm')
    """
    if plural:
        return benefit
    verb, _, rest = benefit.partition(" ")
    if verb == "are":
        verb = "is"
    elif verb.endswith(("sh", "ch", "o")):
        verb += "es"
    else:
        verb += "s"
    return f"{verb} {rest}"


def benefits(brief: CopyBrief, short: bool = False) -> list[str]:
    """The benefits (plural) ``brief``'s attributes back and its product suits, the
    :data:`SHORT_BENEFITS` when ``short``; a product whose attributes back none is
    "lovely"."""
    unsuited = UNSUITED.get(brief.product, ())
    backed = [a for a in brief.attributes if a in BENEFITS] or ["lovely"]
    found = [
        b
        for a in backed
        for b in ((SHORT_BENEFITS[a],) if short else BENEFITS[a])
        if not any(word in b.split() for word in unsuited)
    ]
    return list(dict.fromkeys(found)) or [
        SHORT_BENEFITS["lovely"] if short else BENEFITS["lovely"][0]
    ]


def description(brief: CopyBrief, limit: int, rng: random.Random) -> tuple[str, str]:
    """A benefit sentence and a CTA of the brief's style within ``limit``: (copy, CTA)."""
    a, b = _two_attributes(brief, rng)
    personas = PERSONAS.get(brief.segment, ("For every day",))
    lead = f"Made {brief.highlight}" if brief.highlight else MOMENTS.get(brief.product)
    fields = {
        "a": a,
        "A": a.capitalize(),
        "an": "an" if a[0] in "aeiou" else "a",
        "An": "An" if a[0] in "aeiou" else "A",
        "b": b,
        "noun": brief.product,
        "Lead": lead or rng.choice(personas),
    }
    templates = [t for t in DESCRIPTIONS[brief.tone] if a != b or "{b}" not in t]
    written = (
        t.format(**fields, benefit=agreeing(benefit, False))
        for t in templates
        for benefit in benefits(brief)
    )
    return _with_action(brief, list(dict.fromkeys(written)), limit, rng)


def headline(brief: CopyBrief, limit: int, rng: random.Random) -> tuple[str, str]:
    """The product, one of its attributes and a short benefit, then a short CTA."""
    short = HEADLINE_NOUNS.get(brief.product, short_noun(brief.product))
    plural = brief.product.startswith("pair of ")
    a = rng.choice(list(brief.attributes) or ["lovely"])
    written = [
        t.format(
            A=a.capitalize(),
            short=short,
            This="These" if plural else "This",
            benefit=agreeing(benefit, plural),
        )
        for t in HEADLINES
        for benefit in benefits(brief, short=True)
    ]
    return _with_action(brief, written, limit, rng)


def _with_action(
    brief: CopyBrief, bodies: list[str], limit: int, rng: random.Random
) -> tuple[str, str]:
    """One of ``bodies`` and a CTA of the brief's style, together within ``limit`` and
    without a :func:`ranking.flaw`: (copy, CTA). When none is, the product and one of its
    attributes ("Soft lounge set.") and the CTA that fits."""
    actions = (
        *cta.phrasings(brief.cta_style, brief.product),
        *cta.closings(brief.cta_style, brief.product),
    )
    pairs = [
        (body, action)
        for body in bodies
        for action in actions
        if len(body) + 1 + len(action) <= limit and ranking.flaw(f"{body} {action}", brief) is None
    ]
    if not pairs:
        body = (
            f"{(list(brief.attributes) or ['lovely'])[0].capitalize()} {short_noun(brief.product)}."
        )
        action = cta.compose(brief.cta_style, body, limit - len(body) - 1, brief.product)
        return f"{body} {action}", action
    body = rng.choice(sorted({body for body, _ in pairs}))
    action = rng.choice([act for b, act in pairs if b == body])
    return f"{body} {action}", action


def _two_attributes(brief: CopyBrief, rng: random.Random) -> tuple[str, str]:
    """Two different attributes of the brief in random order (one repeated when it has
    one; "lovely" when it has none)."""
    attributes = list(brief.attributes) or ["lovely"]
    first = rng.choice(attributes)
    rest = [x for x in attributes if x != first] or [first]
    return first, rng.choice(rest)
