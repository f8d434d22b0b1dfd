"""``adcraft bench rewards``: the full reward path next to the raw consume rate of the same
broker, and click-to-score-visible latency at a fixed offered load."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson
from redis import Redis

from adcraft.services.bench.kafka_rates import consume_rate
from adcraft.services.reward_updater.app import RewardWorker
from adcraft.services.reward_updater.partition import INPUTS
from adcraft.services.simulator.streams import SHORT_WINDOWS, live_traffic, publish, traffic
from adcraft.services.simulator.world import SyntheticWorld
from adcraft.services.stack import Stack
from adcraft.services.stack.process import free_port
from adcraft.shared.adapters import kafka, redis_client
from adcraft.shared.contract import codec, keys, topics
from adcraft.shared.contract.events import ClickRecorded, ImpressionServed
from adcraft.shared.contract.segments import SEGMENTS
from adcraft.shared.runtime.settings import RewardSettings, Settings

# Longer than the tests' windows: the benchmark's clicks arrive up to 2 s after their
# impression, and none of them should be dead-lettered as outside the window.
WINDOWS: RewardSettings = SHORT_WINDOWS.model_copy(
    update={"click_window_ms": 5_000, "conversion_window_ms": 30_000, "hold_ms": 5_000}
)


def throughput(run_dir: Path, impressions: int, ads: int, repeats: int = 3) -> dict[str, float]:
    """Backlog of events through raw consume and through the whole reward path, alternated
    ``repeats`` times (fresh consumer group each time); medians, since this machine's
    run-to-run noise is as large as the effects measured."""
    world = SyntheticWorld.create(ads=ads)
    # Event times 20 µs apart: the backlog stands for a 50k impressions/s stream.
    events = list(traffic(world, impressions, spacing_ms=0.02))
    raw, path = [], []
    with Stack(run_dir=run_dir, services=("broker", "redis")) as stack:
        base = stack.settings()
        kafka.ensure_topics(base.kafka, topics.ALL, compacted=topics.COMPACTED)
        publish(kafka.producer(base.kafka), events)
        for repeat in range(repeats):
            raw.append(consume_rate(base.kafka, list(INPUTS), len(events)))
            rewards = WINDOWS.model_copy(update={"group_id": f"bench-{repeat}"})
            path.append(
                _reward_path(
                    Settings(kafka=base.kafka, redis=base.redis, rewards=rewards),
                    world,
                    len(events),
                )
            )
    return {
        "events": len(events),
        "raw_consume_msgs_per_s": round(float(np.median(raw))),
        "reward_path_events_per_s": round(float(np.median(path))),
        "ratio": round(float(np.median(path) / np.median(raw)), 3),
    }


def _reward_path(settings: Settings, world: SyntheticWorld, count: int) -> float:
    """Events/s of a fresh worker through ``count`` backlogged events after its first batch,
    flush included. It polls with the worker's own short timeout, so the last, partial batch
    is not followed by an idle wait."""
    worker = RewardWorker(settings, world.catalog)
    worker.start()
    applied, first, start = 0, 0, 0.0
    while applied < count:
        applied += worker.poll_once()
        if applied and not first:
            first, start = applied, time.perf_counter()
    worker.flush()
    rate = (count - first) / (time.perf_counter() - start)
    worker.close()
    del worker
    gc.collect()  # free its clients and state before the next measurement
    return rate


def latency(run_dir: Path, events_per_s: float, duration_s: float, ads: int) -> dict[str, float]:
    """Live traffic into a running ``adcraft worker rewards``; time from each click until
    Redis holds scores learned from it."""
    world = SyntheticWorld.create(ads=ads)
    catalog = run_dir / "catalog.json"
    with Stack(run_dir=run_dir, services=("broker", "redis")) as stack:
        settings = stack.settings().model_copy(
            update={"rewards": WINDOWS, "metrics_address": f"127.0.0.1:{free_port()}"}
        )
        kafka.ensure_topics(settings.kafka, topics.ALL, compacted=topics.COMPACTED)
        catalog.write_bytes(orjson.dumps(world.catalog.model_dump()))
        env = os.environ | settings.environment()
        with open(run_dir / "worker.log", "wb") as log:
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "adcraft.services.cli",
                    "worker",
                    "rewards",
                    "--catalog",
                    str(catalog),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            return _measure(settings, world, events_per_s, duration_s)
        finally:
            worker.terminate()
            worker.wait(30)


class _Offered(threading.Thread):
    """Live traffic through the project's producer, as upstream apps would run it (its
    5 ms linger is librdkafka's default; 1 ms makes ~1-message batches, and a Tansu fetch
    lists every batch stored in the partition, so its latency then grows with the log).
    Clicks sent after the warm-up are kept, with their segment, for :meth:`take`."""

    def __init__(self, settings: Settings, world: SyntheticWorld, rate: float, seconds: float):
        super().__init__(daemon=True)
        self.settings, self.world, self.rate, self.seconds = settings, world, rate, seconds
        self.warm_until = 0.0  # epoch seconds; clicks before it are warm-up
        self.clicks: list[tuple[int, str, str]] = []  # (ts, ad, segment)
        self.sent = 0

    def run(self) -> None:
        producer = kafka.producer(self.settings.kafka)
        segments: dict[str, str] = {}
        for event in live_traffic(self.world, self.rate, self.seconds):
            kafka.produce(producer, event.topic, event.key(), codec.encode(event))
            producer.poll(0)
            self.sent += 1
            if isinstance(event, ImpressionServed):
                segments[event.request_id] = event.segment
            elif isinstance(event, ClickRecorded) and event.ts_ms / 1000 > self.warm_until:
                self.clicks.append((event.ts_ms, event.ad_id, segments[event.request_id]))
        producer.flush(10)

    def take(self) -> list[tuple[int, str, str]]:
        """The clicks recorded since the last call (this thread only appends)."""
        taken = len(self.clicks)
        out = self.clicks[:taken]
        del self.clicks[:taken]
        return out


def _score_times(redis: Redis, world: SyntheticWorld) -> Callable[[], dict[tuple[str, str], int]]:
    """A probe of Redis: per (ad, segment), the event time its scores were learned up to
    (one element per ad is read; -1 while none)."""
    probe = {
        ad: keys.element_field(slot, elements[0])
        for ad, slots in world.catalog.ads.items()
        for slot, elements in [*slots.items()][:1]
    }
    watched = [(ad, segment) for ad in world.catalog.ads for segment in SEGMENTS]

    def read() -> dict[tuple[str, str], int]:
        pipe = redis.pipeline(transaction=False)
        for ad, segment in watched:
            pipe.hget(keys.scores(ad, segment), probe[ad])
        raws = pipe.execute()
        return {
            key: orjson.loads(raw)["ts_ms"] if raw else -1
            for key, raw in zip(watched, raws, strict=True)
        }

    return read


def _measure(
    settings: Settings, world: SyntheticWorld, events_per_s: float, duration_s: float
) -> dict[str, float]:
    bucket = settings.rewards.learn_interval_ms
    warmup_s = 8.0  # the first consumer-group join takes a few seconds
    offered = _Offered(settings, world, events_per_s, warmup_s + duration_s)
    offered.warm_until = time.time() + warmup_s
    # The broker's own delivery latency of the same clicks, for context: it is part of
    # click-to-score, and on some brokers it grows with the log. Same fetch wait as the
    # worker (a broker may hold a fetch for all of it).
    delivery = kafka.consumer(
        settings.kafka,
        f"bench-delivery-{uuid.uuid4().hex[:8]}",
        **{"fetch.wait.max.ms": settings.rewards.fetch_wait_max_ms},
    )
    delivery.subscribe([topics.CLICKS])
    score_times = _score_times(redis_client.client(settings.redis), world)
    offered.start()
    latencies: list[float] = []
    delivered: list[float] = []
    pending: list[tuple[int, str, str]] = []
    deadline = time.time() + warmup_s + duration_s + 10
    while time.time() < deadline:
        pending += offered.take()
        visible, now_ms = score_times(), time.time() * 1000
        learned = [
            visible[ad, segment] >= (ts // bucket + 1) * bucket for ts, ad, segment in pending
        ]
        latencies += [now_ms - c[0] for c, done in zip(pending, learned, strict=True) if done]
        pending = [c for c, done in zip(pending, learned, strict=True) if not done]
        received = [m for m in delivery.consume(1000, timeout=0) if m.error() is None]
        now_ms = time.time() * 1000
        times = (orjson.loads(message.value() or b"{}")["ts_ms"] for message in received)
        delivered += [now_ms - ts for ts in times if ts / 1000 > offered.warm_until]
        if not offered.is_alive() and not pending:
            break
        time.sleep(0.01)
    delivery.close()
    if not latencies:
        raise RuntimeError("no click became visible in Redis; see the worker log")
    return {
        "offered_load_events_per_s": round(offered.sent / (warmup_s + duration_s)),
        **_percentiles("click_to_score", latencies),
        "clicks_measured": len(latencies),
        **_percentiles("click_delivery", delivered),
    }


def _percentiles(name: str, values: list[float]) -> dict[str, float]:
    return {f"{name}_p{q}_ms": round(float(np.percentile(values, q)), 1) for q in (50, 99)}


def run(
    run_dir: Path, impressions: int, events_per_s: float, duration_s: float, ads: int
) -> dict[str, float]:
    """Both measurements, in one run."""
    # Latency first: the throughput phase leaves a large heap behind in this process, and
    # this process also produces the live traffic.
    latencies = latency(run_dir / "latency", events_per_s, duration_s, ads)
    return throughput(run_dir / "throughput", impressions, ads) | latencies
