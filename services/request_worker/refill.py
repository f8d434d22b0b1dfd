"""The copy pools' writer, off the request path: copy is written ahead of demand.

Every ``pool_sweep_s`` each listed ad's pools (one per segment and copy style) are read,
and those missing, thin, stale (written from facts the listing no longer has) or outdated
(written by another version of the copy model than it now serves) are asked for; a
request that finds its pool so asks too, and goes first. Every answer of the copy model
says its version; with none for ``model_check_s``, the sweep asks it (one token), so a new
model is noticed even when no pool is due. Asking never waits: each
(ad, segment, style) has at most one write queued or in flight (more asks coalesce), a
failed one rests before it is asked again, and past ``refill_queue`` queued jobs an ask is
dropped and counted, so a slow copy model (copy is written on CPU here, seconds a call)
never holds up an answer. A pool is rewritten whole; its review decisions are not touched."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter

from adcraft.services.experiments.assignment import unit_hash
from adcraft.services.request_worker import copy_choice, failures
from adcraft.services.request_worker.failures import Failure
from adcraft.services.request_worker.parts import Parts
from adcraft.services.request_worker.responder import Refill
from adcraft.shared.contract.copy_pool import Pool, facts
from adcraft.shared.contract.events import COPY_SLOT, AdListed
from adcraft.shared.contract.segments import SEGMENTS
from adcraft.shared.runtime import logs
from adcraft.shared.runtime.settings import Settings

log = logging.getLogger("adcraft.requests")
IN_FLIGHT, DEMAND, SWEEP = -1, 0, 1  # a job's place: being written, or queued by whom


class Refiller:
    """Writes the pool of one (ad, segment, copy style) with ``copy_generator``."""

    def __init__(self, settings: Settings, parts: Parts) -> None:
        self.variants = settings.requests.copy_variants
        self.minimum = settings.requests.copy_cache_min
        self.sweep_s = settings.requests.pool_sweep_s
        self.review_required = settings.copywriter.review_required
        self.timeout_s = settings.triton.copy_timeout_s
        self.listings, self.store, self.gateway, self.metrics = parts
        self.retry_s = settings.requests.refill_retry_s
        self.check_s = settings.requests.model_check_s
        self.version: str | None = None  # the copy model's, as its last answer said
        self._version_at = -float("inf")  # when (monotonic)
        self._due: Counter[str] = Counter()  # pools the last sweep asked for, by state
        # (0: a request asked, 1: the sweep did; the order asked, the job): demand first.
        self.queue: asyncio.PriorityQueue[tuple[int, int, Refill]] = asyncio.PriorityQueue(
            settings.requests.refill_queue
        )
        self._asked = itertools.count()
        # Queued jobs → their priority, in flight → IN_FLIGHT: a job is queued once, but a
        # request's ask moves a job the sweep queued to the front (a second entry; the
        # first, stale, is skipped when taken).
        self.pending: dict[Refill, int] = {}
        self.resting: dict[Refill, float] = {}  # failed jobs: when they may be tried again
        self._done = 0

    def ask(self, job: Refill, sweep: bool = False) -> None:
        """Queue ``job`` unless it is queued at this priority or before, in flight, failed
        less than ``refill_retry_s`` ago, or the queue is full (dropped, counted); never
        waits. What requests ask for is written before what the sweep found."""
        priority = SWEEP if sweep else DEMAND
        if self.pending.get(job, SWEEP + 1) <= priority:
            return
        if self.resting.get(job, 0.0) > time.monotonic():
            return
        self.resting.pop(job, None)
        try:
            self.queue.put_nowait((priority, next(self._asked), job))
        except asyncio.QueueFull:
            self.metrics.refills.labels("dropped").inc()
            return
        self.pending[job] = priority

    async def run(self) -> None:
        """Take queued jobs and write them, one at a time, until cancelled."""
        while True:
            priority, _, job = await self.queue.get()
            if self.pending.get(job) != priority:  # moved to the front, or written since
                continue
            self.pending[job] = IN_FLIGHT
            try:
                await self.refill(job)
            finally:
                del self.pending[job]

    async def sweep(self) -> None:
        """Ask for every listed ad's pools that are not a hit, every ``pool_sweep_s``,
        until cancelled; a Redis error waits for the next sweep."""
        while True:
            if time.monotonic() - self._version_at > self.check_s:
                await self._check_version()
            failed: Counter[str] = Counter()
            due: Counter[str] = Counter()
            for listing in self.listings.all():
                try:
                    due.update(await self._sweep_ad(listing))
                except Exception as exc:  # Redis gone, a key of another type: the next ad
                    failed[type(exc).__name__] += 1
            if failed:
                logs.record(log, logging.WARNING, "pool_sweep_failed", ads=dict(failed))
            self._report(due)
            await asyncio.sleep(self.sweep_s)

    async def _sweep_ad(self, listing: AdListed) -> Counter[str]:
        """Ask for the ad's pools that are not a hit; how many, by state."""
        due: Counter[str] = Counter()
        styles = listing.slots.get(COPY_SLOT, [])
        if not styles:
            return due
        found = iter(await self.store.pools(listing.ad_id, list(SEGMENTS), styles))
        for segment in SEGMENTS:
            for style in styles:
                brief = copy_choice.brief(listing, segment, style)
                pooled = next(found)
                if brief is not None:
                    _, result = copy_choice.pooled(
                        pooled, brief, self.review_required, self.minimum, self.version
                    )
                    if result != "hit":
                        due[result] += 1
                        self.ask((listing.ad_id, segment, style), sweep=True)
        return due

    def _report(self, due: Counter[str]) -> None:
        """Pools due, by state, in metrics every sweep and in the log when they change."""
        for state in ("miss", "thin", "stale", "outdated"):
            self.metrics.pools_due.labels(state).set(due[state])
        if due != self._due:
            logs.record(log, logging.INFO, "pools_due", version=self.version, **due)
        self._due = due

    async def _check_version(self) -> None:
        """Ask the copy model for one token of some listed ad's copy to learn its version;
        unanswered, the pools' versions are checked after the next answer."""
        for listing in self.listings.all():
            for style in listing.slots.get(COPY_SLOT, []):
                brief = copy_choice.brief(listing, SEGMENTS[0], style)
                if brief is not None:
                    answer = await self.gateway.write([brief], 1, [0], self.timeout_s, 1)
                    if not isinstance(answer, Failure):
                        self._answered(answer[0].version)
                    return

    def _answered(self, version: str) -> None:
        if version != self.version:
            logs.record(log, logging.INFO, "copy_model", version=version, was=self.version)
        self.version, self._version_at = version, time.monotonic()

    async def refill(self, job: Refill) -> None:
        """Write the variants of ``job``; a failure is counted and logged, never raised."""
        ad_id, segment, style = job
        try:
            listing = self.listings.get(ad_id)
            brief = None if listing is None else copy_choice.brief(listing, segment, style)
            if brief is None:
                return
            seed = int(unit_hash("refill", *job, str(self._done)) * 2**62)
            written = await self.gateway.write([brief], self.variants, [seed], self.timeout_s)
            if isinstance(written, Failure):
                self._failed(job, written)
                return
            (copy,) = written
            self._answered(copy.version)
            if not copy.texts:
                self._failed(job, failures.ALL_DROPPED)
                return
            variants = [(copy_choice.variant_id(text), text) for text in copy.texts]
            pool = Pool(copy.version, facts(brief), int(time.time() * 1000), variants)
            await self.store.write_pool(ad_id, segment, style, pool)
            self._done += 1
            self.metrics.refills.labels("written").inc()
            if len(variants) < self.minimum:  # thin as written: not asked again at once
                self._rest(job)
        except Exception as exc:  # Redis gone mid-write: asked again after the rest
            self._failed(job, failures.of_redis(exc))

    def _rest(self, job: Refill) -> None:
        self.resting[job] = time.monotonic() + self.retry_s
        if len(self.resting) > 10 * self.queue.maxsize:  # forget rests long over
            now = time.monotonic()
            self.resting = {j: until for j, until in self.resting.items() if until > now}

    def _failed(self, job: Refill, why: Failure) -> None:
        self._rest(job)
        self.metrics.refills.labels("failed").inc()
        logs.record(log, logging.WARNING, "refill_failed", style=job[2], reason=str(why))
