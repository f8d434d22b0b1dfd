"""The request worker's parts put together, runtime-free: the catalogue feed, Redis, Triton,
the responder and the copy refiller; :meth:`RequestWorker.handle` takes one request message
to its one outcome (a recommendation, or a dead letter), published and acknowledged by the
broker before it returns. The stream runtime (``app.py``) only feeds it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from adcraft.services.request_worker import failures
from adcraft.services.request_worker.failures import Failure
from adcraft.services.request_worker.gateway import Gateway
from adcraft.services.request_worker.metrics import RequestMetrics
from adcraft.services.request_worker.parts import Parts
from adcraft.services.request_worker.policy import candidates
from adcraft.services.request_worker.refill import Refiller
from adcraft.services.request_worker.responder import Answer, Responder
from adcraft.services.request_worker.store import RequestStore
from adcraft.shared.adapters import kafka, redis_client
from adcraft.shared.adapters.async_producer import AsyncProducer
from adcraft.shared.adapters.catalog_feed import CatalogFeed, Listings
from adcraft.shared.adapters.combination_client import CombinationClient
from adcraft.shared.adapters.copy_client import CopyClient
from adcraft.shared.adapters.dead_letter import DeadLetters
from adcraft.shared.adapters.triton_client import TritonClient
from adcraft.shared.contract.sources import Source
from adcraft.shared.contract.topics import RequestTopics
from adcraft.shared.runtime import logs
from adcraft.shared.runtime.settings import Settings

log = logging.getLogger("adcraft.requests")


class RequestWorker:
    """See the module docstring. Build it inside the running event loop."""

    def __init__(
        self, settings: Settings, topics: RequestTopics, registry: CollectorRegistry
    ) -> None:
        self.settings, self.topics = settings, topics
        self.listings = Listings()
        self.metrics = RequestMetrics(registry, self.lag)
        self.feed = CatalogFeed(
            settings.kafka,
            topics.catalog,
            topics.dead_letter,
            self.listings,
            lambda kind: self.metrics.dead_letters.labels(kind).inc(),
        )
        self.triton = TritonClient(settings.triton)
        self._causes = logs.Burst(log, "fallbacks")
        self._explained: set[str] = set()  # failure codes whose first exception was logged
        gateway = Gateway(
            CombinationClient(self.triton, settings.triton),
            CopyClient(self.triton, settings.triton.copy_timeout_s),
            settings.requests,
            lambda model, seconds: self.metrics.triton.labels(model).observe(seconds),
            self.trouble,
        )
        self.redis = redis_client.async_client(settings.redis)
        config = settings.requests
        store = RequestStore(self.redis, config.group_id)
        parts = Parts(self.listings, store, gateway, self.metrics)
        self.responder = Responder(settings, parts, trouble=self.trouble)
        self.refiller = Refiller(settings, parts)
        self.producer = AsyncProducer(kafka.producer(settings.kafka, **{"linger.ms": 2}))
        self.dead_letters = DeadLetters(self.producer.producer, topics.dead_letter)
        self.highwater: dict[int, int] = {}
        self.position: dict[int, int] = {}
        self.beat = time.monotonic()
        self.in_flight = 0
        self.progress = time.monotonic()  # the last answer, or the first request after none
        self.redis_refused: Failure | None = None  # a non-transient Redis error, until mended
        self.failed: str | None = None
        self.assigned: Callable[[], bool] = lambda: False  # the runtime says

    def start(self) -> None:
        """Create the topics and start following the catalogue."""
        kafka.ensure_topics(
            self.settings.kafka,
            [self.topics.requests, self.topics.recommendations, self.topics.catalog]
            + [self.topics.dead_letter],
            compacted=[self.topics.catalog],
        )
        self.feed.start()

    async def warm_up(self, calls: int = 8) -> None:
        """Call the generator (and Redis) a few times before serving: first calls are slow
        (connections, Triton's first executions), and without this the first second of
        requests misses its deadlines. Failures are ignored: the fallbacks serve."""
        started = time.monotonic()
        ads = self.listings.all()[:calls]
        answered = 0
        for index, listing in enumerate(ads * (calls // max(len(ads), 1))):
            ad = candidates(listing, None, "all", 1.0)
            proposed = await self.responder.gateway.propose(ad, index, timeout_s=2.0)
            answered += not isinstance(proposed, Failure)
        await self.check_redis()
        logs.record(
            log,
            logging.INFO,
            "warmed_up",
            generator_calls=answered,
            seconds=round(time.monotonic() - started, 2),
        )

    async def handle(self, source: Source) -> None:
        """Answer one request message and publish its outcome; ask for the copy refills
        it needs. Raises only when the broker refused the outcome (fatal)."""
        if self.in_flight == 0:
            self.progress = time.monotonic()
        self.in_flight += 1
        try:
            await self._handle(source)
        finally:
            self.in_flight -= 1
            self.progress = time.monotonic()

    async def _handle(self, source: Source) -> None:
        try:
            answer = await self.responder.answer(source.value)
        except Exception as exc:  # a defect must cost one message, never the worker
            logs.record(log, logging.ERROR, "answer_failed", error=f"{type(exc).__name__}: {exc}")
            why = f"internal error ({type(exc).__name__}); see the request worker's log"
            answer = Answer(kind="error", reason=why)
        if answer.recommendation is None:
            future, settle = self.producer.delivery()
            self.dead_letters.publish(source, answer.reason, answer.kind, on_delivery=settle)
            await future
            self.metrics.dead_letters.labels(answer.kind).inc()
        else:
            recommendation = answer.recommendation
            await self.producer.send(
                self.topics.recommendations, recommendation.ad_id.encode(), answer.encoded
            )
            self.metrics.answers.labels(recommendation.path, recommendation.arm).inc()
            self._timed(answer)
        self.position[source.partition] = max(
            self.position.get(source.partition, -1), source.offset
        )
        for job in answer.refills:
            self.refiller.ask(job)

    def trouble(self, failure: Failure, exc: BaseException) -> None:
        """A fallback's cause: counted in a log line per interval; the exception behind
        each code is logged the first time (it may quote addresses: never published)."""
        self._causes.add(failure.code)
        if failure.code not in self._explained:
            self._explained.add(failure.code)
            logs.record(
                log,
                logging.WARNING,
                "fallback_cause",
                code=failure.code,
                error=f"{type(exc).__name__}: {str(exc)[:300]}",
            )

    async def check_redis(self) -> None:
        """Ping Redis: an error that waiting cannot mend (credentials) turns readiness red
        until a ping succeeds."""
        try:
            await asyncio.wait_for(self.redis.ping(), 2)  # type: ignore[misc]
        except Exception as exc:
            failure = failures.of_redis(exc)
            if not failure.transient:
                if self.redis_refused is None:
                    self.trouble(failure, exc)
                self.redis_refused = failure
            return
        self.redis_refused = None

    async def watch_redis(self, every_s: float = 2.0) -> None:
        """:meth:`check_redis` every ``every_s`` (readiness follows it without traffic)."""
        while True:
            await asyncio.sleep(every_s)
            await self.check_redis()

    def _timed(self, answer: Answer) -> None:
        """Latency and late answers of requests that arrived in time (the others are
        counted on arrival; their timestamps may be anything the contract allows)."""
        if answer.request is None or answer.arrived_late:
            return
        now_ms = time.time() * 1000
        self.metrics.end_to_end.observe(max(now_ms - answer.request.ts_ms, 0) / 1000)
        if now_ms > answer.request.ts_ms + answer.request.deadline_ms:
            self.metrics.deadline_misses.labels("answer").inc()

    def lag(self) -> float:
        """Requests behind the high-water marks last seen, over the partitions handled."""
        return float(
            sum(
                max(self.highwater.get(p, 0) - offset - 1, 0) for p, offset in self.position.items()
            )
        )

    async def watch_batches(self, every_s: float = 5.0) -> None:
        """Record the batch sizes Triton executed for the combination generator (from its
        statistics: only Triton knows how it batched)."""
        seen: dict[int, int] = {}
        while True:
            await asyncio.sleep(every_s)
            try:
                counts = await self.triton.batch_counts("combination_generator")
            except Exception:  # Triton down: the fallbacks are already counted
                continue
            for size, count in counts.items():
                for _ in range(min(count - seen.get(size, 0), 10_000)):
                    self.metrics.batch_size.labels("combination_generator").observe(size)
            seen = counts

    def live(self) -> tuple[bool, str]:
        """Liveness: nothing fatal happened, the event loop turns, and requests in flight
        are being answered (a path stuck on a dependency that never answers is dead)."""
        if self.failed:
            return False, self.failed
        now, limit = time.monotonic(), self.settings.requests.live_max_stall_s
        waiting, problems = now - self.progress, []
        if now - self.beat >= limit:
            problems.append(f"loop beat {now - self.beat:.1f}s ago")
        if self.in_flight and waiting >= limit:
            problems.append(
                f"{self.in_flight} requests in flight, none answered for {waiting:.1f}s"
            )
        return not problems, "; ".join(problems) or f"{self.in_flight} requests in flight"

    def ready(self) -> tuple[bool, str]:
        """Readiness: the catalogue has been read to its end, partitions are assigned, and
        Redis takes our credentials."""
        if self.redis_refused is not None:
            return False, str(self.redis_refused)
        if self.feed.error:
            return False, f"catalogue feed failed: {self.feed.error}"
        if not self.feed.caught_up.is_set():
            return False, "reading the catalogue"
        if not self.assigned():
            return False, "no request partitions assigned"
        return True, f"{len(self.listings)} ads listed"

    async def close(self) -> None:
        """Flush and release everything (the stream runtime has stopped)."""
        left = self.producer.close(5)
        self.feed.close()
        await self.triton.close()
        await self.redis.aclose()
        if left:
            logs.record(log, logging.WARNING, "undelivered_on_close", messages=left)
