"""Call-to-action styles: how each is phrased, and finding a CTA in text.

A CTA is an imperative sentence (verb first) such as "Grab your new dress today!". The
requested style is a conditioning signal: prompts name it, training targets end with a CTA
of that style whose object names the product, and post-processing inserts one when the
model left it out. Urgency comes from the moment ("today!"), never from a scarcity claim
("before it sells out!") the shop cannot back. The styles are
:mod:`adcraft.shared.contract.copy_contract`'s ``CTA_STYLES``; ``STYLES`` phrases each.

>>> find_cta("Soft and light. Grab yours today!")
'Grab yours today!'
>>> find_cta("Soft and light.Shop it now.")
'Shop it now.'
>>> find_cta("Shoppers see it everywhere.") is None
True
>>> compose("soft", "product-42")
'Try this look at your own pace.'
>>> compose("urgent", "product-42", limit=14)
'Claim it now!'
"""

from __future__ import annotations

import functools
import re
import zlib

STYLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # (imperative verbs, endings); an object ("yours", "your <product>") goes between.
    # Many phrasings per style: the same few CTAs on every ad read as boilerplate. None
    # promises what the shop cannot back: a delivery time, a fit, a colour in stock.
    "urgent": (
        ("Grab", "Snag", "Claim", "Order"),
        ("now!", "today!", "this week!", "before the weekend!"),
    ),
    "soft": (
        ("Discover", "Explore", "See", "Find", "Try"),
        (
            "today.",
            "this season.",
            "at your own pace.",
            "in the new collection.",
            "whenever you're ready.",
            "for your next favorite outfit.",
        ),
    ),
    "direct": (
        ("Shop", "Buy", "Get", "Choose"),
        (
            "now.",
            "today.",
            "online.",
            "in your size.",
            "for the weekend.",
            "for easy everyday style.",
        ),
    ),
}
# Endings the shipped adapter learned that blind reads struck from served copy: a soft
# CTA sets no time ("Find it today.", "See it this season."), and no CTA names a
# collection the catalogue does not. Serving never ends a CTA so, nor with another
# style's ending ("Buy this look before the weekend." is urgent); the training table keeps
# them until the adapter is retrained without them.
_COLLECTION = "in the new collection."
STRUCK = {
    "soft": ("today.", "this season.", _COLLECTION),
    "direct": (_COLLECTION,),
    "urgent": (_COLLECTION,),
}
OBJECTS = ("yours", "it", "one", "this look")
# A soft CTA sets no time, so every ending is long and a 30-character headline may have no
# room for one: served, it may then close on its object instead ("See it.").
OPEN_ENDED = frozenset({"soft"})
CLOSING_OBJECTS = ("yours", "it", "this look")  # "Soft jacket. Find this jacket." repeats
CLOSING_VERBS = ("Discover", "Explore", "Try")  # a blind read took "See it." as direct
PAIR_OBJECTS = ("yours", "a pair", "this pair", "this look")  # "it" and "one" disagree
VERBS = tuple(sorted({verb for verbs, _ in STYLES.values() for verb in verbs} | {"Don't miss"}))
_CTA = re.compile(rf"(?:^|(?<=[.!?:]))\s*(({'|'.join(VERBS)})\b[^.!?\n]*[.!?]?)", re.IGNORECASE)


def find_all(text: str) -> list[str]:
    """Every call to action in ``text``, in order: sentences that start with a CTA verb
    (after a stop, with or without the space)."""
    return [m.group(1).strip() for m in _CTA.finditer(text.strip())]


def find_cta(text: str) -> str | None:
    """The last call to action in ``text``."""
    found = find_all(text)
    return found[-1] if found else None


def split_closing(text: str) -> tuple[str, str | None]:
    """``text`` as (body, the CTA that closes it); (text, None) when none closes it.

    >>> split_closing("So soft and light. Grab yours today!")
    ('So soft and light.', 'Grab yours today!')
    >>> split_closing("Grab yours today! So soft and light.")
    ('Grab yours today! So soft and light.', None)
    """
    text = text.rstrip()
    found = find_cta(text)
    if found is None or not text.endswith(found):
        return text, None
    return text[: -len(found)].rstrip(), found


def compose(
    style: str,
    key: str,
    limit: int | None = None,
    product: str | None = None,
    served: bool = False,
) -> str:
    """A CTA of ``style`` chosen deterministically by ``key`` among the phrasings within
    ``limit`` (the object may name ``product``); the shortest phrasing when none fits.
    ``served`` leaves out the :data:`STRUCK` endings (training targets keep them: the
    shipped adapter learned them) and lets an :data:`OPEN_ENDED` style close on its object
    when no ending fits.

    >>> compose("soft", "product-42", limit=14), compose("soft", "product-42", 14, served=True)
    ('See one today.', 'Explore it.')
    """
    phrases = phrasings(style, product)
    if served:
        phrases = tuple(p for p in phrases if not struck(p, style))
    fitting = [p for p in phrases if limit is None or len(p) <= limit]
    if not fitting and served and style in OPEN_ENDED:
        objects = [o for o in _objects(product) if o in CLOSING_OBJECTS]
        closed = (f"{v} {o}." for v in CLOSING_VERBS for o in objects)
        fitting = [p for p in closed if limit is None or len(p) <= limit]
    fitting = fitting or [min(phrases, key=len)]
    return fitting[zlib.crc32(key.encode()) % len(fitting)]


def shortest(style: str, product: str | None = None) -> int:
    """The length of the shortest CTA of ``style`` that served copy may close with.

    >>> shortest("urgent", "dress"), shortest("soft", "dress")
    (12, 7)
    """
    served = [p for p in phrasings(style, product) if not struck(p, style)]
    if style in OPEN_ENDED:
        objects = [o for o in _objects(product) if o in CLOSING_OBJECTS]
        served += [f"{v} {o}." for v in CLOSING_VERBS for o in objects]
    return min(len(p) for p in served)


def struck(action: str, style: str) -> bool:
    """Whether ``action`` may not close served copy of ``style``: it ends as :data:`STRUCK`
    says, with an ending only other styles have, or with none of its style's (an
    :data:`OPEN_ENDED` style may close on one of :data:`CLOSING_OBJECTS`).

    >>> struck("Find it today.", "soft"), struck("Find it whenever you're ready.", "soft")
    (True, False)
    >>> struck("Buy it before the weekend.", "direct"), struck("Buy it for the weekend.", "direct")
    (True, False)
    >>> struck("See this knit top.", "soft"), struck("Try it.", "soft"), struck("See it.", "soft")
    (True, False, True)
    """
    said = f" {_unmarked(action.lower())}"
    if said.endswith(tuple(f" {e}" for e in struck_endings(style))):
        return True
    if said.endswith(tuple(f" {e}" for e in _served_endings(style))):
        return False
    closing = {f" {v} {o}".lower() for v in CLOSING_VERBS for o in CLOSING_OBJECTS}
    return not (style in OPEN_ENDED and said in closing)


@functools.cache
def _served_endings(style: str) -> tuple[str, ...]:
    """The endings (unmarked) a served CTA of ``style`` may have."""
    own = tuple(_unmarked(e) for e in STYLES[style][1])
    return tuple(e for e in own if e not in struck_endings(style))


@functools.cache
def struck_endings(style: str) -> tuple[str, ...]:
    """The endings (unmarked) a served CTA of ``style`` may not have: its :data:`STRUCK`
    ones and those only other styles have.

    >>> struck_endings("direct")
    ('at your own pace', 'before the weekend', 'for your next favorite outfit', \
'in the new collection', 'this season', 'this week', "whenever you're ready")
    """
    own = {_unmarked(e) for e in STYLES[style][1]}
    others = {_unmarked(e) for _, ends in STYLES.values() for e in ends} - own
    return tuple(sorted(others | {_unmarked(e) for e in STRUCK[style]}))


def _unmarked(text: str) -> str:
    return text.rstrip(".!?")


@functools.lru_cache(maxsize=256)
def phrasings(style: str, product: str | None = None) -> tuple[str, ...]:
    """Every phrasing of ``style`` (verb, then object, then ending order); with a
    ``product``, objects that agree with it, some naming it ("your jeans" for a "pair of
    jeans", whose CTA never says "it").

    >>> phrasings("urgent", "pair of jeans")[:3]
    ('Grab yours now!', 'Grab yours today!', 'Grab yours this week!')
    >>> sorted({p.split()[1] for p in phrasings("direct", "pair of jeans")})
    ['a', 'this', 'your', 'yours']
    """
    verbs, endings = STYLES[style]
    objects = _objects(product)
    return tuple(f"{verb} {obj} {end}" for verb in verbs for obj in objects for end in endings)


def _objects(product: str | None) -> tuple[str, ...]:
    """What a CTA may ask for that agrees with ``product``."""
    if product is not None and product.startswith("pair of "):
        return (*PAIR_OBJECTS, f"your {product.removeprefix('pair of ')}")
    if product is not None:
        return (*OBJECTS, f"your {product}", f"this {product}")
    return OBJECTS
