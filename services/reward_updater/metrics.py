"""Prometheus metrics of the reward worker, read from its state when scraped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping

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
        applied: Counter[str] = Counter()
        outcomes: Counter[str] = Counter()
        learned: Counter[str] = Counter()
        for state in states:
            applied.update(state.offsets)
            outcomes.update(state.joiner.counts)
            learned.update(state.learned)
        yield _family(
            CounterMetricFamily,
            "events_applied",
            "Messages applied, by topic.",
            ["topic"],
            {(k,): v for k, v in applied.items()},
        )
        yield _family(
            CounterMetricFamily,
            "join_outcomes",
            "What the join did with each event.",
            ["outcome"],
            {(k,): v for k, v in outcomes.items()},
        )
        yield _family(
            CounterMetricFamily,
            "examples_learned",
            "Labelled examples learned.",
            ["kind"],
            {(k,): v for k, v in learned.items()},
        )
        yield _family(
            CounterMetricFamily,
            "dead_lettered",
            "Messages sent to the dead-letter topic.",
            ["kind"],
            {(k,): v for k, v in self.dead_lettered.items()},
        )
        yield _family(
            GaugeMetricFamily,
            "join_window_occupancy",
            "Impressions and early feedback waiting in the join.",
            ["state"],
            {
                ("shown",): sum(len(s.joiner.shown) for s in states),
                ("held",): sum(len(s.joiner.held) for s in states),
            },
        )
        yield _family(
            GaugeMetricFamily,
            "consumer_lag",
            "High-water mark minus next offset.",
            ["topic", "partition"],
            {(topic, str(p)): value for (topic, p), value in self.lag.items()},
        )


def _family(
    kind: type[CounterMetricFamily] | type[GaugeMetricFamily],
    name: str,
    documentation: str,
    labels: list[str],
    values: Mapping[tuple[str, ...], float],
) -> CounterMetricFamily | GaugeMetricFamily:
    family = kind(f"adcraft_rewards_{name}", documentation, labels=labels)
    for label_values, value in sorted(values.items()):
        family.add_metric(list(label_values), value)
    return family
