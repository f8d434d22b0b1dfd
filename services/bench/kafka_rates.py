"""Raw produce and consume rates of a broker, the baseline every stream figure is set against."""

from __future__ import annotations

import time
import uuid

from adcraft.shared.adapters import kafka
from adcraft.shared.runtime.settings import KafkaSettings


def produce_rate(settings: KafkaSettings, topic: str, payloads: list[bytes]) -> float:
    """Produce ``payloads`` (keyed round-robin) and return msgs/s until all are acknowledged."""
    producer = kafka.producer(settings, **{"linger.ms": 20})
    keys = [str(i).encode() for i in range(64)]
    start = time.perf_counter()
    for i, payload in enumerate(payloads):
        kafka.produce(producer, topic, keys[i % 64], payload)
    remaining = producer.flush(60)
    elapsed = time.perf_counter() - start
    if remaining:
        raise RuntimeError(f"{remaining} messages not acknowledged")
    return len(payloads) / elapsed


def consume_rate(
    settings: KafkaSettings, topics: list[str], count: int, timeout_s: float = 120
) -> float:
    """Read ``count`` messages with a fresh group; msgs/s after the first batch arrived.

    Each call asks for no more than is left: ``consume`` waits out its timeout for a batch
    it cannot fill, which would otherwise end the measurement with an idle wait."""
    consumer = kafka.consumer(settings, f"bench-{uuid.uuid4().hex[:8]}")
    consumer.subscribe(topics)
    seen, first, start = 0, 0, 0.0
    deadline = time.monotonic() + timeout_s
    try:
        while seen < count and time.monotonic() < deadline:
            batch = consumer.consume(num_messages=min(1000, count - seen), timeout=0.5)
            seen += sum(1 for message in batch if message.error() is None)
            if seen and not first:
                first, start = seen, time.perf_counter()
        if seen < count or seen == first:
            raise RuntimeError(f"consumed {seen} of {count} messages before the deadline")
        return (count - first) / (time.perf_counter() - start)
    finally:
        consumer.close()
