"""Checkpoint → commit, in order, off the loop's thread where it waits.

A checkpoint snapshots every partition state that changed since its last one (a message
applied, or event time moved on and learning followed: Kafka Streams' "commit needed"),
on the loop's thread; the checkpoint
thread then waits until Kafka acknowledged everything produced before it (scores, dead
letters; a delivery that failed stops the worker) and writes the snapshot to Redis in one
fenced script. The loop's thread commits
the stored offsets: only it touches the consumer (a commit from the checkpoint thread once
deadlocked ``Consumer.close``).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from prometheus_client import Histogram

from adcraft.services.reward_updater.partition import PartitionState
from adcraft.shared.adapters.checkpoint_store import CheckpointStore, StateWrite
from adcraft.shared.adapters.kafka import DeliveryFailures
from adcraft.shared.runtime.errors import FatalError
from adcraft.shared.runtime.logs import record

log = logging.getLogger("adcraft.rewards")


class Checkpointer:
    """Stores partition states in order and commits what was stored."""

    def __init__(
        self,
        store: CheckpointStore,
        producer: Producer,
        undelivered: DeliveryFailures,
        snapshot_every: int,
        seconds: Histogram,
    ) -> None:
        self.store, self.producer, self.undelivered = store, producer, undelivered
        self.snapshot_every, self.seconds = snapshot_every, seconds
        self.stored: dict[int, int] = {}  # the revision of each partition's last checkpoint
        self._count = 0
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="checkpoint")
        self._pending: Future[set[int]] | None = None
        self._offsets: list[TopicPartition] = []

    def changed(self, states: dict[int, PartitionState]) -> bool:
        """Whether any state changed since its last checkpoint."""
        return any(state.revision != self.stored.get(p) for p, state in states.items())

    def begin(self, states: dict[int, PartitionState], tokens: dict[int, int]) -> None:
        """Snapshot every changed state now and store it in the background."""
        changed = {p: s for p, s in states.items() if s.revision != self.stored.get(p)}
        self._count += 1
        snapshot = self._count % self.snapshot_every == 0
        writes = {p: s.checkpoint(snapshot) for p, s in changed.items()}
        self._offsets = [
            TopicPartition(topic, p, offset)
            for p, state in changed.items()
            for topic, offset in state.offsets.items()
        ]
        self.stored.update({p: s.revision for p, s in changed.items()})
        owned = {p: tokens[p] for p in writes}
        self._pending = self._thread.submit(self._store, owned, writes)

    def _store(self, tokens: dict[int, int], writes: dict[int, StateWrite]) -> set[int]:
        started = time.perf_counter()
        if self.producer.flush(30):
            raise FatalError("element scores or dead letters were not acknowledged within 30 s")
        if self.undelivered.first:  # a checkpoint past a lost dead letter would lose it
            raise FatalError(f"a message was not delivered: {self.undelivered.first}")
        fenced = self.store.save(tokens, writes)
        self.seconds.observe(time.perf_counter() - started)
        return fenced

    @property
    def done(self) -> bool:
        """Whether the checkpoint in flight (if any) has finished."""
        return self._pending is None or self._pending.done()

    def settle(self, consumer: Consumer, asynchronous: bool = True) -> set[int]:
        """Wait for the checkpoint in flight and commit the offsets it stored; return the
        partitions it found fenced (their offsets are not committed). Raises what storing
        raised."""
        if self._pending is None:
            return set()
        fenced = self._pending.result()
        self._pending = None
        offsets = [tp for tp in self._offsets if tp.partition not in fenced]
        if offsets:
            try:
                if asynchronous:
                    consumer.commit(offsets=offsets, asynchronous=True)
                else:
                    consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as exc:  # Redis holds the truth; commits only drive lag
                record(log, logging.WARNING, "commit_failed", error=str(exc))
        return fenced

    def abandon(self) -> None:
        """Let a checkpoint in flight land without committing it (partitions lost: fencing
        keeps it from overwriting a new owner's state)."""
        if self._pending is not None:
            try:
                self._pending.result()
            except Exception as exc:
                record(log, logging.WARNING, "checkpoint_abandoned", error=str(exc))
            self._pending = None

    def forget(self, partition: int) -> None:
        """Stop tracking a partition this worker no longer owns."""
        self.stored.pop(partition, None)

    def close(self) -> None:
        """Let a checkpoint in flight finish; stop the thread."""
        self._thread.shutdown(wait=True)
