"""Awaitable Kafka sends for asyncio workers: a confluent-kafka producer whose delivery
reports resolve futures on the caller's loop, so a worker acknowledges its input only after
its output was accepted by the broker (at-least-once)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from adcraft.shared.adapters import kafka

Delivered = Callable[[KafkaError | None, Message], None]


class AsyncProducer:
    """Serves ``producer``'s delivery reports from a thread until :meth:`close`."""

    def __init__(self, producer: Producer) -> None:
        self.producer = producer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="producer-poll", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            self.producer.poll(0.05)

    def delivery(self) -> tuple[asyncio.Future[None], Delivered]:
        """A future on the running loop and the ``on_delivery`` callback that settles it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def settle(error: KafkaError | None, message: Message) -> None:
            loop.call_soon_threadsafe(_settle, future, error)

        return future, settle

    async def send(self, topic: str, key: bytes | None, value: bytes, headers: Any = None) -> None:
        """Produce one message and wait until the broker accepted it; raises
        :class:`KafkaException` if it did not."""
        future, settle = self.delivery()
        kafka.produce(self.producer, topic, key, value, headers=headers, on_delivery=settle)
        await future

    def close(self, timeout_s: float = 5.0) -> int:
        """Flush what is queued and stop; returns how many messages were left undelivered."""
        left = self.producer.flush(timeout_s)
        self._stop.set()
        self._thread.join(timeout_s)
        return left


def _settle(future: asyncio.Future[None], error: KafkaError | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(KafkaException(error))
