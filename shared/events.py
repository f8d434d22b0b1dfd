"""The event contract: one typed, versioned model per topic.

Events are past-tense nouns. Unknown extra fields are ignored (producers may be newer
than consumers); missing or mistyped required fields are rejected. Timestamps are epoch
milliseconds. All event topics are keyed by ``ad_id`` so that an ad's impressions, clicks
and conversions share a partition and its element scores have one owner.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared import topics

Scalar = str | int | float | bool


class Event(BaseModel):
    """Fields every event carries."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)
    topic: ClassVar[str]

    event_id: str = Field(min_length=1, max_length=128)
    ts_ms: int = Field(ge=0, description="When it happened, epoch milliseconds.")
    ad_id: str = Field(min_length=1, max_length=128)

    def key(self) -> bytes:
        """The Kafka message key."""
        return self.ad_id.encode()


class ImpressionServed(Event):
    """An ad was shown with one chosen element per slot."""

    topic: ClassVar[str] = topics.IMPRESSIONS

    request_id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    elements: dict[str, str] = Field(
        min_length=1, description="Chosen element id per slot, e.g. {'title': 't3'}."
    )
    propensity: float = Field(gt=0, le=1, description="Probability the policy chose this.")
    segment: str = "all"
    context: dict[str, Scalar] = {}


class ClickRecorded(Event):
    """A user clicked the impression served for ``request_id``."""

    topic: ClassVar[str] = topics.CLICKS

    request_id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)


class ConversionRecorded(Event):
    """A user converted after the impression served for ``request_id``."""

    topic: ClassVar[str] = topics.CONVERSIONS

    request_id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    value: float = Field(ge=0)
    currency: str = "USD"


class CreativeRequested(Event):
    """An ad server asks for a personalised creative before ``deadline_ms``."""

    topic: ClassVar[str] = topics.CREATIVE_REQUESTS

    request_id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    product_id: str = Field(min_length=1)
    placement: str = Field(min_length=1, description="e.g. 'feed', 'search', 'banner'.")
    segment: str = "all"
    context: dict[str, Scalar] = {}
    deadline_ms: int = Field(ge=0)


class ElementScored(Event):
    """The reward model's current belief about one element for one ad and segment."""

    topic: ClassVar[str] = topics.ELEMENT_SCORES

    segment: str
    slot: str
    element_id: str
    score: float = Field(description="Posterior mean click probability.")
    uncertainty: float = Field(ge=0, description="Posterior standard deviation.")
    observations: float = Field(ge=0)
    conversion_score: float = Field(
        default=0.0, ge=0, le=1, description="Value-weighted conversion probability per impression."
    )
    model_version: str

    def key(self) -> bytes:
        """Compaction keeps the latest score per ad, segment and element."""
        return self.key_of(self.ad_id, self.segment, self.slot, self.element_id)

    @staticmethod
    def key_of(ad_id: str, segment: str, slot: str, element_id: str) -> bytes:
        """The message key of a score, from its identifying fields."""
        return f"{ad_id}|{segment}|{slot}|{element_id}".encode()


class RecommendationPublished(Event):
    """The creative chosen for a request: one element per slot plus generated copy."""

    topic: ClassVar[str] = topics.RECOMMENDATIONS

    request_id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    elements: dict[str, str]
    copy_text: dict[str, str] = {}
    propensity: float = Field(gt=0, le=1)
    model_versions: dict[str, str] = {}


EVENT_TYPES: tuple[type[Event], ...] = (
    ImpressionServed,
    ClickRecorded,
    ConversionRecorded,
    CreativeRequested,
    ElementScored,
    RecommendationPublished,
)
BY_TOPIC: dict[str, type[Event]] = {cls.topic: cls for cls in EVENT_TYPES}
