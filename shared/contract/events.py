"""The event contract: one typed, versioned model per topic.

Events are past-tense nouns. Unknown extra fields are ignored (producers may be newer
than consumers); missing or mistyped required fields are rejected, and so is any value
outside its bounds: every string, collection and number a producer sends is bounded here,
so no consumer meets an unbounded or non-finite one. Timestamps are epoch milliseconds. All
event topics are keyed by ``ad_id`` so that an ad's impressions, clicks and conversions share
a partition and its element scores have one owner.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, TypedDict

from annotated_types import Ge, Gt, Le, MaxLen, MinLen
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from adcraft.shared.contract import topics
from adcraft.shared.contract.copy_contract import CTA_STYLES, TONES
from adcraft.shared.contract.text import printable

MAX_ID_LEN = 128
MAX_NAME_LEN = 64
MAX_TEXT_LEN = 256
MAX_COPY_LEN = 1_024
MAX_ENTRIES = 32
MAX_TS_MS = 10**13
"""Epoch milliseconds of the year 2286: far enough, and every later sum stays in 64 bits."""
MAX_DEADLINE_MS = 3_600_000
MAX_CONVERSION_VALUE = 1e9

Id = Annotated[str, MinLen(1), MaxLen(MAX_ID_LEN)]
"""Event, ad, request, user, product and element ids, and slot names."""
Name = Annotated[str, MinLen(1), MaxLen(MAX_NAME_LEN)]
"""Segments, placements, currencies and the keys of small maps."""
OptionalName = Annotated[str, MaxLen(MAX_NAME_LEN)]
"""A name that is empty when it does not apply (an impression outside any experiment)."""
Variants = Annotated[dict[Name, Id], MaxLen(MAX_ENTRIES)]
"""Variant id of each slot's copy."""
Text = Annotated[str, MaxLen(MAX_TEXT_LEN)]
Copy = Annotated[str, MaxLen(MAX_COPY_LEN)]
Int64 = Annotated[int, Ge(-(2**63)), Le(2**63 - 1)]
TimestampMs = Annotated[int, Ge(0), Le(MAX_TS_MS)]
Probability = Annotated[float, Gt(0), Le(1)]
Scalar = Text | Int64 | float | bool
Slots = Annotated[dict[Id, Id], MinLen(1), MaxLen(MAX_ENTRIES)]
"""Chosen element id per slot, e.g. ``{'title': 't3'}``."""
Context = Annotated[dict[Name, Scalar], MaxLen(MAX_ENTRIES)]


class Event(BaseModel):
    """Fields every event carries."""

    # allow_inf_nan=False: pydantic's JSON parser reads NaN and Infinity (and 1e400 as inf).
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True, allow_inf_nan=False)
    topic: ClassVar[str]

    event_id: Id
    ts_ms: TimestampMs = Field(description="When it happened, epoch milliseconds.")
    ad_id: Id

    def key(self) -> bytes:
        """The Kafka message key."""
        return self.ad_id.encode()


class ImpressionServed(Event):
    """An ad was shown with one chosen element per slot."""

    topic: ClassVar[str] = topics.IMPRESSIONS

    request_id: Id
    user_id: Id
    elements: Slots
    propensity: Probability = Field(description="Probability the policy chose this.")
    segment: Name = "all"
    context: Context = {}
    # Echoed from the recommendation (v2; a v1 impression reads as outside any experiment),
    # so that every click and conversion can be traced to the arm that served it.
    experiment: OptionalName = Field(default="", description="The experiment's name, or ''.")
    arm: OptionalName = Field(default="", description="The experiment arm that answered.")
    path: OptionalName = Field(default="", description="model, or the fallback that answered.")
    copy_variant: Variants = Field(default={}, description="Variant id of each slot's copy.")


class Who(TypedDict):
    """The fields an impression's click and conversion repeat from it."""

    ad_id: str
    request_id: str
    user_id: str


class ClickRecorded(Event):
    """A user clicked the impression served for ``request_id``."""

    topic: ClassVar[str] = topics.CLICKS

    request_id: Id
    user_id: Id


class ConversionRecorded(Event):
    """A user converted after the impression served for ``request_id``."""

    topic: ClassVar[str] = topics.CONVERSIONS

    request_id: Id
    user_id: Id
    value: float = Field(ge=0, le=MAX_CONVERSION_VALUE)
    currency: Name = "USD"


class CreativeRequested(Event):
    """An ad server asks for a personalised creative before ``deadline_ms``."""

    topic: ClassVar[str] = topics.CREATIVE_REQUESTS

    request_id: Id
    user_id: Id
    product_id: Id
    placement: Name = Field(description="e.g. 'feed', 'search', 'banner'.")
    segment: Name = "all"
    context: Context = {}
    deadline_ms: int = Field(ge=0, le=MAX_DEADLINE_MS)


class ElementScored(Event):
    """The reward model's current belief about one element for one ad and segment."""

    topic: ClassVar[str] = topics.ELEMENT_SCORES

    # Names the ad, segment, slot, element and model version it was computed from.
    event_id: Annotated[str, MinLen(1), MaxLen(5 * MAX_ID_LEN)]
    segment: Name
    slot: Id
    element_id: Id
    score: float = Field(description="Posterior mean click probability.")
    uncertainty: float = Field(ge=0, description="Posterior standard deviation.")
    observations: float = Field(ge=0)
    conversion_score: float = Field(
        default=0.0, ge=0, le=1, description="Value-weighted conversion probability per impression."
    )
    model_version: Id

    def key(self) -> bytes:
        """Compaction keeps the latest score per ad, segment and element."""
        return self.key_of(self.ad_id, self.segment, self.slot, self.element_id)

    @staticmethod
    def key_of(ad_id: str, segment: str, slot: str, element_id: str) -> bytes:
        """The message key of a score, from its identifying fields."""
        return f"{ad_id}|{segment}|{slot}|{element_id}".encode()


class RecommendationPublished(Event):
    """The creative chosen for a request: one element per slot plus its copy, how it was
    chosen, and why (an ad server may show ``contributions`` as the explanation).

    ``event_id`` is the request id: a request answered twice (at-least-once) publishes the
    same recommendation, so consumers dedupe by it.
    """

    topic: ClassVar[str] = topics.RECOMMENDATIONS

    request_id: Id
    user_id: Id
    segment: Name = "all"
    elements: Slots
    copy_text: Annotated[dict[Name, Copy], MaxLen(MAX_ENTRIES)] = {}
    copy_variant: Variants = Field(
        default={}, description="Variant id of each slot's copy (CTR per variant)."
    )
    copy_source: Name = Field(default="none", description="cache, fresh or template.")
    propensity: Probability
    experiment: OptionalName = Field(default="", description="The experiment's name, or ''.")
    arm: Name = "default"
    path: Name = Field(default="model", description="model, or the fallback that answered.")
    reason: Text = Field(default="", description="Why a fallback answered.")
    contributions: Annotated[dict[Id, float], MaxLen(MAX_ENTRIES)] = Field(
        default={},
        description="Per slot, its element's logit contribution to the predicted click "
        "probability, against the slot's average candidate.",
    )
    model_versions: Annotated[dict[Name, Id], MaxLen(MAX_ENTRIES)] = {}


_Printable = AfterValidator(printable)
ListedId = Annotated[Id, _Printable]
ListedName = Annotated[Name, _Printable]
ListedText = Annotated[Text, _Printable]
Elements = Annotated[list[ListedId], MinLen(1), MaxLen(MAX_ENTRIES)]


class AdListed(Event):
    """An ad's catalogue entry: its product facts and the candidate elements of each slot.
    The latest per ``ad_id`` wins. The ``copy`` slot's elements are copy styles
    ``tone/cta_style`` (see :mod:`adcraft.shared.contract.copy_contract`); ``default`` is the
    creative served when nothing else can be (the first element of each slot if not given).

    Catalogue text is untrusted: no field may hold a control, zero-width or bidi character
    (:func:`~adcraft.shared.contract.text.printable`); the copy path also leaves out facts that read
    as markup or as an instruction (:func:`~adcraft.shared.contract.text.usable_fact`).
    """

    topic: ClassVar[str] = topics.AD_CATALOG

    ad_id: ListedId
    product_id: ListedId
    product: ListedName = Field(description="What it is, as copy names it: 'dress'.")
    department: ListedName
    attributes: Annotated[list[ListedName], MaxLen(MAX_ENTRIES)] = []
    highlights: Annotated[list[ListedText], MaxLen(MAX_ENTRIES)] = []
    slots: Annotated[dict[ListedId, Elements], MinLen(1), MaxLen(MAX_ENTRIES)]
    default: Annotated[dict[ListedId, ListedId], MaxLen(MAX_ENTRIES)] = {}

    @model_validator(mode="after")
    def _consistent(self) -> AdListed:
        for slot, elements in self.slots.items():
            if len(set(elements)) != len(elements):
                raise ValueError(f"slot {slot!r} lists an element twice")
        for slot, element in self.default.items():
            if element not in self.slots.get(slot, ()):
                raise ValueError(f"default {element!r} is not a candidate of slot {slot!r}")
        for style in self.slots.get(COPY_SLOT, ()):
            tone, _, cta = style.partition("/")
            if tone not in TONES or cta not in CTA_STYLES:
                raise ValueError(f"copy style {style!r} is not tone/cta_style")
        return self

    def default_creative(self) -> dict[str, str]:
        """The creative served when nothing else can be."""
        return {slot: self.default.get(slot, elements[0]) for slot, elements in self.slots.items()}


COPY_SLOT = "copy"
"""The slot whose elements are copy styles."""


EVENT_TYPES: tuple[type[Event], ...] = (
    ImpressionServed,
    ClickRecorded,
    ConversionRecorded,
    CreativeRequested,
    ElementScored,
    RecommendationPublished,
    AdListed,
)
BY_TOPIC: dict[str, type[Event]] = {cls.topic: cls for cls in EVENT_TYPES}
