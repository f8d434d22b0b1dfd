"""The copy cache's refills, off the request path: a request that finds too few variants of
its copy style asks for a refill; each (ad, segment, style) has at most one in flight."""

from __future__ import annotations

import logging
import time

from services.experiments.assignment import unit_hash
from services.request_worker import copy_choice
from services.request_worker.gateway import Gateway
from services.request_worker.metrics import RequestMetrics
from services.request_worker.responder import Refill
from services.request_worker.store import RequestStore
from shared import logs
from shared.catalog_feed import Listings
from shared.settings import Settings

log = logging.getLogger("adcraft.requests")


class Refiller:
    """Writes fresh variants of one copy style with ``copy_generator`` into the cache."""

    def __init__(
        self,
        settings: Settings,
        listings: Listings,
        store: RequestStore,
        gateway: Gateway,
        metrics: RequestMetrics,
    ) -> None:
        self.variants = settings.requests.copy_variants
        self.timeout_s = settings.triton.copy_timeout_s
        self.listings, self.store, self.gateway, self.metrics = listings, store, gateway, metrics
        self.retry_s = settings.requests.refill_retry_s
        self.pending: set[Refill] = set()
        self.resting: dict[Refill, float] = {}  # failed jobs: when they may be tried again
        self._done = 0

    def claim(self, job: Refill) -> bool:
        """Whether ``job`` should be queued: not while the same one is in flight, nor for
        ``refill_retry_s`` after it failed."""
        if job in self.pending or self.resting.get(job, 0.0) > time.monotonic():
            return False
        self.resting.pop(job, None)
        self.pending.add(job)
        return True

    async def refill(self, job: Refill) -> None:
        """Write the variants of ``job``; a failure is counted and logged, never raised."""
        ad_id, segment, style = job
        try:
            listing = self.listings.get(ad_id)
            if listing is None:
                return
            brief = copy_choice.brief(listing, segment, style)
            seed = int(unit_hash("refill", *job, str(self._done)) * 2**62)
            written = await self.gateway.write([brief], self.variants, [seed], self.timeout_s)
            if isinstance(written, str) or not written[0]:
                self._failed(job, written if isinstance(written, str) else "all variants dropped")
                return
            variants = [(copy_choice.variant_id(text), text) for text in written[0]]
            await self.store.write_copy(ad_id, segment, style, variants)
            self._done += 1
            self.metrics.refills.labels("written").inc()
        except Exception as exc:  # Redis gone mid-write: asked again after the rest
            self._failed(job, f"{type(exc).__name__}: {str(exc)[:200]}")
        finally:
            self.pending.discard(job)

    def _failed(self, job: Refill, reason: str) -> None:
        self.resting[job] = time.monotonic() + self.retry_s
        self.metrics.refills.labels("failed").inc()
        logs.record(log, logging.WARNING, "refill_failed", style=job[2], reason=reason)
