"""One input partition's state: offsets, event-time clocks, join buffers, the catalogue
table and the reward model.

Impressions, clicks, conversions and catalogue listings are keyed by ad and co-partitioned,
so partition ``p`` of the four topics holds whole ads: its model and buffers depend on
nothing else, and are checkpointed together with the offsets they reflect.

The catalogue is a table here (:mod:`~adcraft.services.reward_updater.catalog_table`), applied in
event-time order, so a replay decides the same way however the four inputs interleave:

- an event naming an ad or element not listed by its time waits until event time has passed
  it (every busy input, the catalogue included, has reached it; a caught-up catalogue holds
  it for ``catalog_grace_ms``, or until a listing comes), then is applied or dead-lettered;
- the reward model takes a listing's new elements before it learns the first batch that
  ends after the listing's time, never earlier or later.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson
from confluent_kafka import Message

from adcraft.services.reward_updater import rewind
from adcraft.services.reward_updater.catalog_table import ALWAYS, CatalogTable
from adcraft.shared.adapters.checkpoint_store import Checkpoint, StateWrite
from adcraft.shared.adapters.score_store import ScoreKey
from adcraft.shared.contract import codec, topics
from adcraft.shared.contract.catalog import AdCatalog
from adcraft.shared.contract.codec import DecodeError
from adcraft.shared.contract.events import (
    AdListed,
    ClickRecorded,
    ConversionRecorded,
    ElementScored,
    Event,
    ImpressionServed,
)
from adcraft.shared.contract.sources import Consumed, Source
from adcraft.shared.rewards.join import (
    IMPRESSION,
    KINDS,
    NOTHING,
    AttributionJoiner,
    Rejection,
    merge,
)
from adcraft.shared.rewards.reward_model import ElementRewardModel
from adcraft.shared.runtime.settings import RewardSettings

INPUTS: dict[str, type[Event]] = {
    topics.IMPRESSIONS: ImpressionServed,
    topics.CLICKS: ClickRecorded,
    topics.CONVERSIONS: ConversionRecorded,
    topics.AD_CATALOG: AdListed,
}
LISTING = -1  # the catalogue's kind beside the join's
MAX_AWAITING = 10_000  # events waiting for the catalogue; past this they are dead-lettered
_write_score = codec.writer(ElementScored)
# Per input, in RewardTopics.inputs order: its kind and its decoder.
_READERS = [
    (KINDS.get(event_type, LISTING), codec.reader(event_type)) for event_type in INPUTS.values()
]


class Refresh(NamedTuple):
    """Encoded :class:`ElementScored`, each with its (ad, segment, slot, element id), and
    encoded :class:`~adcraft.shared.contract.posteriors.AdPosterior`, each with its ad and segment,
    computed from the state after ``version`` examples were learned (it only grows)."""

    scores: list[tuple[ScoreKey, bytes]]
    posteriors: list[tuple[str, str, bytes]]
    version: int = 0


class PartitionState:
    """Applies messages of one partition exactly once and learns from their labels.

    Restored from a checkpoint, it expects the first message of each input to be the last
    one it applied (the worker seeks one back): a different message, or any offset below
    the applied ones, means the log was rewound under it (:class:`OffsetRewound`).
    ``revision`` grows with every change, whether a message or event time made it: the
    worker checkpoints a state whose revision moved. ``catalog`` (a file's ads, say) is
    where the table starts; listings extend it."""

    def __init__(
        self,
        partition: int,
        catalog: AdCatalog,
        config: RewardSettings,
        inputs: tuple[str, ...] = tuple(INPUTS),
    ) -> None:
        self.partition = partition
        self._readers = dict(zip(inputs, _READERS, strict=True))
        self._catalog_topic = inputs[-1]
        self.base = catalog
        self.lateness = config.allowed_lateness_ms
        self.future_skew_ms = config.max_future_skew_ms
        self.catalog_grace_ms = config.catalog_grace_ms
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
        self.revision = 0
        self.event_time = -1  # the last watermark: every busy input has reached it
        # Events whose ad or elements the catalogue does not hold yet: (ts, source).
        self.awaiting: list[tuple[int, Source]] = []
        self.waiting_since: int | None = None  # wall clock (ms) the oldest began waiting
        self.table = CatalogTable(catalog.ads)
        # Listings the model has yet to take, in event-time order: (ts, offset, ad, slots).
        self.due: list[tuple[int, int, str, dict[str, list[str]]]] = []
        self._listings = 0  # listings read or taken: the layout changed
        self._layout_saved: tuple[int, int] | None = None  # the layout last checkpointed
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
        applied = self.offsets.get(topic, 0)
        if (self.unverified or offset < applied) and rewind.seen_before(
            f"partition {self.partition} of {topic}",
            message,
            applied,
            self.unverified.pop(topic, None),
        ):
            return NOTHING
        self.offsets[topic] = offset + 1
        self.tail[topic] = message
        self.revision += 1
        kind, read = self._readers[topic]
        try:
            event = read(message.value())
        except DecodeError as exc:
            why = "catalog" if kind == LISTING else "decode"
            return [Rejection(why, exc.reason, Source.of(message))]
        # Ahead of the message's own Kafka timestamp (stored in the log: a replay decides
        # the same way), or of the wall clock when it has none.
        stamp = message.timestamp()[1]
        if event.ts_ms > (stamp if stamp > 0 else self.now_ms) + self.future_skew_ms:
            ahead = f"event time {event.ts_ms} is over {self.future_skew_ms} ms in the future"
            return [Rejection("future", ahead, Source.of(message))]
        if event.ts_ms > self.max_ts.get(topic, -1):
            self.max_ts[topic] = event.ts_ms
        if kind == LISTING:
            return self._list(event, message, offset)
        return self._join(kind, event, message, final=False)

    def _join(self, kind: int, event: Any, message: Consumed, final: bool) -> Sequence[Rejection]:
        """Hand an event to the join; one the catalogue does not allow yet waits for event
        time to pass it, unless ``final`` (it has)."""
        if kind == IMPRESSION:
            shown = (event.ad_id, event.segment, tuple(event.elements.items()))
            bag = self.joiner.bag_ids.get(shown, -1)
            if bag < 0:
                reason = self.table.unshowable(event.ad_id, event.elements, event.ts_ms)
                if reason is not None:
                    return self._await(event.ts_ms, reason, message, final)
                if (full := self._segments_full(event)) is not None:
                    return [Rejection("segment_limit", full, Source.of(message))]
                bag = self._add_bag(shown)
            return self.joiner.impression(event, bag, message)
        if not self.table.listed(event.ad_id, event.ts_ms):
            return self._await(event.ts_ms, f"unknown ad {event.ad_id!r}", message, final)
        return self.joiner.feedback(kind, event, message)

    def _await(self, ts: int, reason: str, message: Consumed, final: bool) -> Sequence[Rejection]:
        """Keep an event the catalogue may yet allow; dead-letter it when event time has
        passed it already, or too many wait."""
        if final or ts <= self.event_time or len(self.awaiting) >= MAX_AWAITING:
            return [_unknown(reason, message)]
        if self.waiting_since is None:
            self.waiting_since = self.now_ms
        self.awaiting.append((ts, Source.of(message)))
        return NOTHING

    def _list(self, listing: Any, message: Message, offset: int) -> Sequence[Rejection]:
        """Apply a listing to the catalogue table; the model takes it in event time."""
        if message.key() is not None and message.key() != listing.ad_id.encode():
            return [Rejection("catalog", "key is not the listing's ad_id", Source.of(message))]
        reason = self.table.add(listing.ad_id, listing.slots, listing.ts_ms)
        if reason is not None:
            return [Rejection("catalog", reason, Source.of(message))]
        bisect.insort(self.due, (listing.ts_ms, offset, listing.ad_id, listing.slots))
        self.waiting_since = None  # the catalogue is not a fetch behind: no more grace
        self._listings += 1
        return NOTHING

    def _take_listings(self, until_ms: int) -> None:
        """The model takes the listings stamped before ``until_ms``."""
        while self.due and self.due[0][0] < until_ms:
            _, _, ad, slots = self.due.pop(0)
            self.model.add_listing(ad, slots)
            self._listings += 1

    def _segments_full(self, impression: Any) -> str | None:
        """Why a new segment of an ad is not learned (it has enough), or None. Not a
        catalogue question: refused at once, never kept waiting."""
        known = self.segments.get(impression.ad_id, ())
        if impression.segment in known or len(known) < self.max_segments:
            return None
        return f"ad {impression.ad_id!r} already has {self.max_segments} segments"

    def _add_bag(self, shown: tuple) -> int:
        self.segments.setdefault(shown[0], set()).add(shown[1])
        return self.joiner.bag_id(shown)

    def watermark(self, idle: set[str]) -> int | None:
        """Event time every busy input has reached (None while one has told us nothing);
        inputs that are caught up do not hold it back, and it never passes the latest
        event (listings only hold it back: their times are not the events')."""
        events = [ts for topic, ts in self.max_ts.items() if topic != self._catalog_topic]
        if self._catalog_awaited():
            idle = idle - {self._catalog_topic}
        busy = [topic for topic in self._readers if topic not in idle]
        if not events or any(topic not in self.max_ts for topic in busy):
            return None
        return min([self.max_ts[topic] for topic in busy] + [max(events)])

    def _catalog_awaited(self) -> bool:
        """An event waits for the catalogue, less than the grace and with no listing read
        since: a caught-up catalogue still holds event time, it may be a fetch behind."""
        since = self.waiting_since
        return since is not None and self.now_ms - since < self.catalog_grace_ms

    def advance(self, idle: set[str]) -> list[Rejection]:
        """Move event time forward: decide the events it passed that waited for the
        catalogue, then learn from every released batch."""
        watermark = self.watermark(idle)
        if watermark is None or watermark <= self.event_time:
            return []
        self.event_time = watermark
        self.revision += 1
        rejections = self._decide(watermark)
        batches, expired = self.joiner.advance(watermark - self.lateness)
        for batch in batches:
            self._take_listings(batch[0].finalize_ts + self.joiner.bucket_ms)
            self.dirty |= self.model.learn(batch)
            clicks = sum(1 for example in batch if example.kind == "click")
            self.learned["click"] += clicks
            self.learned["conversion"] += len(batch) - clicks
        self._take_listings(self.joiner.watermark + 1)
        return rejections + expired

    def _decide(self, watermark: int) -> list[Rejection]:
        """Apply or dead-letter, in event-time order, the waiting events up to ``watermark``."""
        due = sorted((w for w in self.awaiting if w[0] <= watermark), key=_event_order)
        if not due:
            return []
        self.awaiting = [w for w in self.awaiting if w[0] > watermark]
        if not self.awaiting or not self._catalog_awaited():
            self.waiting_since = None
        rejections: list[Rejection] = []
        for _, source in due:
            message = Message(*source)
            kind, read = self._readers[source.topic]
            rejections += self._join(kind, read(source.value), message, final=True)
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
        return Refresh(scores, posteriors, self.learned["click"] + self.learned["conversion"])

    def checkpoint(self, snapshot: bool) -> StateWrite:
        """What changed since the last checkpoint, for one atomic write with the scores;
        with ``snapshot`` the pending join entries are written whole and the log reset."""
        meta = orjson.dumps(
            {
                "offsets": self.offsets,
                "max_ts": self.max_ts,
                "learned": self.learned,
                "watermark": self.joiner.watermark,
                "event_time": self.event_time,
                "counts": self.joiner.counts,
                "awaiting": [[ts, source.plain()] for ts, source in self.awaiting],
                "tail": self.tail_restored
                | {topic: rewind.fingerprint(message) for topic, message in self.tail.items()},
            }
        )
        blobs = {"meta": meta, "model": self.model.to_bytes()}
        layout = len(self.model.history), self._listings
        if snapshot or layout != self._layout_saved:
            # The catalogue and the order features were added: rarely changed, so written
            # only when they did.
            blobs["layout"] = orjson.dumps(
                {
                    "history": self.model.history,
                    "model_catalog": self.model.catalog,
                    "table": self.table.to_plain(),
                    "due": self.due,
                }
            )
            self._layout_saved = layout
        if snapshot:
            blobs["pending"] = orjson.dumps(self.joiner.entries())
            return StateWrite(blobs=blobs, reset_log=True)
        return StateWrite(blobs=blobs, log_chunk=orjson.dumps(self.joiner.changes()))

    def restore(self, checkpoint: Checkpoint) -> None:
        """Continue from ``checkpoint``; every (ad, segment) it knows is published again
        (a store holding newer scores refuses them by version)."""
        meta = orjson.loads(checkpoint.meta)
        self.offsets, self.max_ts, self.learned = meta["offsets"], meta["max_ts"], meta["learned"]
        self.event_time = meta["event_time"]
        self.awaiting = [(ts, Source.from_plain(plain)) for ts, plain in meta["awaiting"]]
        self.waiting_since = self.now_ms if self.awaiting else None
        self.tail_restored = dict(meta["tail"])
        self.unverified = dict(meta["tail"])
        layout = orjson.loads(checkpoint.layout or b"{}")
        self.model.load_bytes(layout.get("history", []), checkpoint.model)
        self.table = CatalogTable.from_plain(layout.get("table", {}))
        self.due = [(ts, offset, ad, slots) for ts, offset, ad, slots in layout.get("due", [])]
        for ad, slots in layout.get("model_catalog", {}).items():
            self.model.add_listing(ad, slots)
        for ad, slots in self.base.ads.items():  # a file edited since: its new elements
            self.table.add(ad, slots, ALWAYS)
            self.model.add_listing(ad, slots)
        self._layout_saved = None  # written whole with the next checkpoint
        self.dirty = set(self.model.registered)
        entries = orjson.loads(checkpoint.pending or b'{"shown":{},"held":{},"bags":[]}')
        for chunk in checkpoint.log:
            merge(entries, orjson.loads(chunk))
        self.joiner.restore(meta["watermark"], entries, meta["counts"])
        for ad, segment, _ in self.joiner.bags:
            self.segments.setdefault(ad, set()).add(segment)


def _event_order(waiting: tuple[int, Source]) -> tuple[int, str, int]:
    """Event time, then where the event was read: one order however it was consumed."""
    ts, source = waiting
    return ts, source.topic, source.offset


def _unknown(reason: str, message: Consumed) -> Rejection:
    kind = "unknown_ad" if reason.startswith("unknown ad") else "unknown_element"
    return Rejection(kind, reason, Source.of(message))
