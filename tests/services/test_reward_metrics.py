"""Counters are the process's own and never go backwards as partitions come and go."""

from confluent_kafka import Message
from prometheus_client import CollectorRegistry

from adcraft.services.reward_updater.metrics import RewardMetrics
from adcraft.services.reward_updater.partition import PartitionState
from adcraft.services.simulator.streams import SHORT_WINDOWS, traffic
from adcraft.services.simulator.world import SyntheticWorld
from adcraft.shared.adapters.checkpoint_store import Checkpoint
from adcraft.shared.contract import codec


def _applied(registry: CollectorRegistry) -> float:
    return sum(
        registry.get_sample_value("adcraft_rewards_events_applied_total", {"topic": topic}) or 0
        for topic in ("adcraft.impression-served.v1", "adcraft.click-recorded.v1")
    )


def test_a_partition_that_leaves_and_returns_restored_is_not_counted_twice():
    world = SyntheticWorld.create(ads=1)
    messages = [
        Message(e.topic, 0, i, e.key(), codec.encode(e))
        for i, e in enumerate(e for e in traffic(world, 200) if e.topic.startswith("adcraft.i"))
    ]
    registry = CollectorRegistry()
    states: list[PartitionState] = []
    metrics = RewardMetrics(lambda: states, registry)
    state = PartitionState(0, world.catalog, SHORT_WINDOWS)
    metrics.adopt(state)
    for message in messages[:100]:
        state.apply(message)
    metrics.fold(state)
    assert _applied(registry) == 100
    saved = state.checkpoint(snapshot=True).blobs
    metrics.fold(state)
    metrics.forget(0)  # revoked: the count stays
    assert _applied(registry) == 100

    returned = PartitionState(0, world.catalog, SHORT_WINDOWS)
    returned.restore(Checkpoint(saved["meta"], saved["model"], saved["pending"], []))
    metrics.adopt(returned)  # restored at 100 applied: no jump
    assert _applied(registry) == 100
    for message in messages[99:150]:  # the last applied one comes first again, then 50 new
        returned.apply(message)
    metrics.fold(returned)
    assert _applied(registry) == 150
