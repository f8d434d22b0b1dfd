"""Pools and review decisions in Redis, read and decided from the command line."""

from __future__ import annotations

import time

import redis

from adcraft.shared.adapters import pool_reads
from adcraft.shared.adapters.catalog_feed import CatalogFeed, Listings
from adcraft.shared.adapters.pool_reads import Slot
from adcraft.shared.contract import keys, topics
from adcraft.shared.contract.copy_pool import Decision, Pooled
from adcraft.shared.contract.events import COPY_SLOT, AdListed
from adcraft.shared.contract.segments import SEGMENTS
from adcraft.shared.runtime.settings import Settings


def listed(
    settings: Settings, topic: str = topics.AD_CATALOG, timeout_s: float = 30.0
) -> list[AdListed]:
    """The catalogue topic read to its end: the latest listing of every ad."""
    listings = Listings()
    feed = CatalogFeed(settings.kafka, topic, None, listings)
    feed.start()
    deadline = time.monotonic() + timeout_s
    while not feed.caught_up.wait(0.2) and feed.error is None and time.monotonic() < deadline:
        pass
    feed.close()
    if not feed.caught_up.is_set():
        raise TimeoutError(feed.error or f"the catalogue was not read within {timeout_s:.0f} s")
    return listings.all()


def slots(listings: list[AdListed]) -> list[Slot]:
    """Every (ad, segment, copy style) the listings ask copy for."""
    return [
        (listing.ad_id, segment, style)
        for listing in listings
        for segment in SEGMENTS
        for style in listing.slots.get(COPY_SLOT, [])
    ]


class PoolStore:
    """Reads pools and their decisions; writes decisions (never pools)."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def read(self, wanted: list[Slot]) -> list[Pooled]:
        """Each slot's pool and decisions, in one pipelined round trip."""
        pipe = self.redis.pipeline(transaction=False)
        pool_reads.queue(pipe, wanted)
        return pool_reads.pooled(pipe.execute())

    def decide(self, slot: Slot, variant: str, decision: Decision) -> None:
        """Record a reviewer's decision on one pooled variant."""
        self.redis.hset(keys.copy_review(*slot), variant, decision.encode())
