"""Reading adcraft's topics in a test: from their start, assigned (no group to join)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from adcraft.shared.adapters import kafka
from adcraft.shared.runtime.settings import Settings

Source = tuple[str, int, int]  # the topic, partition and offset a dead letter names


def _from_start(settings: Settings, names: tuple[str, ...]) -> tuple[Consumer, set]:
    """A consumer assigned every partition of ``names`` at their start, and those
    partitions; it reports reaching each one's end."""
    consumer = kafka.consumer(
        settings.kafka, f"reader-{uuid.uuid4().hex}", **{"enable.partition.eof": True}
    )
    assigned = [
        TopicPartition(name, p, OFFSET_BEGINNING)
        for name in names
        for p in consumer.list_topics(name, timeout=10).topics[name].partitions
    ]
    consumer.assign(assigned)
    return consumer, {(tp.topic, tp.partition) for tp in assigned}


def read_to_end(settings: Settings, *names: str, timeout_s: float = 60.0) -> list[Message]:
    """Every message of the topics ``names``, from their start to the end each partition
    had when first fetched (its high-water mark then): what was acknowledged before."""
    consumer, open_ = _from_start(settings, names)
    messages: list[Message] = []
    deadline = time.monotonic() + timeout_s
    try:
        while open_:
            assert time.monotonic() < deadline, f"{sorted(open_)} not read to their end"
            for message in consumer.consume(1_000, timeout=0.2):
                error = message.error()
                if error is None:
                    messages.append(message)
                elif error.code() == KafkaError._PARTITION_EOF:
                    open_.discard((message.topic(), message.partition()))
    finally:
        consumer.close()
    return messages


class Follower:
    """Follows topics from their start, keeping every message read."""

    def __init__(self, settings: Settings, *names: str) -> None:
        self.consumer, _ = _from_start(settings, names)
        self.messages: list[Message] = []

    def read(self) -> list[Message]:
        """One fetch: what arrived since the last, also appended to :attr:`messages`."""
        batch = [m for m in self.consumer.consume(1_000, 0.1) if m.error() is None]
        self.messages += batch
        return batch

    def until(self, done: Callable[[list[Message]], bool], timeout_s: float = 60.0) -> list:
        """Read until ``done(messages)``; fail after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while not done(self.messages):
            assert time.monotonic() < deadline, f"only {len(self.messages)} messages"
            self.read()
        return self.messages

    def close(self) -> None:
        self.consumer.close()


def source_of(letter: Message) -> tuple[Source, dict]:
    """Where a dead letter came from, and its headers (with its payload's ``size``)."""
    headers = {k: v.decode() for k, v in letter.headers() or ()}
    source = (
        headers["adcraft.source.topic"],
        int(headers["adcraft.source.partition"]),
        int(headers["adcraft.source.offset"]),
    )
    return source, headers | {"size": len(letter.value() or b"")}
