"""Prometheus metrics of the request worker: answers by path, latencies, Triton batch
sizes, the copy cache, deadline misses and consumer lag."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class RequestMetrics:
    """The worker's instruments, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry, lag: Callable[[], float]) -> None:
        counter = partial(Counter, registry=registry)
        histogram = partial(Histogram, registry=registry, buckets=LATENCY_BUCKETS)
        self.answers = counter(
            "adcraft_requests_total",
            "Requests answered, by the path that answered (model, thompson, default).",
            ["path", "arm"],
        )
        self.dead_letters = counter(
            "adcraft_requests_dead_letters_total",
            "Requests and catalogue records dead-lettered, by kind.",
            ["kind"],
        )
        self.end_to_end = histogram(
            "adcraft_request_seconds",
            "From the request's timestamp to its recommendation's acknowledgement.",
        )
        self.triton = histogram(
            "adcraft_triton_seconds",
            "Duration of each Triton call, by model.",
            ["model"],
        )
        self.batch_size = histogram(
            "adcraft_triton_batch_size",
            "Batch sizes Triton executed, from its statistics (sampled every few seconds).",
            ["model"],
            buckets=(1, 2, 4, 8, 16, 32, 64),
        )
        self._pools(registry)
        self.replays = counter(
            "adcraft_requests_replayed_total",
            "Requests seen again (redelivered) and published the answer already given.",
        )
        self.unkept = counter(
            "adcraft_requests_unkept_total",
            "Answers published without being kept in Redis (it failed): a redelivery of "
            "such a request may be answered differently.",
        )
        self.broken_posteriors = counter(
            "adcraft_requests_broken_posteriors_total",
            "Stored posteriors read as the prior: undecodable or a number out of range.",
        )
        self.deadline_misses = counter(
            "adcraft_deadline_misses_total",
            "Requests past their deadline: on arrival (answered by default) or when answered.",
            ["when"],
        )
        lag_help = "Requests behind the end of the assigned partitions."
        self.lag = Gauge("adcraft_requests_consumer_lag", lag_help, registry=registry)
        self.lag.set_function(lag)

    def _pools(self, registry: CollectorRegistry) -> None:
        """The copy pools' instruments: lookups, writes and what the sweep found due."""
        self.copy_cache = Counter(
            "adcraft_copy_pool_total",
            "Copy pool lookups by requests: hit, thin (served, rewrite asked), miss or stale "
            "(written from other facts: template served, rewrite asked).",
            ["result"],
            registry=registry,
        )
        self.refills = Counter(
            "adcraft_copy_pool_writes_total",
            "Pool writes, by outcome (written, failed; dropped: the write queue was full).",
            ["outcome"],
            registry=registry,
        )
        self.pools_due = Gauge(
            "adcraft_copy_pools_due",
            "Pools the last sweep asked to be written, by why: miss, thin, stale (facts "
            "changed) or outdated (another model version wrote them; served until rewritten).",
            ["state"],
            registry=registry,
        )
