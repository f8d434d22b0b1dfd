"""Prometheus metrics of the request worker: answers by path, latencies, Triton batch
sizes, the copy cache, deadline misses and consumer lag."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class RequestMetrics:
    """The worker's instruments, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry, lag: Callable[[], float]) -> None:
        self.answers = Counter(
            "adcraft_requests_total",
            "Requests answered, by the path that answered (model, thompson, default).",
            ["path", "arm"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "adcraft_requests_dead_letters_total",
            "Requests and catalogue records dead-lettered, by kind.",
            ["kind"],
            registry=registry,
        )
        self.end_to_end = Histogram(
            "adcraft_request_seconds",
            "From the request's timestamp to its recommendation's acknowledgement.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.triton = Histogram(
            "adcraft_triton_seconds",
            "Duration of each Triton call, by model.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            "adcraft_triton_batch_size",
            "Batch sizes Triton executed, from its statistics (sampled every few seconds).",
            ["model"],
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=registry,
        )
        self.copy_cache = Counter(
            "adcraft_copy_cache_total",
            "Copy cache lookups: hit, thin (served, refill asked) or miss.",
            ["result"],
            registry=registry,
        )
        self.refills = Counter(
            "adcraft_copy_refills_total",
            "Copy cache refills, by outcome (written, failed; dropped: the refill queue was full).",
            ["outcome"],
            registry=registry,
        )
        self.replays = Counter(
            "adcraft_requests_replayed_total",
            "Requests seen again (redelivered) and published the answer already given.",
            registry=registry,
        )
        self.unkept = Counter(
            "adcraft_requests_unkept_total",
            "Answers published without being kept in Redis (it failed): a redelivery of "
            "such a request may be answered differently.",
            registry=registry,
        )
        self.broken_posteriors = Counter(
            "adcraft_requests_broken_posteriors_total",
            "Stored posteriors read as the prior: undecodable or a number out of range.",
            registry=registry,
        )
        self.deadline_misses = Counter(
            "adcraft_deadline_misses_total",
            "Requests past their deadline: on arrival (answered by default) or when answered.",
            ["when"],
            registry=registry,
        )
        self.lag = Gauge(
            "adcraft_requests_consumer_lag",
            "Requests behind the end of the assigned partitions.",
            registry=registry,
        )
        self.lag.set_function(lag)
