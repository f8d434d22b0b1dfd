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
from pathlib import Path

import numpy as np
import orjson

from services.bench.kafka_rates import consume_rate
from services.reward_updater.app import RewardWorker
from services.reward_updater.partition import INPUTS
from services.simulator.streams import live_traffic, publish, traffic
from services.simulator.world import SyntheticWorld
from shared import codec, kafka, keys, score_store, topics
from shared.events import ClickRecorded, ImpressionServed
from shared.segments import SEGMENTS
from shared.settings import RewardSettings, Settings
from shared.stack import Stack
from shared.stack.process import free_port

# Short windows so that a benchmark-sized stream releases labels; production uses minutes.
WINDOWS = {"click_window_ms": 5_000, "conversion_window_ms": 30_000, "hold_ms": 5_000}


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
            rewards = RewardSettings(**WINDOWS, group_id=f"bench-{repeat}")
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
        settings = stack.settings()
        kafka.ensure_topics(settings.kafka, topics.ALL, compacted=topics.COMPACTED)
        catalog.write_bytes(orjson.dumps(world.catalog.model_dump()))
        env = (
            os.environ
            | stack.environment()
            | {f"ADCRAFT_REWARDS__{key.upper()}": str(value) for key, value in WINDOWS.items()}
            | {"ADCRAFT_METRICS_ADDRESS": f"127.0.0.1:{free_port()}"}
        )
        with open(run_dir / "worker.log", "wb") as log:
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "services.cli",
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


def _measure(
    settings: Settings, world: SyntheticWorld, events_per_s: float, duration_s: float
) -> dict[str, float]:
    bucket = RewardSettings(**WINDOWS).learn_interval_ms
    warmup_s = 8.0  # the first consumer-group join takes a few seconds
    clicks: list[tuple[int, str, str]] = []  # (ts, ad, segment)
    segments: dict[str, str] = {}
    sent = [0]
    warm_until = time.time() + warmup_s

    def produce() -> None:
        # The project's producer, as upstream apps would run it: its 5 ms linger is
        # librdkafka's default. (1 ms makes ~1-message batches, and a Tansu fetch lists
        # every batch stored in the partition, so its latency then grows with the log.)
        producer = kafka.producer(settings.kafka)
        for event in live_traffic(world, events_per_s, warmup_s + duration_s):
            producer.produce(event.topic, key=event.key(), value=codec.encode(event))
            producer.poll(0)
            sent[0] += 1
            if isinstance(event, ImpressionServed):
                segments[event.request_id] = event.segment
            elif isinstance(event, ClickRecorded) and event.ts_ms / 1000 > warm_until:
                clicks.append((event.ts_ms, event.ad_id, segments[event.request_id]))
        producer.flush(10)

    # The broker's own delivery latency of the same clicks, for context: it is part of
    # click-to-score, and on some brokers it grows with the log. Same fetch wait as the
    # worker (a broker may hold a fetch for all of it).
    delivery = kafka.consumer(
        settings.kafka,
        f"bench-delivery-{uuid.uuid4().hex[:8]}",
        **{"fetch.wait.max.ms": settings.rewards.fetch_wait_max_ms},
    )
    delivery.subscribe([topics.CLICKS])
    delivered: list[float] = []
    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    redis = score_store.client(settings.redis)
    probe = {
        ad: keys.element_field(slot, elements[0])
        for ad, slots in world.catalog.ads.items()
        for slot, elements in [*slots.items()][:1]
    }
    watched = [(ad, segment) for ad in world.catalog.ads for segment in SEGMENTS]
    latencies: list[float] = []
    pending: list[tuple[int, str, str]] = []
    deadline = time.time() + warmup_s + duration_s + 10
    while time.time() < deadline:
        taken = len(clicks)  # the producer thread only appends
        pending += clicks[:taken]
        del clicks[:taken]
        pipe = redis.pipeline(transaction=False)
        for ad, segment in watched:
            pipe.hget(keys.scores(ad, segment), probe[ad])
        now_ms = time.time() * 1000
        visible = {
            key: orjson.loads(raw)["ts_ms"] if raw else -1
            for key, raw in zip(watched, pipe.execute(), strict=True)
        }
        waiting = []
        for ts, ad, segment in pending:
            if visible[ad, segment] >= (ts // bucket + 1) * bucket:
                latencies.append(now_ms - ts)
            else:
                waiting.append((ts, ad, segment))
        pending = waiting
        received = [m for m in delivery.consume(1000, timeout=0) if m.error() is None]
        now_ms = time.time() * 1000
        for ts in (orjson.loads(message.value())["ts_ms"] for message in received):
            if ts / 1000 > warm_until:
                delivered.append(now_ms - ts)
        if not thread.is_alive() and not clicks and not pending:
            break
        time.sleep(0.01)
    delivery.close()
    elapsed = warmup_s + duration_s
    if not latencies:
        raise RuntimeError("no click became visible in Redis; see the worker log")
    return {
        "offered_load_events_per_s": round(sent[0] / elapsed),
        "click_to_score_p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "click_to_score_p99_ms": round(float(np.percentile(latencies, 99)), 1),
        "clicks_measured": len(latencies),
        "click_delivery_p50_ms": round(float(np.percentile(delivered, 50)), 1),
        "click_delivery_p99_ms": round(float(np.percentile(delivered, 99)), 1),
    }


def run(
    run_dir: Path, impressions: int, events_per_s: float, duration_s: float, ads: int
) -> dict[str, float]:
    """Both measurements, in one run."""
    # Latency first: the throughput phase leaves a large heap behind in this process, and
    # this process also produces the live traffic.
    latencies = latency(run_dir / "latency", events_per_s, duration_s, ads)
    return throughput(run_dir / "throughput", impressions, ads) | latencies
