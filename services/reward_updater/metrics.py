"""Prometheus metrics of the reward worker, read from its state when scraped."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from services.reward_updater.partition import PartitionState

LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class RewardMetrics(Collector):
    """Counts and gauges come from the partition states (so they survive restarts with
    them); latencies are histograms observed by the worker loop."""

    def __init__(self, states: Callable[[], list[PartitionState]], registry: CollectorRegistry):
        self._states = states
        self.dead_lettered: dict[str, int] = {}
        self.lag: dict[tuple[str, int], int] = {}

        def seconds(name: str, documentation: str) -> Histogram:
            return Histogram(
                f"adcraft_rewards_{name}_seconds",
                documentation,
                buckets=LATENCY_BUCKETS,
                registry=registry,
            )

        self.update_seconds = seconds("update", "Time to apply one consumed batch and learn.")
        self.publish_seconds = seconds("publish", "Time to publish refreshed scores.")
        self.checkpoint_seconds = seconds(
            "checkpoint", "Time to await acks, checkpoint state and commit offsets."
        )
        registry.register(self)

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        states = self._states()
        consumed = CounterMetricFamily(
            "adcraft_rewards_events_applied", "Messages applied, by topic.", labels=["topic"]
        )
        outcomes = CounterMetricFamily(
            "adcraft_rewards_join_outcomes",
            "What the join did with each event.",
            labels=["outcome"],
        )
        learned = CounterMetricFamily(
            "adcraft_rewards_examples_learned", "Labelled examples learned.", labels=["kind"]
        )
        dead = CounterMetricFamily(
            "adcraft_rewards_dead_lettered",
            "Messages sent to the dead-letter topic.",
            labels=["kind"],
        )
        occupancy = GaugeMetricFamily(
            "adcraft_rewards_join_window_occupancy",
            "Impressions and early feedback waiting in the join.",
            labels=["state"],
        )
        lag = GaugeMetricFamily(
            "adcraft_rewards_consumer_lag",
            "High-water mark minus next offset.",
            labels=["topic", "partition"],
        )
        totals: dict[str, dict[str, int]] = {"topic": {}, "outcome": {}, "kind": {}}
        for state in states:
            for topic, offset in state.offsets.items():
                totals["topic"][topic] = totals["topic"].get(topic, 0) + offset
            for outcome, count in state.joiner.counts.items():
                totals["outcome"][outcome] = totals["outcome"].get(outcome, 0) + count
            for kind, count in state.learned.items():
                totals["kind"][kind] = totals["kind"].get(kind, 0) + count
        for family, key in ((consumed, "topic"), (outcomes, "outcome"), (learned, "kind")):
            for label, value in sorted(totals[key].items()):
                family.add_metric([label], value)
        for kind, count in sorted(self.dead_lettered.items()):
            dead.add_metric([kind], count)
        occupancy.add_metric(["shown"], sum(len(s.joiner.shown) for s in states))
        occupancy.add_metric(["held"], sum(len(s.joiner.held) for s in states))
        for (topic, partition), value in sorted(self.lag.items()):
            lag.add_metric([topic, str(partition)], value)
        yield from (consumed, outcomes, learned, dead, occupancy, lag)
