"""The reward worker: consume a batch → apply → learn → publish; checkpoint → commit.

Built on confluent-kafka batches rather than a faust agent: the hot path pays no
per-message framework cost. Exactly-once *effects* on top of at-least-once delivery come
from each partition's state carrying the offsets it has applied, written to Redis in one
fenced script with the changes; on assignment the worker seeks to those offsets (one back,
to check the log still holds what was applied). Only the loop's thread touches the
consumer; the checkpoint thread waits for Kafka acks and writes Redis, nothing else.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time

from confluent_kafka import Consumer, Message, TopicPartition
from prometheus_client import CollectorRegistry

from adcraft.services.reward_updater import rewind
from adcraft.services.reward_updater.checkpointing import Checkpointer
from adcraft.services.reward_updater.exceptions import FatalError, OffsetRewound
from adcraft.services.reward_updater.health import Health
from adcraft.services.reward_updater.metrics import RewardMetrics
from adcraft.services.reward_updater.partition import PartitionState
from adcraft.shared.adapters import kafka, redis_client
from adcraft.shared.adapters.checkpoint_store import CheckpointStore
from adcraft.shared.adapters.dead_letter import DeadLetters
from adcraft.shared.contract.catalog import AdCatalog
from adcraft.shared.contract.events import ElementScored
from adcraft.shared.contract.sources import Source
from adcraft.shared.contract.topics import RewardTopics
from adcraft.shared.rewards.join import Rejection
from adcraft.shared.runtime.logs import Burst, record
from adcraft.shared.runtime.settings import Settings

log = logging.getLogger("adcraft.rewards")


class RewardWorker:
    """Owns the partition states of its assignment; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        catalog: AdCatalog,
        registry: CollectorRegistry | None = None,
        topics: RewardTopics | None = None,
    ) -> None:
        self.settings = settings
        self.config = settings.rewards
        self.catalog = catalog
        self.topics = topics or RewardTopics()
        self.states: dict[int, PartitionState] = {}
        self.tokens: dict[int, int] = {}  # fencing token of each owned partition
        # Range assignment gives one consumer the same partition number of every input.
        self.consumer = kafka.consumer(
            settings.kafka,
            self.config.group_id,
            **{
                "partition.assignment.strategy": "range",
                "fetch.wait.max.ms": self.config.fetch_wait_max_ms,
            },
        )
        self.undelivered = kafka.DeliveryFailures()
        self.producer = kafka.producer(
            settings.kafka, on_delivery=self.undelivered, **{"delivery.report.only.error": True}
        )
        self.store = CheckpointStore(redis_client.client(settings.redis), self.config.group_id)
        self.dead_letters = DeadLetters(
            self.producer, self.topics.dead_letter, self.config.dead_letter_max_bytes
        )
        self.metrics = RewardMetrics(
            lambda: list(self.states.values()), registry or CollectorRegistry()
        )
        self.checkpoints = Checkpointer(
            self.store,
            self.producer,
            self.undelivered,
            self.config.snapshot_every,
            self.metrics.checkpoint_seconds,
        )
        self.metrics.dead_lettered = self.dead_letters.counts
        self.health = Health(
            self.config, self.topics.inputs, lambda: self.states.keys(), self.metrics.lag
        )
        self._letters = Burst(log, "dead_lettered")
        self._troubles = Burst(log, "skipped_or_failed")
        self._rejections: list[Rejection] = []
        self._short_logs = rewind.ShortLogs(self.config.rewind_alarm_ms)
        self._assigned_at: dict[int, float] = {}
        self._unflushed = 0
        self._closing = False
        self._stale = False  # fenced on a partition the consumer still has
        self.failed = False
        self._last_publish = self._last_checkpoint = time.monotonic()
        self._gc_threshold = gc.get_threshold()

    def start(self) -> None:
        """Create missing topics, check co-partitioning, open the state, subscribe."""
        # Each event allocates a few dozen objects, nearly all freed by refcounting within
        # the batch: a young-generation collection every 700 allocations (the default)
        # scanned them anyway and took a quarter of the worker's time. close() restores it.
        self._gc_threshold = gc.get_threshold()
        gc.set_threshold(100_000, *self._gc_threshold[1:])
        names = self.topics
        kafka.ensure_topics(
            self.settings.kafka,
            [*names.inputs, names.scores, names.dead_letter],
            compacted=[names.catalog, names.scores],
        )
        metadata = self.consumer.list_topics(timeout=10).topics
        counts = {topic: len(metadata[topic].partitions) for topic in names.inputs}
        if len(set(counts.values())) != 1:
            raise FatalError(f"input topics must be co-partitioned, got {counts}")
        created = self.store.open()
        record(log, logging.INFO, "started", group=self.config.group_id, new_state=created)
        self._subscribe()

    def _subscribe(self) -> None:
        self.consumer.subscribe(
            list(self.topics.inputs),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )

    def _rejoin(self) -> None:
        """Another worker took a partition this one is still assigned: this one's view of
        the group is stale. Leave and join again, so the group settles who owns what (the
        fenced partition is not silently skipped until some later rebalance)."""
        self._stale = False
        record(log, logging.WARNING, "rejoining", reason="fenced on a partition still assigned")
        self.consumer.unsubscribe()
        self._subscribe()

    def run(self, stop: threading.Event) -> None:
        """Process until ``stop`` is set, then flush and close; an error closes without
        checkpointing (the last checkpoint stays the restart point) and is raised."""
        self.start()
        try:
            while not stop.is_set():
                self.poll_once()
            self.flush()
        except Exception as exc:
            # Said before closing, and closing then has a deadline: the line must come out.
            record(log, logging.CRITICAL, "fatal", error=f"{type(exc).__name__}: {exc}")
            self.failed = True
            raise
        finally:
            deadline = threading.Timer(self.config.shutdown_timeout_s, _abandon)
            deadline.daemon = True
            if self.failed:
                deadline.start()
            self.close()
            deadline.cancel()

    def poll_once(self, timeout_s: float = 0.02) -> int:
        """Consume and apply one batch; flush when the staleness bound is due."""
        self.health.alive()
        if self._stale:
            self._rejoin()
        messages = self.consumer.consume(self.config.consume_batch, timeout=timeout_s)
        started = time.perf_counter()
        states = self.states
        now_ms = int(time.time() * 1000)
        for state in states.values():
            state.tick(now_ms)
        for message in messages:
            owner = states.get(message.partition())  # type: ignore[arg-type]
            if owner is None or message.error() is not None:
                self._skip(message)
                continue
            try:
                rejected = owner.apply(message)
            except FatalError:
                raise
            except Exception as exc:  # one message must never stop the worker
                self.metrics.errors["apply"] += 1
                record(log, logging.ERROR, "apply_failed", error=f"{type(exc).__name__}: {exc}")
                # Consumers of dead letters get a code, never the exception's own text.
                why = f"internal error ({type(exc).__name__}); see the reward worker's log"
                rejected = [Rejection("error", why, Source.of(message))]
            if rejected:
                self._rejections += rejected
        for partition, idle in self._idle_inputs().items():
            self._rejections += self.states[partition].advance(idle)
        if messages:
            self.metrics.update_seconds.observe(time.perf_counter() - started)
        self._unflushed += len(messages)
        if self.checkpoints.done:
            self._settle()
        now = time.monotonic()
        if self._unflushed >= self.config.flush_max_events or (
            (now - self._last_checkpoint) * 1000 >= self.config.checkpoint_interval_ms
            and (self._rejections or self.checkpoints.changed(self.states))
        ):
            self.publish()
            self._checkpoint(background=True)
        elif (now - self._last_publish) * 1000 >= self.config.flush_interval_ms:
            self.publish()
        return len(messages)

    def _skip(self, message: Message) -> None:
        """A consumer error event, or a message of a partition this worker no longer owns
        (a fenced one, until the group revokes it): counted, never silent."""
        error = message.error()
        if error is None:
            reason = "not_owned"
        elif error.fatal():
            raise FatalError(f"Kafka consumer: {error.str()}")
        else:
            reason = f"consumer_error:{error.name()}"
        self.metrics.skipped[reason] += 1
        self._troubles.add(reason)

    def _idle_inputs(self) -> dict[int, set[str]]:
        """Per partition, the inputs read up to the high-water mark of the last fetch. Just
        after an assignment the cached mark may predate it (from an earlier time this worker
        owned the partition): no input counts as idle until fetches have surely refreshed it,
        else event time could run ahead of an input that still has data."""
        idle: dict[int, set[str]] = {}
        now = time.monotonic()
        fresh = now - max(1.0, 3 * self.config.fetch_wait_max_ms / 1000)
        for partition, state in self.states.items():
            idle[partition] = set()
            trusted = self._assigned_at.get(partition, 0.0) < fresh
            for topic in self.topics.inputs:
                _, high = self.consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), cached=True
                )
                applied = state.offsets.get(topic, 0)
                if high >= 0:
                    self.metrics.lag[topic, partition] = max(high - applied, 0)
                    if applied >= high and trusted:
                        idle[partition].add(topic)
                    if self._short_logs.rewound(topic, partition, high, applied, now):
                        self.metrics.errors["offset_rewound"] += 1
                        raise OffsetRewound(
                            f"partition {partition} of {topic} ends at offset {high}, below "
                            f"the {applied} already applied: the broker lost or rewound the log"
                        )
        return idle

    def publish(self) -> None:
        """Send dead letters to Kafka, refreshed scores and posteriors to Redis (fenced), then
        the scores to Kafka, without waiting for acknowledgements: this bounds staleness."""
        started = time.perf_counter()
        for rejection in self._rejections:
            self.dead_letters.publish(rejection.source, rejection.reason, rejection.kind)
            self._letters.add(rejection.kind)
        self._rejections = []
        fresh = {p: new for p, state in self.states.items() if (new := state.refresh()).scores}
        if fresh:
            fenced, stale = self.store.write_scores(
                self.tokens,
                {p: new.version for p, new in fresh.items()},
                {p: new.scores for p, new in fresh.items()},
                {p: new.posteriors for p, new in fresh.items()},
            )
            self._drop(fenced, "fenced")
            self.metrics.fenced["scores"] += len(fenced)
            self.metrics.fenced["stale_scores"] += len(stale)
            for partition, new in fresh.items():
                if partition not in fenced | stale:
                    for key, value in new.scores:
                        kafka.produce(
                            self.producer, self.topics.scores, ElementScored.key_of(*key), value
                        )
        self.producer.poll(0)
        for state in self.states.values():
            self.metrics.fold(state)
        self._last_publish = time.monotonic()
        self.metrics.publish_seconds.observe(time.perf_counter() - started)
        # The join holds many long-lived objects and creates no reference cycles: exempt
        # them from cyclic GC scans, which otherwise grow with the state (refcounting still
        # frees them). See also start().
        gc.freeze()

    def flush(self) -> None:
        """Publish, then checkpoint and wait until it is stored and committed."""
        self.publish()
        self._checkpoint(background=False)

    def _checkpoint(self, background: bool) -> None:
        """Settle the checkpoint in flight, then start one of every changed partition (see
        :mod:`~adcraft.services.reward_updater.checkpointing`); a failed one is raised here, so the
        worker restarts from the last one stored. Scores published after it are recomputed
        identically after a crash, so Redis and the scores topic converge on it."""
        self._settle()
        self.checkpoints.begin(self.states, self.tokens)
        self._unflushed = 0
        self._last_checkpoint = time.monotonic()
        if not background:
            self._settle(asynchronous=False)

    def _settle(self, asynchronous: bool = True) -> None:
        fenced = self.checkpoints.settle(self.consumer, asynchronous)
        self.metrics.fenced["checkpoint"] += len(fenced)
        self._drop(fenced, "fenced")

    def _drop(self, partitions: set[int] | list[int], why: str) -> None:
        """Forget partitions this worker no longer owns (their unsaved work is redone by
        the new owner, from the last checkpoint)."""
        for partition in partitions:
            state = self.states.pop(partition, None)
            if state is not None:
                self.metrics.fold(state)
            self.tokens.pop(partition, None)
            self._assigned_at.pop(partition, None)
            self.checkpoints.forget(partition)
            self.metrics.forget(partition)
            self._short_logs.forget(partition)
        if partitions:
            owned = self.states
            self._rejections = [r for r in self._rejections if r.source.partition in owned]
            level = logging.WARNING if why != "revoked" else logging.INFO
            record(log, level, why, partitions=sorted(partitions))
            self._stale |= why == "fenced"

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.health.joined = True
        self.health.alive()  # restoring many partitions is the loop at work
        committed = {
            (tp.topic, tp.partition): tp.offset for tp in consumer.committed(partitions, 10)
        }
        restored, rebuilt = [], []
        for partition in sorted({tp.partition for tp in partitions}):
            self.tokens[partition] = self.store.claim(partition)
            state = PartitionState(partition, self.catalog, self.config, self.topics.inputs)
            checkpoint = self.store.load(partition)
            if checkpoint is not None:
                state.restore(checkpoint)
                self.checkpoints.stored[partition] = state.revision
                restored.append(partition)
            elif any(committed.get((topic, partition), -1) > 0 for topic in self.topics.inputs):
                lost = rewind.check_rebuildable(
                    consumer, self.topics.inputs, partition, self.config.on_state_loss
                )
                record(log, logging.WARNING, "rebuilding", partition=partition, reason=lost)
                rebuilt.append(partition)
            self.states[partition] = state
            self._assigned_at[partition] = time.monotonic()
            self.metrics.adopt(state)
        for tp in partitions:
            tp.offset = rewind.resume_at(consumer, self.states[tp.partition], tp)
        consumer.assign(partitions)
        record(
            log,
            logging.INFO,
            "assigned",
            partitions=sorted(self.states),
            restored=restored,
            rebuilt=rebuilt,
        )

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.health.alive()
        if not self._closing:
            self.flush()
        self._drop(sorted({tp.partition for tp in partitions} & set(self.states)), "revoked")
        consumer.unassign()

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Another member may own these now: let an in-flight checkpoint land (fencing keeps
        # it from overwriting the new owner's), then drop unsaved work; it is redone there.
        self.checkpoints.abandon()
        self._drop(sorted({tp.partition for tp in partitions} & set(self.states)), "lost")

    def close(self) -> None:
        """Leave the group, let a checkpoint in flight finish, flush and close the producer.
        Does not checkpoint: after an error the last stored checkpoint is the restart point
        (:meth:`run` flushes first when it stops normally)."""
        self._closing = True
        try:
            self.consumer.close()
        except Exception as exc:  # leaving the group is best effort: the session expires
            record(log, logging.WARNING, "consumer_close_failed", error=str(exc))
        self.checkpoints.close()
        self._letters.flush()
        self._troubles.flush()
        if self.producer.flush(10) == 0:
            self.producer.close()  # disconnect now, not whenever the worker is collected
        gc.unfreeze()
        gc.set_threshold(*self._gc_threshold)
        record(log, logging.INFO, "stopped", group=self.config.group_id)


def _abandon() -> None:
    """Closing after a fatal error outlived its deadline: end the process (the fatal line
    is out, the checkpoints are as they were)."""
    os._exit(1)
