"""Topic names: ``adcraft.<name>.v1``; a breaking schema change gets a new version."""

from __future__ import annotations

from dataclasses import astuple, dataclass
from typing import Self

IMPRESSIONS = "adcraft.impression-served.v1"
CLICKS = "adcraft.click-recorded.v1"
CONVERSIONS = "adcraft.conversion-recorded.v1"
CREATIVE_REQUESTS = "adcraft.creative-requested.v1"
ELEMENT_SCORES = "adcraft.element-scores.v1"
RECOMMENDATIONS = "adcraft.recommendation.v1"
AD_CATALOG = "adcraft.ad-catalog.v1"
DEAD_LETTER = "adcraft.dead-letter.v1"

ALL = (
    IMPRESSIONS,
    CLICKS,
    CONVERSIONS,
    CREATIVE_REQUESTS,
    ELEMENT_SCORES,
    RECOMMENDATIONS,
    AD_CATALOG,
    DEAD_LETTER,
)
COMPACTED = (ELEMENT_SCORES, AD_CATALOG)


class _Prefixed:
    """Topic sets that tests give their own names on a shared broker."""

    @classmethod
    def prefixed(cls, prefix: str) -> Self:
        """Every topic name with ``prefix.`` in front.

        >>> RewardTopics.prefixed("test-1").clicks
        'test-1.adcraft.click-recorded.v1'
        """
        names = {field: f"{prefix}.{name}" for field, name in vars(cls()).items()}
        return cls(**names)  # type: ignore[call-arg]  # the dataclass's own fields


@dataclass(frozen=True)
class RewardTopics(_Prefixed):
    """The topics one reward worker reads and writes: the defaults in production; tests
    give each worker its own (:meth:`prefixed`) on a shared broker."""

    impressions: str = IMPRESSIONS
    clicks: str = CLICKS
    conversions: str = CONVERSIONS
    catalog: str = AD_CATALOG
    scores: str = ELEMENT_SCORES
    dead_letter: str = DEAD_LETTER

    @property
    def events(self) -> tuple[str, str, str]:
        """The event inputs: impressions, clicks, conversions."""
        return self.impressions, self.clicks, self.conversions

    @property
    def inputs(self) -> tuple[str, str, str, str]:
        """The co-partitioned inputs: the events, then the catalogue (a table)."""
        return *self.events, self.catalog

    def of(self, canonical: str) -> str:
        """This worker's name for the topic named ``canonical`` by default.

        >>> RewardTopics.prefixed("t").of(CLICKS)
        't.adcraft.click-recorded.v1'
        """
        return dict(zip(astuple(RewardTopics()), astuple(self), strict=True))[canonical]


@dataclass(frozen=True)
class RequestTopics(_Prefixed):
    """The topics one request worker reads and writes (tests prefix them as
    :meth:`RewardTopics.prefixed` does)."""

    requests: str = CREATIVE_REQUESTS
    recommendations: str = RECOMMENDATIONS
    catalog: str = AD_CATALOG
    dead_letter: str = DEAD_LETTER
