"""The reward worker: consume a batch → apply → learn → publish; checkpoint → commit.

Built on confluent-kafka batches rather than a faust agent: the hot path pays no
per-message framework cost. Exactly-once *effects* on top of at-least-once delivery come
from each partition's state carrying the offsets it has applied, written to Redis in the
same MULTI/EXEC as the scores; on assignment the worker seeks to those offsets.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from confluent_kafka import Consumer, TopicPartition
from prometheus_client import CollectorRegistry

from services.reward_updater.join import Rejection
from services.reward_updater.metrics import RewardMetrics
from services.reward_updater.partition import INPUTS, PartitionState
from shared import kafka, score_store, topics
from shared.catalog import AdCatalog
from shared.dead_letter import DeadLetters
from shared.events import ElementScored
from shared.score_store import StateWrite
from shared.settings import Settings


class RewardWorker:
    """Owns the partition states of its assignment; see the module docstring."""

    def __init__(
        self, settings: Settings, catalog: AdCatalog, registry: CollectorRegistry | None = None
    ) -> None:
        self.settings = settings
        self.config = settings.rewards
        self.catalog = catalog
        self.states: dict[int, PartitionState] = {}
        # Range assignment gives one consumer the same partition number of every input.
        self.consumer = kafka.consumer(
            settings.kafka,
            self.config.group_id,
            **{
                "partition.assignment.strategy": "range",
                "fetch.wait.max.ms": self.config.fetch_wait_max_ms,
            },
        )
        self.producer = kafka.producer(settings.kafka)
        self.store = score_store.ScoreStore(score_store.client(settings.redis))
        self.dead_letters = DeadLetters(self.producer)
        self.metrics = RewardMetrics(
            lambda: list(self.states.values()), registry or CollectorRegistry()
        )
        self.metrics.dead_lettered = self.dead_letters.counts
        self._rejections: list[Rejection] = []
        self._checkpointed: dict[int, dict[str, int]] = {}
        self._unflushed = 0
        self._checkpoints = 0
        self._checkpointer = ThreadPoolExecutor(1, thread_name_prefix="checkpoint")
        self._pending: Future[None] | None = None
        self._last_publish = self._last_checkpoint = time.monotonic()
        self._gc_threshold = gc.get_threshold()

    def start(self) -> None:
        """Create missing topics, check co-partitioning, subscribe."""
        # Each event allocates a few dozen objects, nearly all freed by refcounting within
        # the batch: a young-generation collection every 700 allocations (the default)
        # scanned them anyway and took a quarter of the worker's time. close() restores it.
        self._gc_threshold = gc.get_threshold()
        gc.set_threshold(100_000, *self._gc_threshold[1:])
        kafka.ensure_topics(self.settings.kafka, topics.ALL, compacted=topics.COMPACTED)
        metadata = self.consumer.list_topics(timeout=10).topics
        counts = {topic: len(metadata[topic].partitions) for topic in INPUTS}
        if len(set(counts.values())) != 1:
            raise RuntimeError(f"input topics must be co-partitioned, got {counts}")
        self.consumer.subscribe(
            list(INPUTS),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )

    def run(self, stop: threading.Event) -> None:
        """Process until ``stop`` is set, then flush and close."""
        self.start()
        try:
            while not stop.is_set():
                self.poll_once()
            self.flush()
        finally:
            self.close()

    def poll_once(self, timeout_s: float = 0.02) -> int:
        """Consume and apply one batch; flush when the staleness bound is due."""
        messages = self.consumer.consume(self.config.consume_batch, timeout=timeout_s)
        started = time.perf_counter()
        states = self.states
        for message in messages:
            state = states.get(message.partition())  # type: ignore[arg-type]
            if state is not None and message.error() is None:
                rejected = state.apply(message)
                if rejected:
                    self._rejections += rejected
        for partition, idle in self._idle_inputs().items():
            self._rejections += self.states[partition].advance(idle)
        if messages:
            self.metrics.update_seconds.observe(time.perf_counter() - started)
        self._unflushed += len(messages)
        now = time.monotonic()
        if self._unflushed >= self.config.flush_max_events or (
            (now - self._last_checkpoint) * 1000 >= self.config.checkpoint_interval_ms
            and self._changed()
        ):
            self.publish()
            self._checkpoint(background=True)
        elif (now - self._last_publish) * 1000 >= self.config.flush_interval_ms:
            self.publish()
        return len(messages)

    def _idle_inputs(self) -> dict[int, set[str]]:
        """Per partition, the inputs read up to the high-water mark of the last fetch."""
        idle: dict[int, set[str]] = {}
        for partition, state in self.states.items():
            idle[partition] = set()
            for topic in INPUTS:
                _, high = self.consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), cached=True
                )
                applied = state.offsets.get(topic, 0)
                if high >= 0:
                    self.metrics.lag[topic, partition] = max(high - applied, 0)
                    if applied >= high:
                        idle[partition].add(topic)
        return idle

    def _changed(self) -> bool:
        return bool(self._rejections) or any(
            state.offsets != self._checkpointed.get(p) for p, state in self.states.items()
        )

    def publish(self) -> None:
        """Send dead letters and refreshed scores to Kafka and Redis, without waiting for
        acknowledgements: this bounds score staleness."""
        started = time.perf_counter()
        for rejection in self._rejections:
            self.dead_letters.publish(rejection.source, rejection.reason, rejection.kind)
        self._rejections = []
        scores = [score for state in self.states.values() for score in state.scores()]
        for key, value in scores:
            self._produce(topics.ELEMENT_SCORES, ElementScored.key_of(*key), value)
        self.producer.poll(0)
        if scores:
            self.store.write_encoded(scores)
        self._last_publish = time.monotonic()
        self.metrics.publish_seconds.observe(time.perf_counter() - started)
        # The join holds many long-lived objects and creates no reference cycles: exempt
        # them from cyclic GC scans, which otherwise grow with the state (refcounting still
        # frees them). See also start().
        gc.freeze()

    def flush(self) -> None:
        """Publish, then checkpoint and wait until it is stored."""
        self.publish()
        self._checkpoint(background=False)

    def _checkpoint(self, background: bool) -> None:
        """Snapshot every changed partition now; then, on the checkpoint thread, wait until
        Kafka acknowledged everything produced, write the snapshot to Redis in one
        transaction, and commit its offsets. Checkpoints are stored in order; a failed one
        is raised here, so the worker restarts from the last one stored.

        Scores published after the last checkpoint are recomputed identically after a crash,
        so Redis and the scores topic converge on the checkpointed state."""
        if self._pending is not None:
            self._pending.result()
            self._pending = None
        changed = {p: s for p, s in self.states.items() if s.offsets != self._checkpointed.get(p)}
        self._checkpoints += 1
        snapshot = self._checkpoints % self.config.snapshot_every == 0
        writes = {self._state_name(p): s.checkpoint(snapshot) for p, s in changed.items()}
        offsets = [
            TopicPartition(topic, p, offset)
            for p, state in changed.items()
            for topic, offset in state.offsets.items()
        ]
        self._checkpointed.update({p: dict(s.offsets) for p, s in changed.items()})
        self._unflushed = 0
        self._last_checkpoint = time.monotonic()
        self._pending = self._checkpointer.submit(self._store_checkpoint, writes, offsets)
        if not background:
            self._pending.result()
            self._pending = None

    def _store_checkpoint(self, writes: dict[str, StateWrite], offsets: list) -> None:
        started = time.perf_counter()
        if self.producer.flush(30):
            raise RuntimeError("element scores or dead letters were not acknowledged")
        self.store.checkpoint(writes)
        if offsets:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        self.metrics.checkpoint_seconds.observe(time.perf_counter() - started)

    def _produce(self, topic: str, key: bytes, value: bytes) -> None:
        while True:
            try:
                self.producer.produce(topic, key=key, value=value)
                return
            except BufferError:
                self.producer.poll(0.05)

    def _state_name(self, partition: int) -> str:
        return f"rewards:{self.config.group_id}:{partition}"

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for partition in sorted({tp.partition for tp in partitions}):
            state = PartitionState(partition, self.catalog, self.config)
            if state.restore(self.store, self._state_name(partition)):
                self._checkpointed[partition] = dict(state.offsets)
            self.states[partition] = state
        for tp in partitions:
            applied = self.states[tp.partition].offsets.get(tp.topic)
            if applied is not None:
                tp.offset = applied
        consumer.assign(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.flush()
        for partition in {tp.partition for tp in partitions}:
            self.states.pop(partition, None)
            self._checkpointed.pop(partition, None)
        consumer.unassign()

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Another member may own these now: let an in-flight checkpoint land (its commit may
        # fail), then drop unsaved work; it will be reprocessed there.
        if self._pending is not None:
            with contextlib.suppress(Exception):
                self._pending.result()
            self._pending = None
        for partition in {tp.partition for tp in partitions}:
            self.states.pop(partition, None)
            self._checkpointed.pop(partition, None)
        self._rejections = [r for r in self._rejections if r.source.partition in self.states]

    def close(self) -> None:
        """Leave the group (its revocation checkpoints), flush and close the producer."""
        self.consumer.close()
        self._checkpointer.shutdown(wait=True)
        if self.producer.flush(10) == 0:
            self.producer.close()  # disconnect now, not whenever the worker is collected
        gc.unfreeze()
        gc.set_threshold(*self._gc_threshold)
