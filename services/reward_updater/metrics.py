"""Prometheus metrics of the reward worker.

Counters are this process's own and never go backwards: partition states move between
workers (and are restored from checkpoints), so each state's counts are folded in as
deltas from what they were when this process took the partition. Gauges (window
occupancy, lag) read the current states; latencies are histograms observed by the loop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from adcraft.services.reward_updater.partition import PartitionState

LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

_Tally = tuple[Counter[str], Counter[str], Counter[str]]  # applied, outcomes, learned


class RewardMetrics(Collector):
    """See the module docstring."""

    def __init__(self, states: Callable[[], list[PartitionState]], registry: CollectorRegistry):
        self._states = states
        self.applied: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.learned: Counter[str] = Counter()
        self.dead_lettered: dict[str, int] = {}
        self.errors: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.fenced: Counter[str] = Counter()
        self.lag: dict[tuple[str, int], int] = {}
        self._baselines: dict[int, _Tally] = {}

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

    def adopt(self, state: PartitionState) -> None:
        """Start counting ``state`` from what it holds now (fresh or restored)."""
        self._baselines[state.partition] = _tally(state)

    def fold(self, state: PartitionState) -> None:
        """Add what ``state`` counted since it was adopted or last folded."""
        now = _tally(state)
        before = self._baselines.get(state.partition, (Counter(), Counter(), Counter()))
        for total, current, previous in zip(
            (self.applied, self.outcomes, self.learned), now, before, strict=True
        ):
            total.update(current - previous)
        self._baselines[state.partition] = now

    def forget(self, partition: int) -> None:
        """Stop tracking a partition this process no longer owns."""
        self._baselines.pop(partition, None)
        for key in [key for key in self.lag if key[1] == partition]:
            del self.lag[key]

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        counters = (
            ("events_applied", "Messages applied, by topic.", "topic", self.applied),
            ("join_outcomes", "What the join did with each event.", "outcome", self.outcomes),
            ("examples_learned", "Labelled examples learned.", "kind", self.learned),
            (
                "dead_lettered",
                "Messages sent to the dead-letter topic.",
                "kind",
                self.dead_lettered,
            ),
            ("errors", "Unexpected errors, by where they were caught.", "where", self.errors),
            ("skipped_messages", "Messages consumed but not applied here.", "reason", self.skipped),
            (
                "fenced",
                "Writes refused: another worker owns the partition (scores, checkpoint), or "
                "newer scores are stored (stale_scores: a new owner catching up).",
                "what",
                self.fenced,
            ),
        )
        for name, documentation, label, values in counters:
            yield _family(
                CounterMetricFamily,
                name,
                documentation,
                [label],
                {(k,): v for k, v in dict(values).items()},
            )
        states = self._states()
        yield _family(
            GaugeMetricFamily,
            "join_window_occupancy",
            "Impressions and early feedback waiting in the join, and events waiting for the "
            "catalogue to list their ad or elements.",
            ["state"],
            {
                ("shown",): sum(len(s.joiner.shown) for s in states),
                ("held",): sum(len(s.joiner.held) for s in states),
                ("awaiting_catalog",): sum(len(s.awaiting) for s in states),
            },
        )
        yield _family(
            GaugeMetricFamily,
            "consumer_lag",
            "High-water mark minus next offset.",
            ["topic", "partition"],
            {(topic, str(p)): value for (topic, p), value in self.lag.copy().items()},
        )


def _tally(state: PartitionState) -> _Tally:
    return Counter(state.offsets), Counter(state.joiner.counts), Counter(state.learned)


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
