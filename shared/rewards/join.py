"""Event-time join of clicks and conversions to the impressions they follow.

Every label gets a *finalize time* that depends only on the events: a joined click or
conversion at its own time, a missing one at the end of its window; conversion labels, rare
and slow, are then rounded up to a coarser ``conversion_bucket_ms`` so that they are learned
in fewer, larger batches. Labels are collected in event-time buckets of ``bucket_ms``; a
bucket is released, as one learning batch, once the watermark has passed its end. Nothing
can join a released bucket (anything that would is behind the watermark, hence late), so a
replay yields the same batches.

This runs once per event of the click firehose, so pending impressions are plain lists
(fields at the indices below): they cost less to build than objects, and the changelog
hands them to orjson as they are.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

from adcraft.shared.contract.events import ClickRecorded, ConversionRecorded, ImpressionServed
from adcraft.shared.contract.sources import Consumed, Source
from adcraft.shared.rewards.reward_model import Bag, Example

CLICK, CONVERSION, CLICK_END, CONVERSION_END, HOLD_END, IMPRESSION = range(6)
KINDS = {ImpressionServed: IMPRESSION, ClickRecorded: CLICK, ConversionRecorded: CONVERSION}
# A pending impression: [ts, bag id, click_ts, conversion_ts, value, its event id, then
# the event ids of the feedback joined to it].
TS, BAG, CLICK_TS, CONVERSION_TS, VALUE, EVENT_ID = range(6)
Held = tuple[int, str, int, float, Source]  # (kind, event id, ts, value, source)


NOTHING: tuple = ()  # what most events leave to dead-letter (shared: no allocation)


class Rejection(NamedTuple):
    """A message for the dead-letter topic."""

    kind: str
    reason: str
    source: Source


# An Example from a complete tuple, at C speed (NamedTuple's own constructor is Python).
_example = partial(tuple.__new__, Example)


@dataclass
class AttributionJoiner:
    """Joins feedback to impressions inside a click window and a longer conversion window.

    Feedback that arrives before its impression is held for ``hold_ms``; an impression with
    no click by the end of the click window becomes a negative example, likewise for
    conversions. A pending impression keeps its own event id, and feedback event ids are
    remembered while their impression can still change, so a duplicate counts once; after
    that a re-delivered event is behind the watermark (late).
    """

    click_window_ms: int
    conversion_window_ms: int
    hold_ms: int
    bucket_ms: int
    conversion_negative_rate: float = 1.0
    conversion_bucket_ms: int = 1
    watermark: int = -1
    shown: dict[str, list] = field(default_factory=dict)
    held: dict[str, list[Held]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    # Per bucket, the request ids due there, one list per action (CLICK … HOLD_END).
    buckets: dict[int, list[list[str]]] = field(default_factory=dict)
    bucket_heap: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    # The bags shown so far, by id: pending impressions refer to theirs by id.
    bags: list[Bag] = field(default_factory=list)
    bag_ids: dict[Bag, int] = field(default_factory=dict)
    # Bags, and entries by request id (None where gone), new since the last changelog chunk.
    logged_bags: int = 0
    changed_shown: dict[str, list | None] = field(default_factory=dict)
    changed_held: set[str] = field(default_factory=set)

    def _count(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def _schedule(self, ts: int, action: int, key: str) -> None:
        if action in (CONVERSION, CONVERSION_END):
            ts = -(-ts // self.conversion_bucket_ms) * self.conversion_bucket_ms
        self._bucket(ts // self.bucket_ms)[action].append(key)

    def _bucket(self, bucket: int) -> list[list[str]]:
        entries = self.buckets.get(bucket)
        if entries is None:
            entries = self.buckets[bucket] = [[], [], [], [], []]
            heapq.heappush(self.bucket_heap, bucket)
        return entries

    def _late(self, event: Any, message: Consumed) -> list[Rejection]:
        reason = f"event time {event.ts_ms} is behind the watermark {self.watermark}"
        return [Rejection("late", reason, Source.of(message))]

    def bag_id(self, bag: Bag) -> int:
        """The id of ``bag``, added to :attr:`bags` if new (the caller vouches for it)."""
        found = self.bag_ids.get(bag)
        if found is None:
            found = self.bag_ids[bag] = len(self.bags)
            self.bags.append(bag)
        return found

    def impression(self, event: Any, bag: int, message: Consumed) -> Sequence[Rejection]:
        """Take a decoded :class:`ImpressionServed` that showed the bag with id ``bag``,
        consumed as ``message``; return what must be dead-lettered because of it."""
        # Once per impression, the bulk of the stream: the common path makes no calls. An
        # impression's own entry, not `seen`, tells a redelivery from a reused request id.
        ts, rid = event.ts_ms, event.request_id
        if ts < self.watermark:
            return self._late(event, message)
        shown = self.shown.get(rid)
        if shown is not None:
            if shown[EVENT_ID] == event.event_id:
                self._count("duplicate")
                return NOTHING
            reason = f"request {rid!r} was already served"
            return [Rejection("duplicate_request", reason, Source.of(message))]
        self.counts["impression"] = self.counts.get("impression", 0) + 1
        self.shown[rid] = self.changed_shown[rid] = [ts, bag, None, None, 0.0, event.event_id]
        # Both window ends, as _schedule would do them.
        end = (ts + self.click_window_ms) // self.bucket_ms
        (self.buckets.get(end) or self._bucket(end))[CLICK_END].append(rid)
        rounding = self.conversion_bucket_ms
        end = -(-(ts + self.conversion_window_ms) // rounding) * rounding // self.bucket_ms
        (self.buckets.get(end) or self._bucket(end))[CONVERSION_END].append(rid)
        if rid not in self.held:
            return NOTHING
        self.changed_held.add(rid)
        rejections: list[Rejection] = []
        for kind, held_id, at, value, held_source in self.held.pop(rid):
            rejections += self._feedback(kind, at, held_id, rid, value, held_source)
        return rejections

    def feedback(self, kind: int, event: Any, message: Consumed) -> Sequence[Rejection]:
        """Take a decoded click (``kind`` CLICK) or conversion (CONVERSION), consumed as
        ``message``; return what must be dead-lettered because of it."""
        if event.ts_ms < self.watermark:
            return self._late(event, message)
        if event.event_id in self.seen:
            self._count("duplicate")
            return NOTHING
        self.seen.add(event.event_id)
        source = Source.of(message)
        value = event.value if kind == CONVERSION else 0.0
        rid = event.request_id
        if rid in self.shown:
            return self._feedback(kind, event.ts_ms, event.event_id, rid, value, source)
        self._count("held")
        self.held.setdefault(rid, []).append((kind, event.event_id, event.ts_ms, value, source))
        self.changed_held.add(rid)
        self._schedule(event.ts_ms + self.hold_ms, HOLD_END, rid)
        return NOTHING

    def _feedback(
        self, kind: int, ts: int, event_id: str, request_id: str, value: float, source: Source
    ) -> Sequence[Rejection]:
        shown = self.changed_shown[request_id] = self.shown[request_id]
        shown.append(event_id)
        window = self.click_window_ms if kind == CLICK else self.conversion_window_ms
        name = "click" if kind == CLICK else "conversion"
        if not shown[TS] <= ts <= shown[TS] + window:
            reason = (
                f"{name} at {ts} is outside the window [{shown[TS]}, {shown[TS] + window}] "
                "of its impression"
            )
            return [Rejection("outside_window", reason, source)]
        # Only the first click and the first conversion of an impression count: anything
        # else would make the label depend on how far the stream had been read.
        if shown[CLICK_TS if kind == CLICK else CONVERSION_TS] is not None:
            self._count(f"repeat_{name}")
            return NOTHING
        if kind == CLICK:
            shown[CLICK_TS] = ts
        else:
            shown[CONVERSION_TS], shown[VALUE] = ts, value
        self._count(f"{name}_joined")
        self._schedule(ts, kind, request_id)
        return NOTHING

    def advance(self, watermark: int) -> tuple[list[list[Example]], list[Rejection]]:
        """Move event time to ``watermark``; return released batches and expired holds."""
        self.watermark = max(self.watermark, watermark)
        batches: list[list[Example]] = []
        rejections: list[Rejection] = []
        while self.bucket_heap and (self.bucket_heap[0] + 1) * self.bucket_ms <= self.watermark:
            bucket = heapq.heappop(self.bucket_heap)
            examples: list[Example] = []
            entries = self.buckets.pop(bucket)
            for key in entries[HOLD_END]:
                rejections += self._expire_held(key)
            # Positives before window ends: a conversion and its window's end may share a
            # bucket, and the end forgets the impression.
            ts = bucket * self.bucket_ms
            for action in (CLICK, CONVERSION):
                for key in entries[action]:
                    if key in self.shown:
                        self._finalize(ts, action, key, examples)
            self._click_negatives(ts, entries[CLICK_END], examples)
            for key in entries[CONVERSION_END]:
                if key in self.shown:
                    self._finalize(ts, CONVERSION_END, key, examples)
            if examples:
                batches.append(examples)
        return batches, rejections

    def _click_negatives(self, ts: int, ended: list[str], out: list[Example]) -> None:
        """Negatives of the impressions in ``ended`` that no click joined: what
        :meth:`_finalize` does for CLICK_END, inline, as nearly every impression ends so."""
        shown, bags = self.shown.get, self.bags
        for request_id in ended:
            entry = shown(request_id)
            if entry is not None and entry[CLICK_TS] is None:
                out.append(_example((ts, "click", request_id, bags[entry[BAG]], False, 0.0, 1.0)))

    def _expire_held(self, request_id: str) -> list[Rejection]:
        waiting = self.held.pop(request_id, [])
        expired = [item for item in waiting if item[2] + self.hold_ms <= self.watermark]
        if len(expired) < len(waiting):
            self.held[request_id] = [item for item in waiting if item not in expired]
        if expired:
            self.changed_held.add(request_id)
        for item in expired:
            self.seen.discard(item[1])
        reason = f"no impression for request {request_id!r} within {self.hold_ms} ms"
        return [Rejection("unjoinable", reason, item[4]) for item in expired]

    def _finalize(self, ts: int, action: int, request_id: str, out: list[Example]) -> None:
        """The label an action of a pending impression releases (CLICK_END: see
        :meth:`_click_negatives`); the conversion window's end also forgets it."""
        shown = self.shown[request_id]
        weight = 1.0
        if action == CONVERSION_END:
            del self.shown[request_id]
            self.seen.difference_update(shown[EVENT_ID + 1 :])
            self.changed_shown[request_id] = None
            if shown[CONVERSION_TS] is not None:
                return
            # Keep a deterministic sample of the many conversion negatives, up-weighted.
            rate = self.conversion_negative_rate
            if zlib.crc32(request_id.encode()) >= rate * 2**32:
                return
            weight = 1.0 / rate
        kind = "click" if action == CLICK else "conversion"
        value = shown[VALUE] if action == CONVERSION else 0.0
        label = action <= CONVERSION
        bag = self.bags[shown[BAG]]
        out.append(_example((ts, kind, request_id, bag, label, value, weight)))

    def _held_plain(self, rid: str) -> list | None:
        held = self.held.get(rid) or ()
        return [[kind, eid, ts, value, src.plain()] for kind, eid, ts, value, src in held] or None

    def changes(self) -> dict[str, Any]:
        """Pending impressions and held feedback changed since the last call, by request id
        (None where gone), for ``orjson.dumps`` before the joiner moves on (they are live);
        :func:`merge` applies them to :meth:`entries`."""
        held = {rid: self._held_plain(rid) for rid in self.changed_held}
        changed = {"shown": self.changed_shown, "held": held, "bags": self.bags[self.logged_bags :]}
        self.changed_shown, self.changed_held, self.logged_bags = {}, set(), len(self.bags)
        return changed

    def entries(self) -> dict[str, Any]:
        """Every pending impression and held feedback: a full snapshot, live like
        :meth:`changes`."""
        self.changed_shown, self.changed_held, self.logged_bags = {}, set(), len(self.bags)
        held = {rid: self._held_plain(rid) for rid in self.held}
        return {"shown": self.shown, "held": held, "bags": self.bags}

    def restore(self, watermark: int, entries: dict[str, Any], counts: dict[str, int]) -> None:
        """Rebuild from :meth:`entries` merged with later :meth:`changes`, as JSON-decoded
        by orjson; labels already released are not scheduled again."""
        self.watermark, self.counts = watermark, dict(counts)
        for ad, segment, elements in entries["bags"]:
            self.bag_id((ad, segment, tuple(tuple(pair) for pair in elements)))
        self.logged_bags = len(self.bags)
        for rid, shown in entries["shown"].items():
            if shown is None:
                continue
            self.shown[rid] = shown
            self.seen.update(shown[EVENT_ID + 1 :])
            self._schedule(shown[TS] + self.click_window_ms, CLICK_END, rid)
            self._schedule(shown[TS] + self.conversion_window_ms, CONVERSION_END, rid)
            for kind, at in ((CLICK, shown[CLICK_TS]), (CONVERSION, shown[CONVERSION_TS])):
                if at is not None:
                    self._schedule(at, kind, rid)
        for rid, held in entries["held"].items():
            if held:
                self.held[rid] = [
                    (kind, eid, ts, value, Source.from_plain(src))
                    for kind, eid, ts, value, src in held
                ]
                for _, eid, ts, _, _ in self.held[rid]:
                    self.seen.add(eid)
                    self._schedule(ts + self.hold_ms, HOLD_END, rid)
        for bucket in [b for b in self.buckets if (b + 1) * self.bucket_ms <= self.watermark]:
            del self.buckets[bucket]
        self.bucket_heap = sorted(self.buckets)


def merge(entries: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Apply a :meth:`AttributionJoiner.changes` chunk to :meth:`AttributionJoiner.entries`
    (both as decoded JSON), in place; returns ``entries``."""
    for part in ("shown", "held"):
        entries[part].update(changes[part])
    entries["bags"] += changes["bags"]
    return entries
