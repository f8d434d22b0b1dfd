"""Topic names: ``adcraft.<name>.v1``; a breaking schema change gets a new version."""

from __future__ import annotations

IMPRESSIONS = "adcraft.impression-served.v1"
CLICKS = "adcraft.click-recorded.v1"
CONVERSIONS = "adcraft.conversion-recorded.v1"
CREATIVE_REQUESTS = "adcraft.creative-requested.v1"
ELEMENT_SCORES = "adcraft.element-scores.v1"
RECOMMENDATIONS = "adcraft.recommendation.v1"
DEAD_LETTER = "adcraft.dead-letter.v1"

ALL = (
    IMPRESSIONS,
    CLICKS,
    CONVERSIONS,
    CREATIVE_REQUESTS,
    ELEMENT_SCORES,
    RECOMMENDATIONS,
    DEAD_LETTER,
)
COMPACTED = (ELEMENT_SCORES,)
