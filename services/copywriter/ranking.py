"""Write many, serve the best: which finished variants of a brief are kept.

First, a variant with a flaw a reader would see is not served at all (:func:`flaw`): it
does not name the product ("Go beautiful. Grab this look now!"), describes it with a
word the brief does not list ("a friendly sweater", "a dynamic lounge set") or says it
feels a way the brief does not ("feels soft against your skin" for a set listed as
beautiful), disagrees in number ("Flexible jackets" for one jacket, "This cute pants",
"Grab it" for a pair of jeans), has a subject with no verb ("You'll love how this dress
for work!"), repeats a word ("a comfortable bralette that keeps you comfortable", "for
the weekend. Snag it before the weekend!"), or joins words with a hyphen the brief does
not ("Love-lively"); a description must also state a benefit ("Say hello to a soft knit
top!" only presents it). Of the rest, a variant's quality is its fluency (mean log-probability
per token under the writing model: grammatical, ordinary English scores high). Variants
are then taken greedily, best first, each next one the best quality less a penalty for
the word pairs it shares with those already taken, so the kept variants say different
things.
"""

from __future__ import annotations

import re

from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.copy_rules.cta import STYLES, split_closing, struck
from adcraft.shared.copy_rules.words import allowed_garments, words_of

COMPOUND = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)+")  # a hyphenated word
_ARTICLE = re.compile(r"\b(?:[Aa] [aeiouAEIOU]|[Aa]n [^aeiouAEIOU\W])")  # "a elegant", "an soft"
OVERLAP_PENALTY = 2.0  # per unit of bigram overlap (Jaccard) with a kept variant


_SENTENCES = re.compile(r"[^.!?]+")
DETERMINERS = frozenset({"a", "an", "the", "this", "that", "our", "your", "these", "those"})
# Words the shop's own copy puts before a product besides its attributes.
SHOP_MODIFIERS = frozenset({"and", "new", "refined", "effortlessly", "pair", "of"})
PRESENTING = frozenset({"meet", "say", "hello", "to"})  # "Say hello to a soft dress!"
SINGULAR = frozenset({"a", "an", "this", "that"})
SUBJECTS = frozenset({"this", "these", "our"})  # "This soft dress" is a subject
# Words that go on describing a product rather than say what it does ("a dress for work").
OCCASIONS = frozenset({"for", "made"})  # "For busy workdays, this dress" is not an attribute
DESCRIBING = frozenset({"for", "that", "made", "with", "in"})
ENDING_WORDS = frozenset(words_of(" ".join(e for _, ends in STYLES.values() for e in ends)))
# A benefit that states how the product feels or performs states an attribute: the brief
# must list it (a sleep set listed as beautiful does not "feel soft against your skin", a
# dress listed as comfortable does not "move with you"; blind reads struck both), and so
# must a claim that it suits every occasion ("goes from desk to dinner": versatile) or that
# it looks refined (the elegant tone's "A refined, soft dress": elegant). Each phrase
# states a feel, named by the word decoding masks; each feel, the attributes that back it
# (none backs "keeps its shape all day" or "makes getting ready easy").
FEELS = {
    "feels soft": "soft",
    "feel soft": "soft",
    "your skin": "skin",
    "smooth": "smooth",
    "feels light": "light",
    "feel light": "light",
    "keeps you comfortable": "comfortable",
    "keep you comfortable": "comfortable",
    "comfort": "comfort",
    "easy": "easy",
    "at ease": "ease",
    "room to move": "room",
    "cool days": "cool",
    "moves with you": "moves",
    "move with you": "move",
    "drape": "drape",
    "drapes": "drapes",
    "tailored": "tailored",
    "clean line": "line",
    "to last": "last",
    "dinner": "dinner",
    "any outfit": "any",
    "anywhere": "anywhere",
    "breathe": "breathe",
    "with everything": "everything",
    "polish": "polish",
    "color": "color",
    "brighten": "brighten",
    "brightens": "brightens",
    "special": "special",
    "twist": "twist",
    "keeps its shape": "shape",
    "refined": "refined",
}
_LOOKS = ("pretty", "beautiful", "gorgeous", "lovely", "feminine", "flattering")
_POLISHED = ("versatile", "elegant", "chic", "classic", "refined", "sophisticated")
_MOVING = ("flowy", "stretchy")
LISTED_AS: dict[str, tuple[str, ...]] = {
    "soft": ("soft",),
    "skin": ("soft", "silky", "airy", "breathable"),
    "smooth": ("silky",),
    "light": ("light", "lightweight", "airy"),
    "comfortable": ("comfortable",),
    "comfort": ("comfortable", "cozy"),
    "easy": ("comfortable", "casual"),
    "ease": ("relaxed",),
    "room": ("relaxed",),
    "cool": ("warm", "cozy"),
    "moves": _MOVING,
    "move": _MOVING,
    "drape": ("flowy", "drapey"),
    "drapes": ("flowy", "drapey"),
    "tailored": ("fitted",),
    "line": ("fitted",),
    "last": ("sturdy",),
    "dinner": ("versatile",),
    "any": ("versatile",),
    "anywhere": ("versatile",),
    "breathe": ("airy", "breathable"),
    "everything": ("versatile",),
    "polish": _POLISHED,
    "color": ("colorful", "vibrant"),
    "brighten": ("colorful", "vibrant"),
    "brightens": ("colorful", "vibrant"),
    "special": _LOOKS,
    "twist": ("stylish", "fun", "unique", "cute"),
    "shape": (),
    "refined": ("elegant", "refined", "sophisticated"),
}
FEEL_WORDS = frozenset({"soft", "light", "lightweight", "comfortable", "warm", "cozy"})


def bare_words(brief: CopyBrief) -> frozenset[str]:
    """Words that alone say nothing of the product: its noun's, determiners and a CTA's
    endings ("Lounge set online.", "Lounge set for the weekend.")."""
    return frozenset(words_of(brief.product)) | DETERMINERS | ENDING_WORDS


def product_names(brief: CopyBrief) -> frozenset[str]:
    """Words that name the brief's product: its noun's and, for a garment, its group's."""
    named = set(words_of(brief.product)) - {"pair", "of"}
    if allowed_garments(brief.product) != allowed_garments("piece"):
        named |= allowed_garments(brief.product)
    return frozenset(named)


def names_the_product(text: str, brief: CopyBrief) -> bool:
    """Whether ``text`` names the brief's product (or a name it goes by); an attribute
    alone ("Comfortable. Get one now.") does not.

    >>> brief = CopyBrief("knit top", "Tops", ("soft",), "adult", "warm", "direct")
    >>> [names_the_product(t, brief) for t in ("A soft tee for warm days.", "So soft.")]
    [True, False]
    """
    return bool(set(words_of(text)) & product_names(brief))


def unlisted_attribute(text: str, brief: CopyBrief) -> str | None:
    """The first word that describes the product without being one of its attributes, or
    None: a word between a determiner (or a sentence's start) and the product's name, or
    in a leading "Soft and flowy, this dress" clause.

    >>> b = CopyBrief("dress", "Dresses", ("soft", "flowy"), "adult", "warm", "direct")
    >>> [unlisted_attribute(t, b) for t in ("Flowy dress. Buy it.", "A friendly, soft dress.",
    ...     "Soft and warm, this dress moves.", "Say hi to a soft dress!", "Go bold: this dress.")]
    [None, 'friendly', 'warm', None, 'go']
    """
    allowed = set(brief.attributes) | SHOP_MODIFIERS | set(words_of(brief.product))
    names = product_names(brief)
    for sentence in _SENTENCES.findall(split_closing(text)[0].lower()):
        clauses = re.split(r"[,:]", sentence)
        if len(clauses) > 1 and words_of(clauses[-1])[:1] in (["this"], ["our"]):
            lead = [w for c in clauses[:-1] for w in words_of(c)]
            if len(lead) <= 4 and not set(lead) & names and lead[0] not in OCCASIONS:
                odd = [w for w in lead if w not in allowed]
                if odd:
                    return odd[0]
        words = words_of(sentence)
        for i, word in enumerate(words):
            if word not in names and word.rstrip("s") not in names:
                continue
            j = i - 1
            while j >= 0 and words[j] not in DETERMINERS and i - j <= 4:
                if words[j] not in allowed and words[j] not in names:
                    return words[j]
                j -= 1
    return None


def disagrees_in_number(text: str, brief: CopyBrief) -> bool:
    """Whether ``text`` calls one product many ("Pretty bralettes") or a pair of something
    one ("This cute pants", "Grab it" for a pair of jeans).

    >>> jeans = CopyBrief("pair of jeans", "Bottoms", ("soft",), "adult", "warm", "direct")
    >>> [disagrees_in_number(t, jeans) for t in ("A soft pair of jeans. Buy yours.",
    ...      "These soft jeans. Buy yours.", "This soft jeans. Buy yours.", "Soft jeans. Buy it.")]
    [False, False, True, True]
    >>> jacket = jeans._replace(product="jacket")
    >>> disagrees_in_number("Soft jackets. Buy one.", jacket)
    True
    """
    body, action = split_closing(text)
    words = words_of(body)
    head = words_of(brief.product)[-1]
    if not brief.product.startswith("pair of "):
        return any(w in (f"{head}s", f"{head}es") for w in words)
    if action and {"it", "one"} & set(words_of(action)):
        return True
    for i, word in enumerate(words):
        if word == head and (i < 2 or words[i - 2 : i] != ["pair", "of"]):
            before = words[max(0, i - 4) : i]
            determiners = [w for w in before if w in DETERMINERS]
            if determiners and determiners[-1] in SINGULAR:
                return True
    return False


def verbless(text: str, brief: CopyBrief) -> bool:
    """Whether a sentence with the product as its subject says nothing it does ("You'll
    love how this dress for busy workdays!"): the shop's phrases join there, since "this
    dress adds" and "a dress for work" both go on from "dress".

    >>> b = CopyBrief("statement piece", "Tops", ("unique",), "adult", "warm", "direct")
    >>> [verbless(t, b) for t in ("You'll love how this unique statement piece for work!",
    ...     "This unique statement piece adds a twist.", "Meet a unique statement piece for work.",
    ...     "Our unique statement piece.", "Unique statement piece. Buy it.",
    ...     "This unique statement piece now! Grab it now!")]
    [True, False, False, True, False, True]
    """
    head = words_of(brief.product)[-1]
    for sentence in _SENTENCES.findall(split_closing(text)[0].lower()):
        words = words_of(sentence)
        if head not in words:
            continue
        i = words.index(head)
        determiners = [w for w in words[max(0, i - 5) : i] if w in DETERMINERS]
        subject = bool(determiners) and determiners[-1] in SUBJECTS
        if subject and (i + 1 == len(words) or words[i + 1] in DESCRIBING | ENDING_WORDS):
            return True
    return False


def repeats_a_word(text: str) -> bool:
    """Whether a word longer than three letters comes twice ("a comfortable bralette that
    keeps you comfortable").

    >>> repeats_a_word("A soft, soft dress."), repeats_a_word("A soft dress for a day.")
    (True, False)
    """
    words = [w for w in words_of(text) if len(w) > 3]
    return len(words) != len(set(words))


def echoes_the_message(body: str, action: str | None) -> bool:
    """Whether the CTA's ending repeats a word of the message ("Elegant jacket for the
    weekend. Snag this look before the weekend!").

    >>> [echoes_the_message("For the weekend, this dress moves with you.", a)
    ...  for a in ("Buy it for the weekend.", "Buy yours now.")]
    [True, False]
    """
    ending = {w for w in words_of(action or "") if len(w) > 3} & ENDING_WORDS - DETERMINERS
    return bool(ending & set(words_of(body)))


def says_nothing(body: str, brief: CopyBrief) -> bool:
    """Whether copy only presents the product ("Say hello to a beautiful knit top!", "A
    refined, cute bralette.", "Pretty knit top."): it states no benefit.

    >>> b = CopyBrief("knit top", "Tops", ("pretty",), "adult", "warm", "direct")
    >>> says_nothing("Say hello to a pretty knit top!", b)
    True
    >>> says_nothing("A pretty knit top for work.", b)
    False
    >>> says_nothing("Pretty knit top.", b._replace(placement="headline"))
    True
    """
    presenting = set(words_of(" ".join((brief.product, *brief.attributes))))
    presenting |= DETERMINERS | SHOP_MODIFIERS | PRESENTING
    return set(words_of(body)) <= presenting


def shares_a_stem(text: str) -> bool:
    """Whether two different words share their first seven letters ("This beautiful skirt
    drapes beautifully").

    >>> shares_a_stem("A beautiful skirt that drapes beautifully."), shares_a_stem("A skirt.")
    (True, False)
    """
    stems = [w[:7] for w in set(words_of(text)) if len(w) >= 7]
    return len(stems) != len(set(stems))


def unlisted_feel(text: str, brief: CopyBrief) -> bool:
    """Whether ``text`` says the product feels a way its brief's attributes do not.

    >>> b = CopyBrief("sleep set", "Intimate", ("beautiful",), "adult", "warm", "direct")
    >>> unlisted_feel("It feels soft against your skin.", b)
    True
    >>> unlisted_feel("It feels soft against your skin.", b._replace(attributes=("soft",)))
    False
    """
    lower, unlisted = text.lower(), unlisted_feels(brief)
    return any(p in lower and feel in unlisted for p, feel in FEELS.items())


def listed_feels(brief: CopyBrief) -> frozenset[str]:
    """The words of ``brief``'s attributes that state a feel (:data:`FEEL_WORDS`).

    >>> sorted(listed_feels(CopyBrief("dress", "Dresses", ("soft", "pretty"), "adult", "warm",
    ...                                "direct")))
    ['soft']
    """
    return frozenset(words_of(" ".join(brief.attributes))) & FEEL_WORDS


def unlisted_feels(brief: CopyBrief) -> frozenset[str]:
    """The feels (:data:`LISTED_AS`) ``brief``'s attributes do not list: decoding never
    writes them.

    >>> unsaid = unlisted_feels(CopyBrief("dress", "Dresses", ("lightweight", "flowy"), "adult",
    ...                                   "warm", "direct"))
    >>> sorted(unsaid & {"light", "move", "drape", "soft", "skin", "polish", "shape"})
    ['polish', 'shape', 'skin', 'soft']
    """
    listed = set(words_of(" ".join(brief.attributes)))
    return frozenset(f for f, names in LISTED_AS.items() if not listed & set(names))


def flaw(text: str, brief: CopyBrief) -> str | None:
    """Why a finished variant reads badly, or None.

    >>> b = CopyBrief("fine-gauge sweater", "Tops", ("soft",), "adult", "warm", "direct",
    ...               "headline")
    >>> flaw("A soft sweater. Find it today.", b._replace(cta_style="soft"))
    'cta_style'
    >>> print(*(flaw(t, b) for t in ("This fine-gauge sweater feels soft. Shop now.",
    ...     "Comfortable. Buy now.", "Love it! Grab this sweater now!", "Sweater. Buy it now.",
    ...     "A friendly sweater. Buy now.", "Soft sweaters finish your look.",
    ...     "An soft sweater finishes your look.",
    ...     "A soft sweater, soft to wear. Buy now.", "A soft sweater, love-lively. Buy now.")))
    None off_brief off_brief bare unlisted_attribute agreement agreement repeated_word compound
    """
    body, action = split_closing(text)
    if action is not None and struck(action, brief.cta_style):
        return "cta_style"
    if not names_the_product(body, brief):  # the CTA's "Grab this sweater" is not copy
        return "off_brief"
    if set(words_of(body)) <= bare_words(brief) or says_nothing(body, brief):
        return "bare"  # "Sweater." names it and says nothing
    if unlisted_attribute(text, brief):
        return "unlisted_attribute"
    if unlisted_feel(text, brief):
        return "unlisted_feel"
    if disagrees_in_number(text, brief) or _ARTICLE.search(text):
        return "agreement"
    if verbless(text, brief):
        return "verbless"
    if repeats_a_word(body) or shares_a_stem(body) or echoes_the_message(body, action):
        return "repeated_word"
    own = " ".join(brief.fields()).lower()
    if any(c.lower() not in own for c in COMPOUND.findall(text)):
        return "compound"
    return None


def _bigrams(text: str) -> set[tuple[str, str]]:
    words = words_of(text)
    return set(zip(words, words[1:], strict=False))


def overlap(a: str, b: str) -> float:
    """Jaccard overlap of the two texts' word bigrams.

    >>> overlap("a soft dress", "a soft dress"), overlap("a soft dress", "shop it now")
    (1.0, 0.0)
    """
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / len(x | y) if x | y else 1.0


def best(texts: list[str], fluency: list[float], keep: int) -> list[int]:
    """Indices of the ``keep`` variants to serve, best first (see the module docstring).

    >>> texts = ["A soft dress. Shop now.", "A soft dress! Shop now.", "Hi there. Shop now."]
    >>> best(texts, [-2.0, -2.1, -2.5], 2)
    [0, 2]
    """
    chosen: list[int] = []
    left = list(range(len(texts)))
    while left and len(chosen) < keep:
        pick = max(
            left,
            key=lambda i: (
                fluency[i]
                - OVERLAP_PENALTY * max((overlap(texts[i], texts[j]) for j in chosen), default=0.0)
            ),
        )
        chosen.append(pick)
        left.remove(pick)
    return chosen
