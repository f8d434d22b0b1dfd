"""Event-time join of clicks and conversions to the impressions they follow.

Every label gets a *finalize time* that depends only on the events: a joined click or
conversion at its own time, a missing one at the end of its window; conversion labels, rare
and slow, are then rounded up to a coarser ``conversion_bucket_ms`` so that they are learned
in fewer, larger batches. Labels are collected in event-time buckets of ``bucket_ms``; a
bucket is released, as one learning batch, once the watermark has passed its end. Nothing
can join a released bucket (anything that would is behind the watermark, hence late), so a
replay yields the same batches.
"""

from __future__ import annotations

import heapq
import zlib
from dataclasses import dataclass, field
from typing import NamedTuple

from shared.dead_letter import Source
from shared.events import ClickRecorded, ConversionRecorded, ImpressionServed

CLICK, CONVERSION, CLICK_END, CONVERSION_END, HOLD_END = range(5)
Feedback = ClickRecorded | ConversionRecorded


class Rejection(NamedTuple):
    """A message for the dead-letter topic."""

    kind: str
    reason: str
    source: Source


class Example(NamedTuple):
    """One combination-level label: was the impression clicked (or converted)?"""

    finalize_ts: int
    kind: str
    request_id: str
    ad_id: str
    segment: str
    elements: tuple[tuple[str, str], ...]
    label: bool
    value: float = 0.0
    weight: float = 1.0


@dataclass(slots=True)
class Shown:
    """An impression waiting for its feedback."""

    ts: int
    ad_id: str
    segment: str
    elements: tuple[tuple[str, str], ...]
    event_ids: list[str]
    click_ts: int | None = None
    conversion_ts: int | None = None
    value: float = 0.0


@dataclass
class AttributionJoiner:
    """Joins feedback to impressions inside a click window and a longer conversion window.

    Feedback that arrives before its impression is held for ``hold_ms``; an impression with
    no click by the end of the click window becomes a negative example, likewise for
    conversions. Event ids are remembered while their impression can still change, so a
    duplicate counts once; after that a re-delivered event is behind the watermark (late).
    """

    click_window_ms: int
    conversion_window_ms: int
    hold_ms: int
    bucket_ms: int
    conversion_negative_rate: float = 1.0
    conversion_bucket_ms: int = 1
    watermark: int = -1
    shown: dict[str, Shown] = field(default_factory=dict)
    held: dict[str, list[tuple[int, str, int, float, Source]]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    buckets: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    bucket_heap: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)

    def _count(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def _schedule(self, ts: int, action: int, key: str) -> None:
        if action in (CONVERSION, CONVERSION_END):
            ts = -(-ts // self.conversion_bucket_ms) * self.conversion_bucket_ms
        bucket = ts // self.bucket_ms
        entries = self.buckets.get(bucket)
        if entries is None:
            entries = self.buckets[bucket] = []
            heapq.heappush(self.bucket_heap, bucket)
        entries.append((action, key))

    def offer(self, event: ImpressionServed | Feedback, source: Source) -> list[Rejection]:
        """Take one decoded event; return what must be dead-lettered because of it."""
        if event.ts_ms < self.watermark:
            reason = f"event time {event.ts_ms} is behind the watermark {self.watermark}"
            return [Rejection("late", reason, source)]
        if event.event_id in self.seen:
            self._count("duplicate")
            return []
        self.seen.add(event.event_id)
        if isinstance(event, ImpressionServed):
            return self._impression(event, source)
        kind = CLICK if isinstance(event, ClickRecorded) else CONVERSION
        value = event.value if isinstance(event, ConversionRecorded) else 0.0
        if event.request_id in self.shown:
            return self._feedback(
                kind, event.ts_ms, event.event_id, event.request_id, value, source
            )
        self._count("held")
        self.touched.add(event.request_id)
        held = (kind, event.event_id, event.ts_ms, value, source)
        self.held.setdefault(event.request_id, []).append(held)
        self._schedule(event.ts_ms + self.hold_ms, HOLD_END, event.request_id)
        return []

    def _impression(self, event: ImpressionServed, source: Source) -> list[Rejection]:
        rid = event.request_id
        if rid in self.shown:
            self.seen.discard(event.event_id)
            return [Rejection("duplicate_request", f"request {rid!r} was already served", source)]
        self.counts["impression"] = self.counts.get("impression", 0) + 1
        self.touched.add(rid)
        shown = self.shown[rid] = Shown(
            event.ts_ms, event.ad_id, event.segment, tuple(event.elements.items()), [event.event_id]
        )
        self._schedule_ends(rid, shown)
        if rid not in self.held:
            return []
        rejections = []
        for kind, event_id, ts, value, held_source in self.held.pop(rid):
            rejections += self._feedback(kind, ts, event_id, rid, value, held_source)
        return rejections

    def _feedback(
        self, kind: int, ts: int, event_id: str, request_id: str, value: float, source: Source
    ) -> list[Rejection]:
        shown = self.shown[request_id]
        shown.event_ids.append(event_id)
        self.touched.add(request_id)
        window = self.click_window_ms if kind == CLICK else self.conversion_window_ms
        name = "click" if kind == CLICK else "conversion"
        if not shown.ts <= ts <= shown.ts + window:
            reason = (
                f"{name} at {ts} is outside the window [{shown.ts}, {shown.ts + window}] "
                "of its impression"
            )
            return [Rejection("outside_window", reason, source)]
        # Only the first click and the first conversion of an impression count: anything
        # else would make the label depend on how far the stream had been read.
        if (shown.click_ts if kind == CLICK else shown.conversion_ts) is not None:
            self._count(f"repeat_{name}")
            return []
        if kind == CLICK:
            shown.click_ts = ts
        else:
            shown.conversion_ts, shown.value = ts, value
        self._count(f"{name}_joined")
        self._schedule(ts, kind, request_id)
        return []

    def advance(self, watermark: int) -> tuple[list[list[Example]], list[Rejection]]:
        """Move event time to ``watermark``; return released batches and expired holds."""
        self.watermark = max(self.watermark, watermark)
        batches: list[list[Example]] = []
        rejections: list[Rejection] = []
        while self.bucket_heap and (self.bucket_heap[0] + 1) * self.bucket_ms <= self.watermark:
            bucket = heapq.heappop(self.bucket_heap)
            examples: list[Example] = []
            entries = self.buckets.pop(bucket)
            # Positives before window ends: a conversion and its window's end may share a
            # bucket, and the end forgets the impression.
            for action, key in entries:
                if action <= CONVERSION and key in self.shown:
                    self._finalize(bucket * self.bucket_ms, action, key, examples)
            for action, key in entries:
                if action == HOLD_END:
                    rejections += self._expire_held(key)
                elif action > CONVERSION and key in self.shown:
                    self._finalize(bucket * self.bucket_ms, action, key, examples)
            if examples:
                batches.append(examples)
        return batches, rejections

    def _expire_held(self, request_id: str) -> list[Rejection]:
        self.touched.add(request_id)
        waiting = self.held.pop(request_id, [])
        expired = [item for item in waiting if item[2] + self.hold_ms <= self.watermark]
        if len(expired) < len(waiting):
            self.held[request_id] = [item for item in waiting if item not in expired]
        for item in expired:
            self.seen.discard(item[1])
        reason = f"no impression for request {request_id!r} within {self.hold_ms} ms"
        return [Rejection("unjoinable", reason, item[4]) for item in expired]

    def _finalize(self, ts: int, action: int, request_id: str, out: list[Example]) -> None:
        shown = self.shown[request_id]
        if action == CONVERSION_END:
            del self.shown[request_id]
            self.seen.difference_update(shown.event_ids)
            self.touched.add(request_id)
        if action == CLICK_END and shown.click_ts is not None:
            return  # the positive was released when the click joined
        if action == CONVERSION_END and shown.conversion_ts is not None:
            return
        weight = 1.0
        if action == CONVERSION_END:
            # Keep a deterministic sample of the many conversion negatives, up-weighted.
            rate = self.conversion_negative_rate
            if zlib.crc32(request_id.encode()) >= rate * 2**32:
                return
            weight = 1.0 / rate
        kind = "click" if action in (CLICK, CLICK_END) else "conversion"
        positive = action in (CLICK, CONVERSION)
        value = shown.value if action == CONVERSION else 0.0
        out.append(
            Example(
                ts,
                kind,
                request_id,
                shown.ad_id,
                shown.segment,
                shown.elements,
                positive,
                value,
                weight,
            )
        )

    def _schedule_ends(self, rid: str, shown: Shown) -> None:
        self._schedule(shown.ts + self.click_window_ms, CLICK_END, rid)
        self._schedule(shown.ts + self.conversion_window_ms, CONVERSION_END, rid)

    def _entry(self, rid: str) -> tuple[Shown | None, list | None]:
        held = self.held.get(rid)
        return self.shown.get(rid), None if not held else [
            [kind, eid, ts, value, _plain(source)] for kind, eid, ts, value, source in held
        ]

    def changes(self) -> dict[str, tuple]:
        """Entries (pending impression, held feedback) of requests changed since the last
        call, ready for ``orjson.dumps``; ``(None, None)`` where a request is gone."""
        changed = {rid: self._entry(rid) for rid in self.touched}
        self.touched.clear()
        return changed

    def entries(self) -> dict[str, tuple]:
        """Entries of every pending request (a full snapshot)."""
        self.touched.clear()
        return {rid: self._entry(rid) for rid in self.shown.keys() | self.held.keys()}

    def restore(self, watermark: int, entries: dict[str, list], counts: dict[str, int]) -> None:
        """Rebuild from :meth:`entries` plus later :meth:`changes`, as JSON-decoded by
        orjson; labels already released are not scheduled again."""
        self.watermark, self.counts = watermark, dict(counts)
        for rid, (shown, held) in entries.items():
            if shown is not None:
                entry = Shown(**shown)
                entry.elements = tuple(tuple(pair) for pair in entry.elements)
                self.shown[rid] = entry
                self.seen.update(entry.event_ids)
                self._schedule_ends(rid, entry)
                for kind, at in ((CLICK, entry.click_ts), (CONVERSION, entry.conversion_ts)):
                    if at is not None:
                        self._schedule(at, kind, rid)
            if held:
                self.held[rid] = [
                    (kind, eid, ts, value, _source(src)) for kind, eid, ts, value, src in held
                ]
                for _, eid, ts, _, _ in self.held[rid]:
                    self.seen.add(eid)
                    self._schedule(ts + self.hold_ms, HOLD_END, rid)
        for bucket in [b for b in self.buckets if (b + 1) * self.bucket_ms <= self.watermark]:
            del self.buckets[bucket]
        self.bucket_heap = sorted(self.buckets)


def _plain(source: Source) -> list:
    key, value = (None if b is None else b.decode("latin-1") for b in (source.key, source.value))
    return [source.topic, source.partition, source.offset, key, value]


def _source(plain: list) -> Source:
    topic, partition, offset, key, value = plain
    key, value = (None if s is None else s.encode("latin-1") for s in (key, value))
    return Source(topic, partition, offset, key, value)
