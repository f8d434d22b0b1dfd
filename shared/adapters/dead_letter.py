"""Dead-letter publishing: the original bytes plus why they were rejected.

A message too large to publish whole goes by reference: cut to fit, marked truncated, with
its original size beside the source topic, partition and offset that still hold it.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import Producer

from adcraft.shared.adapters import kafka
from adcraft.shared.contract import topics
from adcraft.shared.contract.sources import Source

MAX_REASON_CHARS = 1_000
MAX_KEY_BYTES = 1_024


class DeadLetters:
    """Publishes rejected messages to the dead-letter topic and counts them by kind.

    A record whose key, value and headers would come to more than ``max_bytes`` goes by
    reference: key (to :data:`MAX_KEY_BYTES`) and value cut so the record fits, with headers
    ``adcraft.truncated: true`` and ``adcraft.original.size`` (bytes of the original value).
    """

    def __init__(
        self, producer: Producer, topic: str = topics.DEAD_LETTER, max_bytes: int = 100_000
    ) -> None:
        self._producer = producer
        self._topic = topic
        self._max_bytes = max_bytes
        self.counts: dict[str, int] = {}

    def publish(self, source: Source, reason: str, kind: str, **produce: Any) -> None:
        """Send the original message (or a reference to it, if too large) on with headers
        naming its origin, ``kind`` and ``reason``.

        ``kind`` is a short, low-cardinality label (``decode``, ``unjoinable`` …) for
        metrics; ``reason`` is the human-readable explanation, cut to
        :data:`MAX_REASON_CHARS` (reasons may quote ids from the message). ``produce``
        goes to ``Producer.produce`` (e.g. ``on_delivery``).
        """
        headers = {
            "adcraft.reason": reason[:MAX_REASON_CHARS].encode(),
            "adcraft.kind": kind.encode(),
            "adcraft.source.topic": source.topic.encode(),
            "adcraft.source.partition": str(source.partition).encode(),
            "adcraft.source.offset": str(source.offset).encode(),
        }
        key, value = source.key, source.value
        if len(key or b"") + len(value or b"") + _size(headers) > self._max_bytes:
            headers["adcraft.truncated"] = b"true"
            headers["adcraft.original.size"] = str(len(value or b"")).encode()
            key = key and key[:MAX_KEY_BYTES]
            room = self._max_bytes - len(key or b"") - _size(headers)
            value = (value or b"")[: max(room, 0)]
        kafka.produce(self._producer, self._topic, key, value, headers=headers, **produce)
        self.counts[kind] = self.counts.get(kind, 0) + 1


def _size(headers: dict[str, bytes]) -> int:
    """Bytes the headers add to a record."""
    return sum(len(name) + len(value) for name, value in headers.items())
