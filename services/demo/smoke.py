"""A smoke round-trip: an event through Kafka, a score through Redis, two calls to Triton."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import numpy as np

from adcraft.shared.adapters import kafka, redis_client, score_store
from adcraft.shared.adapters.copy_client import CopyClient, WrittenCopy
from adcraft.shared.adapters.triton_client import TritonClient
from adcraft.shared.contract import codec, topics
from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.contract.events import ClickRecorded, ElementScored
from adcraft.shared.runtime.settings import Settings

DEMO_BRIEF = CopyBrief(
    "dress",
    "Dresses",
    ("flowy", "soft"),
    "adult",
    "warm",
    "urgent",
    "description",
    "for summer days",
)


def smoke(settings: Settings) -> Iterator[str]:
    """Round-trip an event through Kafka, a score through Redis and a call through Triton."""
    kafka.ensure_topics(settings.kafka, topics.ALL, compacted=topics.COMPACTED)
    now = int(time.time() * 1000)
    click = ClickRecorded(
        event_id=uuid.uuid4().hex, ts_ms=now, ad_id="ad-demo", request_id="req-1", user_id="user-1"
    )
    producer = kafka.producer(settings.kafka)
    producer.produce(topics.CLICKS, key=click.key(), value=codec.encode(click))
    producer.flush(10)
    consumer = kafka.consumer(settings.kafka, f"demo-{uuid.uuid4().hex[:6]}")
    consumer.subscribe([topics.CLICKS])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            echoed = codec.decode(message.value(), ClickRecorded)
            yield f"kafka   {topics.CLICKS} round-trip ok: {echoed.event_id == click.event_id}"
            break
    consumer.close()
    store = score_store.ScoreStore(redis_client.client(settings.redis))
    score = ElementScored(
        event_id="s1",
        ts_ms=now,
        ad_id="ad-demo",
        segment="all",
        slot="title",
        element_id="t1",
        score=0.12,
        uncertainty=0.03,
        observations=40,
        model_version="demo",
    )
    store.write([score])
    yield f"redis   score round-trip ok: {store.read('ad-demo', 'all')[('title', 't1')] == score}"
    rank = asyncio.run(_sample(settings))
    yield f"triton  element_sampler ranked [0.1, 0.9, 0.5] as {rank}"
    written = asyncio.run(_write_copy(settings))
    served = " | ".join(written.texts[:2]) or "nothing: post-processing dropped every variant"
    yield f"triton  copy_generator wrote: {served}"


async def _sample(settings: Settings) -> list[int]:
    client = TritonClient(settings.triton)
    try:
        mean = np.array([[0.1, 0.9, 0.5]], np.float32)
        out = await client.infer(
            "element_sampler", {"MEAN": mean, "STD": np.zeros_like(mean)}, ["RANK"]
        )
        return out["RANK"][0].tolist()
    finally:
        await client.close()


async def _write_copy(settings: Settings) -> WrittenCopy:
    client = TritonClient(settings.triton)
    try:
        copy = CopyClient(client, settings.triton.copy_timeout_s)
        (written,) = await copy.write([DEMO_BRIEF], variants=4)
        return written
    finally:
        await client.close()
