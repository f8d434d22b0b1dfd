"""The ad server and its users, simulated: creative requests at a steady rate, then for each
recommendation an impression and, by the world's known truth, a click. What it records
(latency, path, whether the answer was the truly best combination) is what the demo shows
and the closed-loop tests assert on."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
from confluent_kafka import OFFSET_END, TopicPartition

from adcraft.services.simulator.world import SEGMENTS, SyntheticWorld
from adcraft.shared.adapters import kafka
from adcraft.shared.contract import codec
from adcraft.shared.contract.events import (
    ClickRecorded,
    ConversionRecorded,
    CreativeRequested,
    ImpressionServed,
    RecommendationPublished,
    Who,
)
from adcraft.shared.contract.topics import RequestTopics, RewardTopics
from adcraft.shared.runtime.settings import Settings

CONVERSION_RATE = 0.1  # of clicks
ORDER_VALUE = 40.0


@dataclass(frozen=True)
class Served:
    """One recommendation as the ad server received it."""

    received_s: float
    latency_ms: float  # request sent → recommendation received
    answered_ms: float  # request sent → recommendation stamped by the worker
    path: str
    reason: str
    arm: str
    best: bool
    copy_source: str
    copy_text: str
    user_id: str = ""
    clicked: bool = False  # by the world's true probability (only when impressions are shown)


@dataclass
class Tally:
    """Requests sent and recommendations received (each request id once)."""

    sent: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # ts, ad, segment
    served: dict[str, Served] = field(default_factory=dict)
    duplicates: int = 0

    def window(self, start_s: float, end_s: float) -> list[Served]:
        """Recommendations received in [start_s, end_s)."""
        return [s for s in self.served.values() if start_s <= s.received_s < end_s]


class AdServer:
    """See the module docstring. :meth:`start` runs the requests and the serving side on
    threads until :meth:`stop`."""

    def __init__(
        self,
        settings: Settings,
        world: SyntheticWorld,
        rate: float,
        deadline_ms: int = 200,
        seed: int = 0,
        users: int = 1_000,
        feedback: bool = True,
        topics: RequestTopics = RequestTopics(),  # noqa: B008 (frozen)
        feedback_topics: RewardTopics = RewardTopics(),  # noqa: B008 (frozen)
    ) -> None:
        self.settings, self.world, self.rate, self.deadline_ms = settings, world, rate, deadline_ms
        self.topics, self.feedback, self.users = topics, feedback_topics, users
        self.shows = feedback  # publish impressions and clicks
        self.rng = np.random.default_rng(seed)  # the requests' thread
        self.clicks = np.random.default_rng([seed, 1])  # the serving thread
        self.tally = Tally()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._best = {
            (ad, segment): world.best(ad, segment)
            for ad in world.catalog.ads
            for segment in SEGMENTS
        }
        self._threads = [
            threading.Thread(target=self._request, name="ad-server-requests", daemon=True),
            threading.Thread(target=self._serve, name="ad-server-serve", daemon=True),
        ]
        self._listening = threading.Event()

    def start(self) -> AdServer:
        """Start serving, then requesting."""
        self._threads[1].start()
        self._listening.wait(30)
        self._threads[0].start()
        return self

    def stop(self, drain_s: float = 5.0) -> Tally:
        """Stop requesting, wait up to ``drain_s`` for the answers still due, stop."""
        self._stop.set()
        self._threads[0].join(10)
        deadline = time.monotonic() + drain_s
        while time.monotonic() < deadline and len(self.tally.served) < len(self.tally.sent):
            time.sleep(0.1)
        self._listening.clear()
        self._threads[1].join(10)
        return self.tally

    def window(self, start_s: float, end_s: float = float("inf")) -> list[Served]:
        """Recommendations received so far in [start_s, end_s) (wall-clock seconds)."""
        with self._lock:
            return self.tally.window(start_s, end_s)

    def _request(self) -> None:
        producer = kafka.producer(self.settings.kafka, **{"linger.ms": 5})
        ads = list(self.world.catalog.ads)
        started, sent = time.monotonic(), 0
        while not self._stop.is_set():
            due = started + sent / self.rate
            if (wait := due - time.monotonic()) > 0:
                time.sleep(wait)
            request = self._next(ads, sent)
            with self._lock:
                self.tally.sent[request.request_id] = (
                    request.ts_ms,
                    request.ad_id,
                    request.segment,
                )
            kafka.produce(producer, self.topics.requests, request.key(), codec.encode(request))
            producer.poll(0)
            sent += 1
        producer.flush(10)

    def _next(self, ads: list[str], index: int) -> CreativeRequested:
        ad = ads[int(self.rng.integers(len(ads)))]
        rid = f"req-{uuid.uuid4().hex[:16]}"
        return CreativeRequested(
            event_id=rid,
            ts_ms=int(time.time() * 1000),
            ad_id=ad,
            request_id=rid,
            user_id=f"u{int(self.rng.integers(self.users))}",
            product_id=f"p-{ad}",
            placement="feed",
            segment=SEGMENTS[int(self.rng.integers(len(SEGMENTS)))],
            deadline_ms=self.deadline_ms,
        )

    def _serve(self) -> None:
        consumer = kafka.consumer(
            self.settings.kafka, f"ad-server-{uuid.uuid4().hex}", **{"fetch.wait.max.ms": 10}
        )
        producer = kafka.producer(self.settings.kafka)
        topic = self.topics.recommendations
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_END) for p in partitions])
        self._listening.set()
        while self._listening.is_set():
            for message in consumer.consume(500, timeout=0.005):
                if message.error() is None:
                    self._show(codec.decode(message.value(), RecommendationPublished), producer)
            producer.poll(0)
        producer.flush(10)
        consumer.close()

    def _show(self, recommendation: RecommendationPublished, producer) -> None:  # type: ignore[no-untyped-def]
        """Record the recommendation, show it, and click it with its true probability."""
        now = time.time()
        rid = recommendation.request_id
        with self._lock:
            requested = self.tally.sent.get(rid)
            if requested is None:
                return  # another run's request
            if rid in self.tally.served:
                self.tally.duplicates += 1
                return
            ts_ms, ad, segment = requested
            elements = dict(recommendation.elements)
            truth = self.world.click_probability(ad, segment, elements)
            clicked = self.shows and self.clicks.random() < truth
            self.tally.served[rid] = Served(
                now,
                now * 1000 - ts_ms,
                recommendation.ts_ms - ts_ms,
                recommendation.path,
                recommendation.reason,
                recommendation.arm,
                elements == self._best[ad, segment],
                recommendation.copy_source,
                recommendation.copy_text.get("copy", ""),
                recommendation.user_id,
                clicked,
            )
        if not self.shows:
            return
        shown_ms = int(now * 1000)
        who: Who = {"ad_id": ad, "request_id": rid, "user_id": recommendation.user_id}
        impression = ImpressionServed(
            event_id=f"i-{rid}",
            ts_ms=shown_ms,
            **who,
            elements=elements,
            propensity=recommendation.propensity,
            segment=segment,
            experiment=recommendation.experiment,
            arm=recommendation.arm,
            path=recommendation.path,
            copy_variant=recommendation.copy_variant,
        )
        kafka.produce(
            producer, self.feedback.impressions, impression.key(), codec.encode(impression)
        )
        if clicked:
            click = ClickRecorded(event_id=f"c-{rid}", ts_ms=shown_ms + 50, **who)
            kafka.produce(producer, self.feedback.clicks, click.key(), codec.encode(click))
            if self.clicks.random() < CONVERSION_RATE:
                bought = ConversionRecorded(
                    event_id=f"v-{rid}", ts_ms=shown_ms + 100, **who, value=ORDER_VALUE
                )
                kafka.produce(
                    producer, self.feedback.conversions, bought.key(), codec.encode(bought)
                )
