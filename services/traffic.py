"""Synthetic ad traffic with known per-element click probabilities, for tests, bench, demo."""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from confluent_kafka import Producer
from scipy.special import expit

from shared import codec
from shared.catalog import AdCatalog
from shared.events import ClickRecorded, ConversionRecorded, Event, ImpressionServed

SLOTS = {"title": 5, "image": 4, "highlight": 4}
SEGMENTS = ("young", "adult", "senior")


@dataclass
class SyntheticWorld:
    """Ground truth: click log-odds = base + main effects + segment tastes + pair effects."""

    catalog: AdCatalog
    base_logit: float
    main: dict[tuple[str, str, str], float]  # (ad, slot, element)
    taste: dict[tuple[str, str, str, str], float]  # (ad, segment, slot, element)
    pairs: dict[tuple[str, tuple[str, str], tuple[str, str]], float]
    conversion_given_click: float = 0.1

    @classmethod
    def create(cls, ads: int = 4, seed: int = 0, base_logit: float = -2.2) -> SyntheticWorld:
        """Random effects: elements spread over about ±1 logit, tastes and pairs smaller."""
        rng = np.random.default_rng(seed)
        catalog = AdCatalog(
            ads={
                f"ad{a}": {slot: [f"{slot[0]}{i}" for i in range(n)] for slot, n in SLOTS.items()}
                for a in range(ads)
            }
        )
        main, taste, pairs = {}, {}, {}
        for ad, slots in catalog.ads.items():
            for slot, elements in slots.items():
                spread = rng.permutation(np.linspace(-1.0, 1.0, len(elements)))
                for element, effect in zip(elements, spread, strict=True):
                    main[ad, slot, element] = float(effect)
                    for segment in SEGMENTS:
                        taste[ad, segment, slot, element] = float(rng.normal(0, 0.15))
            first, second = sorted((s, slots[s][0]) for s in list(slots)[:2])
            pairs[ad, first, second] = 0.8  # one strong interaction per ad
        return cls(catalog, base_logit, main, taste, pairs)

    def click_probability(self, ad: str, segment: str, elements: dict[str, str]) -> float:
        """P(click) of showing ``elements`` of ``ad`` to ``segment``."""
        logit = self.base_logit
        for slot, element in elements.items():
            logit += self.main[ad, slot, element] + self.taste[ad, segment, slot, element]
        chosen = sorted(elements.items())
        for a, b in itertools.combinations(chosen, 2):
            logit += self.pairs.get((ad, a, b), 0.0)
        return float(expit(logit))

    def element_effect(self, ad: str, segment: str, slot: str, element: str) -> float:
        """True log-odds effect of an element with the other slots drawn uniformly."""
        effect = self.main[ad, slot, element] + self.taste[ad, segment, slot, element]
        for (pad, a, b), value in self.pairs.items():
            if pad == ad and (slot, element) in (a, b):
                other = b if a == (slot, element) else a
                effect += value / len(self.catalog.ads[ad][other[0]])
        return effect


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
        propensity = 1.0 / math.prod(len(options) for options in slots.values())
        rid, user = f"r{seed}-{i}", f"u{i * 7919 % 10_000}"
        yield ImpressionServed(
            event_id=f"i-{rid}",
            ts_ms=ts,
            ad_id=ad,
            request_id=rid,
            user_id=user,
            elements=elements,
            propensity=propensity,
            segment=segment,
            context={"device": "mobile"},
        )
        if draws[i, 6] < world.click_probability(ad, segment, elements):
            click_ts = ts + 1 + int(draws[i, 7] * click_delay_ms)
            click = ClickRecorded(
                event_id=f"c-{rid}", ts_ms=click_ts, ad_id=ad, request_id=rid, user_id=user
            )
            heapq.heappush(pending, (click_ts, next(sequence), click))
            if rng.random() < world.conversion_given_click:
                conv_ts = click_ts + int(rng.integers(1, conversion_delay_ms))
                value = float(np.round(rng.gamma(2.0, 25.0), 2))
                conversion = ConversionRecorded(
                    event_id=f"v-{rid}",
                    ts_ms=conv_ts,
                    ad_id=ad,
                    request_id=rid,
                    user_id=user,
                    value=value,
                )
                heapq.heappush(pending, (conv_ts, next(sequence), conversion))
    while pending:
        yield heapq.heappop(pending)[2]


def publish(producer: Producer, events: Iterable[Event]) -> int:
    """Produce ``events`` to their topics, keyed by ad; return how many were sent."""
    sent = 0
    for event in events:
        value = codec.encode(event)
        while True:
            try:
                producer.produce(event.topic, key=event.key(), value=value)
                break
            except BufferError:
                producer.poll(0.05)
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


def logged_feedback(world: SyntheticWorld, impressions: int, seed: int = 2) -> pd.DataFrame:
    """Logged bandit feedback in the wide format of :mod:`services.offline_eval.logged`,
    from a uniformly random logging policy."""
    rows = []
    for event in traffic(world, impressions, seed=seed, click_delay_ms=1):
        if isinstance(event, ImpressionServed):
            rows.append(
                {
                    "impression_id": event.request_id,
                    "ad_id": event.ad_id,
                    "segment": event.segment,
                    "propensity": event.propensity,
                    "reward": 0.0,
                    **{f"slot:{slot}": element for slot, element in event.elements.items()},
                }
            )
        elif isinstance(event, ClickRecorded):
            rows[int(event.request_id.rsplit("-", 1)[1])]["reward"] = 1.0
    return pd.DataFrame(rows)


def true_value(world: SyntheticWorld, contexts: Iterable[tuple[str, str]], policy) -> float:
    """The evaluated policy's real click rate over ``contexts`` (ad, segment)."""
    values = []
    for ad, segment in contexts:
        predicted, best = policy.predictions(ad, segment)
        truth = {combo: world.click_probability(ad, segment, dict(combo)) for combo in predicted}
        values.append(
            (1 - policy.epsilon) * truth[best]
            + policy.epsilon * float(np.mean(list(truth.values())))
        )
    return float(np.mean(values))
