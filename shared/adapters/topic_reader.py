"""Reading whole topics once: every partition from its start until the consumer reaches its
end (partition EOF, from the high-water mark in fetch responses: listed offsets are wrong on
some brokers), with no consumer group and nothing committed, for exports and reports."""

from __future__ import annotations

import time
from collections.abc import Iterator

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from adcraft.shared.runtime.connections import KafkaSettings


def read_to_end(
    settings: KafkaSettings, topics: list[str], timeout_s: float = 60.0
) -> Iterator[tuple[str, bytes | None]]:
    """(topic, value) of every message now on ``topics`` (a missing topic has none).
    Raises :class:`TimeoutError` if the broker does not deliver them within ``timeout_s``."""
    config = settings.client_config() | {
        "group.id": "adcraft-topic-reader",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
    }
    consumer = Consumer(config)
    try:
        listed = consumer.list_topics(timeout=10).topics
        partitions = [
            TopicPartition(topic, partition, OFFSET_BEGINNING)
            for topic in topics
            if topic in listed and listed[topic].error is None
            for partition in listed[topic].partitions
        ]
        consumer.assign(partitions)
        left = {(tp.topic, tp.partition) for tp in partitions}
        deadline = time.monotonic() + timeout_s
        while left:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(left)} partitions not read to their end in {timeout_s}s")
            for message in consumer.consume(1_000, timeout=0.5):
                error, topic = message.error(), message.topic() or ""
                if error is None:
                    yield topic, message.value()
                elif error.code() == KafkaError._PARTITION_EOF:
                    left.discard((topic, message.partition() or 0))
    finally:
        consumer.close()
