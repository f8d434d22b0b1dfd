"""Following the ad catalogue topic: every partition from its first offset, the latest
listing per ad wins (log order within the ad's partition), so nothing relies on
compaction; a record that is not a valid listing is dead-lettered with its reason.

Each worker process follows the whole topic on its own (assigned, no consumer group), from
a thread, so a catalogue of any size never waits on the request path.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from adcraft.shared.adapters import kafka
from adcraft.shared.adapters.dead_letter import DeadLetters
from adcraft.shared.contract import codec
from adcraft.shared.contract.events import AdListed
from adcraft.shared.contract.sources import Source
from adcraft.shared.runtime import logs
from adcraft.shared.runtime.connections import KafkaSettings

log = logging.getLogger("adcraft.catalog")


class Listings:
    """The latest listing of each ad (reads need no lock: one dict lookup)."""

    def __init__(self, listings: list[AdListed] = ()) -> None:  # type: ignore[assignment]
        self._ads: dict[str, AdListed] = {listing.ad_id: listing for listing in listings}
        self.version = 0

    def get(self, ad_id: str) -> AdListed | None:
        """The ad's listing, or None if the catalogue has not listed it."""
        return self._ads.get(ad_id)

    def put(self, listing: AdListed) -> None:
        """A newer listing of its ad replaces the one held."""
        self._ads[listing.ad_id] = listing
        self.version += 1

    def all(self) -> list[AdListed]:
        """Every ad's listing."""
        return list(self._ads.values())

    def __len__(self) -> int:
        return len(self._ads)


class CatalogFeed(threading.Thread):
    """Applies the catalogue topic to ``listings`` until :meth:`close`; :attr:`caught_up` is
    set once every partition has been read to the end it had when first fetched."""

    def __init__(
        self,
        settings: KafkaSettings,
        topic: str,
        dead_letter_topic: str | None,
        listings: Listings,
        rejected: Callable[[str], None] = lambda kind: None,
    ) -> None:
        super().__init__(name="catalog-feed", daemon=True)
        self.topic, self.listings, self._rejected = topic, listings, rejected
        self._producer = kafka.producer(settings)
        # None: a reader that only looks (the worker dead-letters what it refuses).
        self._dead_letters = dead_letter_topic and DeadLetters(self._producer, dead_letter_topic)
        self._consumer = kafka.consumer(
            settings, f"adcraft-catalog-{uuid.uuid4().hex}", **{"enable.partition.eof": True}
        )
        self.caught_up = threading.Event()
        self.rejected = 0
        self.error: str | None = None
        self._closing = threading.Event()

    def run(self) -> None:
        try:
            self._follow()
        except Exception as exc:  # reported by the owner (readiness, exit)
            self.error = f"{type(exc).__name__}: {exc}"
            logs.record(log, logging.ERROR, "catalog_feed_failed", error=self.error)
        finally:
            self._consumer.close()
            self._producer.flush(5)

    def _follow(self) -> None:
        topics = self._consumer.list_topics(self.topic, timeout=10).topics
        partitions = list(topics[self.topic].partitions)
        self._consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in partitions])
        unread = set(partitions)
        while not self._closing.is_set():
            for message in self._consumer.consume(500, timeout=0.2):
                error = message.error()
                if error is not None and error.code() == KafkaError._PARTITION_EOF:
                    unread.discard(message.partition())
                    if not unread and not self.caught_up.is_set():
                        logs.record(log, logging.INFO, "catalog_caught_up", ads=len(self.listings))
                        self.caught_up.set()
                elif error is not None:
                    logs.record(log, logging.WARNING, "catalog_fetch_error", error=error.str())
                else:
                    self._apply(Source.of(message))
            self._producer.poll(0)

    def _apply(self, source: Source) -> None:
        try:
            listing = codec.decode(source.value, AdListed)
        except codec.DecodeError as exc:
            self._reject(source, exc.reason)
            return
        if source.key is not None and source.key != listing.key():
            self._reject(source, "key is not the listing's ad_id")
            return
        self.listings.put(listing)

    def _reject(self, source: Source, reason: str) -> None:
        self.rejected += 1
        if self._dead_letters:
            self._dead_letters.publish(source, reason, "catalog")
        self._rejected("catalog")

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop following."""
        self._closing.set()
        self.join(timeout_s)
