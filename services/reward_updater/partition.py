"""One input partition's state: offsets, event-time clocks, join buffers and reward model.

Impressions, clicks and conversions are keyed by ad and co-partitioned, so partition ``p``
of the three topics holds whole ads: its model and buffers depend on nothing else, and are
checkpointed together with the offsets they reflect.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from confluent_kafka import Message

from services.reward_updater.join import (
    IMPRESSION,
    KINDS,
    NOTHING,
    AttributionJoiner,
    Rejection,
    merge,
)
from services.reward_updater.reward_model import ElementRewardModel
from shared import codec, topics
from shared.catalog import AdCatalog
from shared.codec import DecodeError
from shared.dead_letter import Source
from shared.events import (
    ClickRecorded,
    ConversionRecorded,
    ImpressionServed,
)
from shared.score_store import ScoreKey, ScoreStore, StateWrite
from shared.settings import RewardSettings

INPUTS = {
    topics.IMPRESSIONS: ImpressionServed,
    topics.CLICKS: ClickRecorded,
    topics.CONVERSIONS: ConversionRecorded,
}
_READERS = {
    topic: (KINDS[event_type], codec.reader(event_type)) for topic, event_type in INPUTS.items()
}


class PartitionState:
    """Applies messages of one partition exactly once and learns from their labels."""

    def __init__(self, partition: int, catalog: AdCatalog, config: RewardSettings) -> None:
        self.partition = partition
        self.catalog = catalog
        self.lateness = config.allowed_lateness_ms
        self.joiner = AttributionJoiner(
            config.click_window_ms,
            config.conversion_window_ms,
            config.hold_ms,
            config.learn_interval_ms,
            config.conversion_negative_rate,
            config.conversion_learn_interval_ms,
        )
        self.model = ElementRewardModel(
            catalog.ads,
            config.prior_variance,
            config.pair_prior_variance,
            config.forgetting,
            config.value_scale,
        )
        self.offsets: dict[str, int] = {}
        self.max_ts: dict[str, int] = {}
        self.learned: dict[str, int] = {"click": 0, "conversion": 0}
        self.dirty: set[tuple[str, str]] = set()

    def apply(self, message: Message) -> Sequence[Rejection]:
        """Apply one consumed message of this partition; one at an offset already applied
        is ignored."""
        topic, offset = message.topic(), message.offset()
        if offset < self.offsets.get(topic, 0):  # type: ignore[operator]
            return NOTHING
        self.offsets[topic] = offset + 1  # type: ignore[index,operator]
        kind, read = _READERS[topic]  # type: ignore[index]
        try:
            event = read(message.value())
        except DecodeError as exc:
            return [Rejection("decode", exc.reason, Source.of(message))]
        if kind == IMPRESSION:
            shown = (event.ad_id, event.segment, tuple(event.elements.items()))
            bag = self.joiner.bag_ids.get(shown)
            if bag is None:
                reason = self.catalog.unknown(event.ad_id, event.elements)
                if reason is not None:
                    return [_unknown(reason, message)]
                bag = self.joiner.bag_id(shown)
        elif event.ad_id not in self.catalog.ads:
            return [_unknown(f"unknown ad {event.ad_id!r}", message)]
        if event.ts_ms > self.max_ts.get(topic, -1):
            self.max_ts[topic] = event.ts_ms
        if kind == IMPRESSION:
            return self.joiner.impression(event, bag, message)
        return self.joiner.feedback(kind, event, message)

    def watermark(self, idle: set[str]) -> int | None:
        """Event time every busy input has reached (None while one has told us nothing);
        inputs that are caught up do not hold it back."""
        busy = [topic for topic in INPUTS if topic not in idle]
        if not busy:
            return max(self.max_ts.values(), default=None)
        if any(topic not in self.max_ts for topic in busy):
            return None
        return min(self.max_ts[topic] for topic in busy)

    def advance(self, idle: set[str]) -> list[Rejection]:
        """Move event time forward; learn from every released batch."""
        watermark = self.watermark(idle)
        if watermark is None:
            return []
        batches, rejections = self.joiner.advance(watermark - self.lateness)
        for batch in batches:
            self.dirty |= self.model.learn(batch)
            clicks = sum(1 for example in batch if example.kind == "click")
            self.learned["click"] += clicks
            self.learned["conversion"] += len(batch) - clicks
        return rejections

    def scores(self) -> list[tuple[ScoreKey, bytes]]:
        """Encoded :class:`ElementScored` of every (ad, segment) that learned since the last
        call, each with its (ad, segment, slot, element id)."""
        version = f"p{self.partition}-{self.learned['click']}-{self.learned['conversion']}"
        keys, estimates = self.model.estimates(sorted(self.dirty))
        self.dirty.clear()
        ts = max(self.joiner.watermark, 0)
        return [
            (
                (ad, segment, slot, element),
                codec.encode_fields(
                    {
                        "event_id": f"{ad}|{segment}|{slot}|{element}|{version}",
                        "ts_ms": ts,
                        "ad_id": ad,
                        "segment": segment,
                        "slot": slot,
                        "element_id": element,
                        "score": score,
                        "uncertainty": std,
                        "observations": seen,
                        "conversion_score": conversion,
                        "model_version": version,
                    }
                ),
            )
            for (ad, segment, slot, element), (score, std, seen, conversion) in zip(
                keys, estimates, strict=True
            )
        ]

    def checkpoint(self, snapshot: bool) -> StateWrite:
        """What changed since the last checkpoint, for one atomic write with the scores;
        with ``snapshot`` the pending join entries are written whole and the log reset."""
        meta = orjson.dumps(
            {
                "offsets": self.offsets,
                "max_ts": self.max_ts,
                "learned": self.learned,
                "dirty": sorted(self.dirty),
                "watermark": self.joiner.watermark,
                "counts": self.joiner.counts,
                "registered": self.model.registered,
            }
        )
        blobs = {"meta": meta, "model": self.model.to_bytes()}
        if snapshot:
            blobs["pending"] = orjson.dumps(self.joiner.entries())
            return StateWrite(blobs=blobs, reset_log=True)
        return StateWrite(blobs=blobs, log_chunk=orjson.dumps(self.joiner.changes()))

    def restore(self, store: ScoreStore, name: str) -> bool:
        """Load the checkpoint called ``name``; False if there is none."""
        meta_blob = store.load_blob(name, "meta")
        model_blob = store.load_blob(name, "model")
        if meta_blob is None or model_blob is None:
            return False
        meta = orjson.loads(meta_blob)
        self.offsets, self.max_ts, self.learned = meta["offsets"], meta["max_ts"], meta["learned"]
        self.dirty = {(ad, segment) for ad, segment in meta["dirty"]}
        self.model.load_bytes([tuple(pair) for pair in meta["registered"]], model_blob)
        empty = b'{"shown":{},"held":{},"bags":[]}'
        entries = orjson.loads(store.load_blob(name, "pending") or empty)
        for chunk in store.load_log(name):
            merge(entries, orjson.loads(chunk))
        self.joiner.restore(meta["watermark"], entries, meta["counts"])
        return True


def _unknown(reason: str, message: Message) -> Rejection:
    kind = "unknown_ad" if reason.startswith("unknown ad") else "unknown_element"
    return Rejection(kind, reason, Source.of(message))
