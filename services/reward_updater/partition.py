"""One input partition's state: offsets, event-time clocks, join buffers and reward model.

Impressions, clicks and conversions are keyed by ad and co-partitioned, so partition ``p``
of the three topics holds whole ads: its model and buffers depend on nothing else, and are
checkpointed together with the offsets they reflect.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Sequence
from typing import NamedTuple

import orjson
from confluent_kafka import Message

from services.reward_updater.exceptions import OffsetRewound
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
from shared.checkpoint_store import Checkpoint, StateWrite
from shared.codec import DecodeError
from shared.events import (
    ClickRecorded,
    ConversionRecorded,
    ElementScored,
    Event,
    ImpressionServed,
)
from shared.score_store import ScoreKey
from shared.settings import RewardSettings
from shared.sources import Source

INPUTS: dict[str, type[Event]] = {
    topics.IMPRESSIONS: ImpressionServed,
    topics.CLICKS: ClickRecorded,
    topics.CONVERSIONS: ConversionRecorded,
}
_write_score = codec.writer(ElementScored)
# Per input, in RewardTopics.inputs order: its join kind and its decoder.
_READERS = [(KINDS[event_type], codec.reader(event_type)) for event_type in INPUTS.values()]


class Refresh(NamedTuple):
    """Encoded :class:`ElementScored`, each with its (ad, segment, slot, element id), and
    encoded :class:`~shared.posteriors.AdPosterior`, each with its ad and segment."""

    scores: list[tuple[ScoreKey, bytes]]
    posteriors: list[tuple[str, str, bytes]]


class PartitionState:
    """Applies messages of one partition exactly once and learns from their labels.

    Restored from a checkpoint, it expects the first message of each input to be the last
    one it applied (the worker seeks one back): a different message, or any offset below
    the applied ones, means the log was rewound under it (:class:`OffsetRewound`).
    """

    def __init__(
        self,
        partition: int,
        catalog: AdCatalog,
        config: RewardSettings,
        inputs: tuple[str, str, str] = tuple(INPUTS),  # type: ignore[assignment]
    ) -> None:
        self.partition = partition
        self._readers = dict(zip(inputs, _READERS, strict=True))
        self.catalog = catalog
        self.lateness = config.allowed_lateness_ms
        self.future_skew_ms = config.max_future_skew_ms
        self.max_segments = config.max_segments_per_ad
        self.now_ms = 0
        self.tick()
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
        # The last message applied per input (its fingerprint, once restored), and the
        # fingerprints still to be seen again before anything new is applied.
        self.tail: dict[str, Message] = {}
        self.tail_restored: dict[str, int] = {}
        self.unverified: dict[str, int] = {}
        self.segments: dict[str, set[str]] = {}

    def tick(self, now_ms: int | None = None) -> None:
        """Set the wall clock that stands in for a message without a Kafka timestamp."""
        self.now_ms = int(time.time() * 1000) if now_ms is None else now_ms

    def apply(self, message: Message) -> Sequence[Rejection]:
        """Apply one consumed message of this partition; the last one already applied,
        seen again after a restore, is checked and ignored."""
        # A consumed message always has both (typing.cast would cost a call per event).
        topic: str = message.topic()  # type: ignore[assignment]
        offset: int = message.offset()  # type: ignore[assignment]
        if (self.unverified or offset < self.offsets.get(topic, 0)) and self._seen_before(
            topic, offset, message
        ):
            return NOTHING
        self.offsets[topic] = offset + 1
        self.tail[topic] = message
        kind, read = self._readers[topic]
        try:
            event = read(message.value())
        except DecodeError as exc:
            return [Rejection("decode", exc.reason, Source.of(message))]
        # Ahead of the message's own Kafka timestamp (stored in the log: a replay decides
        # the same way), or of the wall clock when it has none.
        stamp = message.timestamp()[1]
        if event.ts_ms > (stamp if stamp > 0 else self.now_ms) + self.future_skew_ms:
            ahead = f"event time {event.ts_ms} is over {self.future_skew_ms} ms in the future"
            return [Rejection("future", ahead, Source.of(message))]
        if kind == IMPRESSION:
            shown = (event.ad_id, event.segment, tuple(event.elements.items()))
            bag = self.joiner.bag_ids.get(shown, -1)
            if bag < 0:
                reason = self._unshowable(event.ad_id, event.segment, event.elements)
                if reason is not None:
                    return [_unknown(reason, message)]
                bag = self._add_bag(shown)
        elif event.ad_id not in self.catalog.ads:
            return [_unknown(f"unknown ad {event.ad_id!r}", message)]
        if event.ts_ms > self.max_ts.get(topic, -1):
            self.max_ts[topic] = event.ts_ms
        if kind == IMPRESSION:
            return self.joiner.impression(event, bag, message)
        return self.joiner.feedback(kind, event, message)

    def _seen_before(self, topic: str, offset: int, message: Message) -> bool:
        """Whether ``message`` is the last one applied, seen again after a restore; raise
        :class:`OffsetRewound` if the log below the applied offsets changed."""
        applied = self.offsets.get(topic, 0)
        expected = self.unverified.pop(topic, None)
        if expected is None and offset >= applied:
            return False
        where = f"partition {self.partition} of {topic}"
        if offset != applied - 1:
            raise OffsetRewound(
                f"{where}: offset {offset} arrived where the checkpoint, applied up to "
                f"{applied}, expected {applied - 1}: the broker lost or rewound the log"
            )
        if expected is not None and _fingerprint(message) != expected:
            raise OffsetRewound(f"{where}: offset {offset} holds another message than applied")
        return True

    def _unshowable(self, ad: str, segment: str, elements: dict[str, str]) -> str | None:
        reason = self.catalog.unknown(ad, elements)
        known = self.segments.get(ad, ())
        if reason is None and segment not in known and len(known) >= self.max_segments:
            return f"ad {ad!r} already has {self.max_segments} segments"
        return reason

    def _add_bag(self, shown: tuple) -> int:
        self.segments.setdefault(shown[0], set()).add(shown[1])
        return self.joiner.bag_id(shown)

    def watermark(self, idle: set[str]) -> int | None:
        """Event time every busy input has reached (None while one has told us nothing);
        inputs that are caught up do not hold it back."""
        busy = [topic for topic in self._readers if topic not in idle]
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

    def refresh(self) -> Refresh:
        """What changed for every (ad, segment) that learned since the last call."""
        version = f"p{self.partition}-{self.learned['click']}-{self.learned['conversion']}"
        dirty = sorted(self.dirty)
        self.dirty.clear()
        keys, estimates = self.model.estimates(dirty)
        ts = max(self.joiner.watermark, 0)
        scores = [
            (
                (ad, segment, slot, element),
                _write_score(
                    event_id=f"{ad}|{segment}|{slot}|{element}|{version}",
                    ts_ms=ts,
                    ad_id=ad,
                    segment=segment,
                    slot=slot,
                    element_id=element,
                    score=score,
                    uncertainty=std,
                    observations=seen,
                    conversion_score=conversion,
                    model_version=version,
                ),
            )
            for (ad, segment, slot, element), (score, std, seen, conversion) in zip(
                keys, estimates, strict=True
            )
        ]
        posteriors = [
            (posterior.ad_id, posterior.segment, posterior.encode())
            for posterior in self.model.posteriors(dirty, version)
        ]
        return Refresh(scores, posteriors)

    def checkpoint(self, snapshot: bool) -> StateWrite:
        """What changed since the last checkpoint, for one atomic write with the scores;
        with ``snapshot`` the pending join entries are written whole and the log reset."""
        meta = orjson.dumps(
            {
                "offsets": self.offsets,
                "max_ts": self.max_ts,
                "learned": self.learned,
                "watermark": self.joiner.watermark,
                "counts": self.joiner.counts,
                "registered": self.model.registered,
                "tail": self.tail_restored
                | {topic: _fingerprint(message) for topic, message in self.tail.items()},
            }
        )
        blobs = {"meta": meta, "model": self.model.to_bytes()}
        if snapshot:
            blobs["pending"] = orjson.dumps(self.joiner.entries())
            return StateWrite(blobs=blobs, reset_log=True)
        return StateWrite(blobs=blobs, log_chunk=orjson.dumps(self.joiner.changes()))

    def restore(self, checkpoint: Checkpoint) -> None:
        """Continue from ``checkpoint``; every (ad, segment) it knows is published again,
        over whatever an earlier owner of the partition wrote last."""
        meta = orjson.loads(checkpoint.meta)
        self.offsets, self.max_ts, self.learned = meta["offsets"], meta["max_ts"], meta["learned"]
        self.tail_restored = dict(meta["tail"])
        self.unverified = dict(meta["tail"])
        registered = [(ad, segment) for ad, segment in meta["registered"]]
        self.model.load_bytes(registered, checkpoint.model)
        self.dirty = set(registered)
        entries = orjson.loads(checkpoint.pending or b'{"shown":{},"held":{},"bags":[]}')
        for chunk in checkpoint.log:
            merge(entries, orjson.loads(chunk))
        self.joiner.restore(meta["watermark"], entries, meta["counts"])
        for ad, segment, _ in self.joiner.bags:
            self.segments.setdefault(ad, set()).add(segment)


def _fingerprint(message: Message) -> int:
    """What identifies a message at an offset: a checksum of its key and value."""
    return zlib.crc32(message.value() or b"", zlib.crc32(message.key() or b""))


def _unknown(reason: str, message: Message) -> Rejection:
    if reason.startswith("unknown ad"):
        kind = "unknown_ad"
    elif reason.endswith("segments"):
        kind = "segment_limit"
    else:
        kind = "unknown_element"
    return Rejection(kind, reason, Source.of(message))
