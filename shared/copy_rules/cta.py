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
'Try one in your own time.'
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
            "at your own pace.",
            "whenever you're ready.",
            "in your own time.",
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
        ),
    ),
}
OBJECTS = ("yours", "it", "one", "this look")
# A soft CTA sets no time, so every ending is long and a headline may have no room for
# one: it may then close on its object instead ("Explore it.").
OPEN_ENDED = frozenset({"soft"})
CLOSING_OBJECTS = ("yours", "it", "this look")  # "Soft jacket. Find this jacket." repeats
CLOSING_VERBS = ("Discover", "Explore")  # blind reads took "See it." and "Try it." as direct
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


def compose(style: str, key: str, limit: int | None = None, product: str | None = None) -> str:
    """A CTA of ``style`` chosen deterministically by ``key`` among the phrasings within
    ``limit`` (the object may name ``product``); an :data:`OPEN_ENDED` style closes on its
    object when no ending fits, and the shortest phrasing is taken when nothing does.

    >>> compose("soft", "product-42"), compose("soft", "product-42", limit=14)
    ('Try one in your own time.', 'Explore it.')
    """
    fitting = [p for p in phrasings(style, product) if limit is None or len(p) <= limit]
    if not fitting:
        fitting = [p for p in closings(style, product) if limit is None or len(p) <= limit]
    fitting = fitting or [min(phrasings(style, product), key=len)]
    return fitting[zlib.crc32(key.encode()) % len(fitting)]


def closings(style: str, product: str | None = None) -> tuple[str, ...]:
    """The CTAs of an :data:`OPEN_ENDED` ``style`` that close on their object ("Explore
    it."); none for another style.

    >>> closings("soft", "pair of jeans"), closings("direct")
    (('Discover yours.', 'Discover this look.', 'Explore yours.', 'Explore this look.'), ())
    """
    if style not in OPEN_ENDED:
        return ()
    objects = [o for o in _objects(product) if o in CLOSING_OBJECTS]
    return tuple(f"{v} {o}." for v in CLOSING_VERBS for o in objects)


def shortest(style: str, product: str | None = None) -> int:
    """The length of the shortest CTA of ``style`` that copy may close with.

    >>> shortest("urgent", "dress"), shortest("soft", "dress")
    (12, 11)
    """
    return min(len(p) for p in (*phrasings(style, product), *closings(style, product)))


def struck(action: str, style: str) -> bool:
    """Whether ``action`` may not close copy of ``style``: it ends with an ending only
    other styles have, or with none of its style's (an :data:`OPEN_ENDED` style may close
    on one of :data:`CLOSING_OBJECTS`).

    >>> struck("Find it today.", "soft"), struck("Find it whenever you're ready.", "soft")
    (True, False)
    >>> struck("Buy it before the weekend.", "direct"), struck("Buy it for the weekend.", "direct")
    (True, False)
    >>> [struck(a, "soft") for a in ("See this knit top.", "Try it.", "Explore it.")]
    [True, True, False]
    """
    said = f" {_unmarked(action.lower())}"
    if said.endswith(tuple(f" {e}" for e in struck_endings(style))):
        return True
    if said.endswith(tuple(f" {_unmarked(e)}" for e in STYLES[style][1])):
        return False
    closing = {f" {v} {o}".lower() for v in CLOSING_VERBS for o in CLOSING_OBJECTS}
    return not (style in OPEN_ENDED and said in closing)


@functools.cache
def struck_endings(style: str) -> tuple[str, ...]:
    """The endings (unmarked) only other styles have: a CTA of ``style`` never ends so.

    >>> struck_endings("direct")
    ('at your own pace', 'before the weekend', 'in your own time', 'this week', \
"whenever you're ready")
    """
    own = {_unmarked(e) for e in STYLES[style][1]}
    return tuple(sorted({_unmarked(e) for _, ends in STYLES.values() for e in ends} - own))


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
