"""``adcraft bench requests``: request → recommendation latency through the whole serving
path (broker, request worker, Redis, Triton's combination generator, broker) at fixed
offered loads, next to what its parts cost alone: the broker's own delivery of the same
request messages, and the generator called in-process. Copy comes from a filled cache."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import orjson
import torch
from confluent_kafka import OFFSET_END, TopicPartition

from adcraft.services.bench.combos import _timed
from adcraft.services.combinations import export, serving
from adcraft.services.request_worker import copy_choice
from adcraft.services.request_worker.policy import candidates
from adcraft.services.simulator.ad_server import AdServer
from adcraft.services.simulator.listings import listings
from adcraft.services.simulator.world import SEGMENTS, SyntheticWorld
from adcraft.services.stack import Stack
from adcraft.services.stack.worker import WorkerProcess
from adcraft.shared.adapters import kafka, redis_client
from adcraft.shared.contract import codec, keys, topics
from adcraft.shared.contract.combination_contract import pack, unpack
from adcraft.shared.contract.copy_pool import Pool, facts
from adcraft.shared.runtime.settings import Settings

DEADLINE_MS = 1_000


class BrokerDelivery(threading.Thread):
    """Reads the request topic as a plain consumer: when each request reached a reader."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.consumer = kafka.consumer(
            settings.kafka, f"bench-{uuid.uuid4().hex}", **{"fetch.wait.max.ms": 10}
        )
        topic = topics.CREATIVE_REQUESTS
        partitions = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
        self.consumer.assign([TopicPartition(topic, p, OFFSET_END) for p in partitions])
        self.seen: list[tuple[float, float]] = []  # (received s, latency ms)
        self.running = True

    def run(self) -> None:
        while self.running:
            for message in self.consumer.consume(500, timeout=0.005):
                if message.error() is None:
                    now = time.time()
                    sent_ms = orjson.loads(message.value() or b"{}")["ts_ms"]
                    self.seen.append((now, now * 1000 - sent_ms))
        self.consumer.close()


def in_process_p99(world: SyntheticWorld, settings: Settings, calls: int = 2_000) -> float:
    """p99 (ms) of the generator's whole path for one request in this process: pack, check,
    sample, unpack, on the world's ads at the shape the worker pads to."""
    torch.set_num_threads(1)
    model, _ = export.load()
    shape = (settings.triton.combos_slots, settings.triton.combos_candidates)
    ads = [candidates(x, None, "young", 1.4) for x in listings(world, 0)]
    seeds = itertools.count()

    def call() -> None:
        seed = next(seeds)
        arrays, layouts = pack([ads[seed % len(ads)]], shape, 1, seed=seed)
        unpack(serving.answer(model, [serving.parse(arrays)])[0], layouts)

    return float(np.percentile(_timed(call, calls), 99)) * 1000


def fill_copy_cache(settings: Settings, world: SyntheticWorld) -> None:
    """A pool of plain copy for every (ad, segment, style): the bench measures the request
    path, not copy generation."""
    redis = redis_client.client(settings.redis)
    for listing in listings(world, 0):
        for segment in SEGMENTS:
            for style in listing.slots["copy"]:
                brief = copy_choice.brief(listing, segment, style)
                assert brief is not None  # the simulator's facts are plain words
                texts = [
                    f"The {listing.product} for you. Shop it {day}." for day in ("now", "today")
                ]
                variants = [(copy_choice.variant_id(text), text) for text in texts]
                pool = Pool("bench", facts(brief), 0, variants)
                redis.set(keys.copy_pool(listing.ad_id, segment, style), pool.encode())


def one_load(settings: Settings, world: SyntheticWorld, rate: float, seconds: float) -> dict:
    """Figures of one offered load (the first second, a warm-up, left out)."""
    probe = BrokerDelivery(settings)
    probe.start()
    server = AdServer(settings, world, rate, DEADLINE_MS, feedback=False).start()
    started = time.time()
    time.sleep(seconds + 1)
    ended = time.time()
    tally = server.stop(drain_s=10)
    probe.running = False
    probe.join(10)
    window = [s for s in tally.served.values() if started + 1 <= s.received_s < ended]
    e2e = [s.latency_ms for s in window]
    out = [s.latency_ms - s.answered_ms for s in window]  # recommendation: worker → ad server
    broker = [ms for received, ms in probe.seen if started + 1 <= received < ended]
    return {
        "offered_rps": rate,
        "achieved_rps": round(len(window) / (ended - started - 1), 1),
        "answered": len(tally.served),
        "requested": len(tally.sent),
        "e2e_p50_ms": round(float(np.percentile(e2e, 50)), 2),
        "e2e_p99_ms": round(float(np.percentile(e2e, 99)), 2),
        "broker_p99_ms": round(float(np.percentile(broker, 99)), 2),
        "answered_p99_ms": round(float(np.percentile([s.answered_ms for s in window], 99)), 2),
        "recommendation_delivery_p99_ms": round(float(np.percentile(out, 99)), 2),
        "model_share": round(sum(s.path == "model" for s in window) / len(window), 3),
    }


def run(run_dir: Path, loads: list[float], seconds: float) -> dict[str, object]:
    """Every load in one run; the 500 requests/s row (or the last) at the top level."""
    world = SyntheticWorld.create(ads=4, copy_styles=3)
    with Stack(
        run_dir=run_dir, services=("broker", "redis", "triton"), models=["combination_generator"]
    ) as stack:
        settings = stack.settings()
        kafka.ensure_topics(settings.kafka, topics.ALL, compacted=topics.COMPACTED)
        producer = kafka.producer(settings.kafka)
        for listing in listings(world, int(time.time() * 1000)):
            producer.produce(listing.topic, key=listing.key(), value=codec.encode(listing))
        producer.flush(10)
        fill_copy_cache(settings, world)
        log = run_dir / "request-worker.log"
        worker = WorkerProcess(settings, "requests", log).start().ready()
        try:
            rows = [one_load(settings, world, rate, seconds) for rate in loads]
        finally:
            worker.stop_cleanly()
    inprocess = round(in_process_p99(world, settings), 3)
    for row in rows:
        row["inprocess_p99_ms"] = inprocess
        row["overhead_ratio"] = round(row["e2e_p99_ms"] / (row["broker_p99_ms"] + inprocess), 2)
        # The path crosses the broker twice (request in, recommendation out):
        both = row["broker_p99_ms"] + row["recommendation_delivery_p99_ms"] + inprocess
        row["overhead_ratio_both_hops"] = round(row["e2e_p99_ms"] / both, 2)
    headline = next((r for r in rows if r["offered_rps"] == 500), rows[-1])
    return {"loads": rows} | headline
