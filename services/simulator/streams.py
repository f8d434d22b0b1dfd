"""The events the world's users produce: impressions from a uniformly random policy, then
their clicks and conversions, in event-time order (a backlog, or paced by the wall clock)."""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Iterable, Iterator

import numpy as np
from confluent_kafka import Producer

from adcraft.services.simulator.world import SEGMENTS, SyntheticWorld
from adcraft.shared.adapters import kafka
from adcraft.shared.contract import codec
from adcraft.shared.contract.events import (
    ClickRecorded,
    ConversionRecorded,
    Event,
    ImpressionServed,
    Who,
)
from adcraft.shared.contract.topics import RewardTopics
from adcraft.shared.runtime.settings import RewardSettings

# Attribution windows on the streams' time scale (clicks within 2 s of their impression by
# default): short enough for negatives and conversions to be released within seconds.
SHORT_WINDOWS = RewardSettings(click_window_ms=2_000, conversion_window_ms=10_000, hold_ms=2_000)


def traffic(
    world: SyntheticWorld,
    impressions: int,
    seed: int = 1,
    start_ms: int = 1_700_000_000_000,
    spacing_ms: float = 1.0,
    click_delay_ms: int = 2_000,
    conversion_delay_ms: int = 20_000,
) -> Iterator[Event]:
    """Impressions from a uniformly random policy, then their clicks and conversions, all
    yielded in event-time order."""
    rng = np.random.default_rng(seed)
    ads = list(world.catalog.ads)
    draws = rng.random((impressions, 8))  # slots (up to 5), segment, click, conversion
    pending: list[tuple[int, int, Event]] = []
    sequence = itertools.count()
    for i in range(impressions):
        ts = start_ms + int(i * spacing_ms)
        while pending and pending[0][0] <= ts:
            yield heapq.heappop(pending)[2]
        ad = ads[i % len(ads)]
        slots = world.catalog.ads[ad]
        elements = {
            slot: options[int(draws[i, k] * len(options))]
            for k, (slot, options) in enumerate(slots.items())
        }
        segment = SEGMENTS[int(draws[i, 5] * len(SEGMENTS))]
        rid = f"r{seed}-{i}"
        who: Who = {"ad_id": ad, "request_id": rid, "user_id": f"u{i * 7919 % 10_000}"}
        yield ImpressionServed(
            event_id=f"i-{rid}",
            ts_ms=ts,
            **who,
            elements=elements,
            propensity=1.0 / math.prod(len(options) for options in slots.values()),
            segment=segment,
            context={"device": "mobile"},
        )
        if draws[i, 6] < world.click_probability(ad, segment, elements):
            click_ts = ts + 1 + int(draws[i, 7] * click_delay_ms)
            click = ClickRecorded(event_id=f"c-{rid}", ts_ms=click_ts, **who)
            heapq.heappush(pending, (click_ts, next(sequence), click))
            if rng.random() < world.conversion_given_click:
                conv_ts = click_ts + int(rng.integers(1, conversion_delay_ms))
                value = float(np.round(rng.gamma(2.0, 25.0), 2))
                conversion = ConversionRecorded(
                    event_id=f"v-{rid}", ts_ms=conv_ts, **who, value=value
                )
                heapq.heappush(pending, (conv_ts, next(sequence), conversion))
    while pending:
        yield heapq.heappop(pending)[2]


def publish(producer: Producer, events: Iterable[Event], names: RewardTopics | None = None) -> int:
    """Produce ``events`` to their topics (as ``names`` calls them), keyed by ad; return
    how many were sent."""
    names = names or RewardTopics()
    sent = 0
    for event in events:
        kafka.produce(producer, names.of(event.topic), event.key(), codec.encode(event))
        sent += 1
    producer.flush(60)
    return sent


def live_traffic(
    world: SyntheticWorld,
    events_per_s: float,
    duration_s: float,
    seed: int = 7,
    click_delay_ms: int = 300,
) -> Iterator[Event]:
    """Events stamped with the wall clock at about ``events_per_s``; yields each when due."""
    impressions_per_s = events_per_s / (1 + 1.1 * _mean_click_rate(world))
    start = int(time.time() * 1000) + 200
    stream = traffic(
        world,
        int(impressions_per_s * duration_s),
        seed=seed,
        start_ms=start,
        spacing_ms=1000 / impressions_per_s,
        click_delay_ms=click_delay_ms,
        conversion_delay_ms=2 * click_delay_ms,
    )
    for event in stream:
        delay = event.ts_ms / 1000 - time.time()
        if delay > 0:
            time.sleep(delay)
        yield event


def _mean_click_rate(world: SyntheticWorld, samples: int = 2000) -> float:
    rng = np.random.default_rng(0)
    total = 0.0
    for i in range(samples):
        ad = list(world.catalog.ads)[i % len(world.catalog.ads)]
        slots = world.catalog.ads[ad]
        elements = {
            slot: options[int(rng.integers(len(options)))] for slot, options in slots.items()
        }
        total += world.click_probability(ad, SEGMENTS[i % len(SEGMENTS)], elements)
    return total / samples
