"""The four topics' events as an export table (:mod:`.export`), pure: impressions,
clicks, conversions, and recommendations to name the arm of an impression whose ad server
did not echo it (a v1 producer). Each event counts once however often it was delivered;
a message that is not a valid event, an impression outside any experiment and a click or
conversion without its impression are skipped and counted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import orjson
import pandas as pd

from adcraft.services.experiments.export import COLUMNS
from adcraft.shared.contract import codec
from adcraft.shared.contract.events import (
    ClickRecorded,
    ConversionRecorded,
    ImpressionServed,
    RecommendationPublished,
)

_READ = {
    cls.topic: codec.reader(cls)
    for cls in (ImpressionServed, ClickRecorded, ConversionRecorded, RecommendationPublished)
}


def table(
    messages: Iterable[tuple[str, bytes | None]], kinds: dict[str, str]
) -> tuple[pd.DataFrame, Counter[str]]:
    """The export of ``messages`` ((topic, value) pairs); ``kinds`` names each topic's kind
    (``impression``, ``click``, ``conversion``, ``recommendation``). Returns the table and
    the count of skipped messages by topic kind."""
    skipped: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    impressions, outcomes, answers = [], [], {}
    for topic, value in messages:
        kind = kinds[topic]
        try:
            event = _READ[_TOPIC_OF[kind]](value)
        except codec.DecodeError:
            skipped[kind] += 1
            continue
        if (kind, event.event_id) in seen:
            continue
        seen.add((kind, event.event_id))
        if kind == "recommendation":
            answers[event.request_id] = event
        elif kind == "impression":
            impressions.append(event)
        else:
            outcomes.append((kind, event))
    rows = [_impression(event, answers.get(event.request_id)) for event in impressions]
    skipped["outside_experiments"] = sum(not row[5] for row in rows)
    rows = [row for row in rows if row[5]]
    shown = {row[2] for row in rows}
    for kind, e in outcomes:
        if e.request_id not in shown:  # of an impression outside experiments, or not kept
            skipped[f"{kind}_without_impression"] += 1
            continue
        worth = getattr(e, "value", 0.0)
        rows.append((kind, e.event_id, e.request_id, e.user_id, e.ts_ms, *[""] * 6, worth))
    return pd.DataFrame(rows, columns=COLUMNS), +skipped


_TOPIC_OF = {
    "impression": ImpressionServed.topic,
    "click": ClickRecorded.topic,
    "conversion": ConversionRecorded.topic,
    "recommendation": RecommendationPublished.topic,
}


def _impression(event: ImpressionServed, answer: RecommendationPublished | None) -> tuple:
    """An impression's row; its experiment fields from the recommendation when it has none."""
    echoed = bool(event.experiment)
    source = event if echoed or answer is None else answer
    variants = dict(event.copy_variant if echoed else getattr(answer, "copy_variant", {}))
    return (
        "impression",
        event.event_id,
        event.request_id,
        event.user_id,
        event.ts_ms,
        source.experiment,
        source.arm if source.experiment else "",
        source.path if source.experiment else "",
        event.segment,
        orjson.dumps(variants).decode(),
        orjson.dumps(dict(event.elements)).decode(),
        0.0,
    )
