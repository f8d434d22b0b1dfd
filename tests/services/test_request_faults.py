"""The request worker under outages, as a process against the real broker, Redis and Triton:
Triton stopped → every request still answered within its deadline by the Thompson fallback,
and the model path returns with Triton; Redis stopped → the catalogue's default creative,
and model answers return with Redis. Nothing is dropped: every request sent is answered."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest

from adcraft.services.request_worker import failures
from adcraft.services.simulator.ad_server import AdServer
from adcraft.services.simulator.world import SyntheticWorld
from adcraft.services.stack import Stack
from tests.support.stacks import SERVING, list_world, running, with_topics

WORLD = SyntheticWorld.create(ads=2, copy_styles=3)
DEADLINE_MS = 300


@pytest.fixture
def stack(tmp_path) -> Iterator[Stack]:
    yield from running(tmp_path / "stack", SERVING, models=["combination_generator"])


def _outage(stack: Stack, service: str, seconds: float) -> tuple[float, float]:
    """Stop ``service`` for ``seconds``, start it on its old ports; the window in which it
    was certainly down."""
    ports = stack.running[service].ports
    stack.stop(service)  # returns once the process has exited
    down = time.time()
    time.sleep(seconds)
    up = time.time()
    stack.start(service, ports)
    return down, up


def test_outages_cost_no_request_and_no_deadline(stack, worker_process, until):
    settings = with_topics(stack)
    list_world(settings, WORLD)
    worker = worker_process(settings, None, "requests").start()
    worker.ready(90)
    server = AdServer(settings, WORLD, rate=40, deadline_ms=DEADLINE_MS).start()

    def model_answers_since(start_s: float) -> bool:
        return sum(s.path == "model" for s in server.window(start_s)) >= 20

    until(lambda: model_answers_since(0), 60, "model answers")
    triton_down, triton_up = _outage(stack, "triton", 4)
    until(lambda: model_answers_since(triton_up), 90, "model answers after Triton's return")
    redis_down, redis_up = _outage(stack, "redis", 3)
    until(lambda: model_answers_since(redis_up), 60, "model answers after Redis's return")
    tally = server.stop(drain_s=10)

    assert set(tally.served) == set(tally.sent), "a request was not answered"
    without_triton = server.window(triton_down + 0.5, triton_up)
    assert len(without_triton) > 80
    assert {(s.arm, s.path) for s in without_triton} == {
        ("generator", "thompson"),  # the fallback
        ("thompson", "model"),  # this arm's own policy needs no Triton
    }
    assert max(s.answered_ms for s in without_triton) <= DEADLINE_MS
    without_redis = server.window(redis_down + 0.5, redis_up)
    assert len(without_redis) > 60
    assert {s.path for s in without_redis} == {"default"}
    assert all(s.copy_text for s in without_redis)
    assert max(s.answered_ms for s in without_redis) <= DEADLINE_MS
    fallbacks = [s for s in without_triton if s.arm == "generator"]
    assert all(s.reason.startswith("generator_") for s in fallbacks), fallbacks[0].reason
    assert all(s.reason.startswith("redis_") for s in without_redis), without_redis[0].reason
    reasons = Counter(s.reason.split(":")[0] for s in fallbacks)
    assert "generator_breaker_open" in reasons  # a dead Triton costs no deadline per request
    # Consumers read a code and a short message, never an exception's own text.
    assert {s.reason for s in fallbacks + without_redis} <= {
        str(f)
        for f in (failures.GENERATOR_BREAKER, failures.REDIS_BREAKER)
        + tuple(failures.of_triton("generator", e) for e in (TimeoutError(), OSError()))
        + tuple(failures.of_redis(e) for e in (TimeoutError(), OSError()))
    } | {"generator_error: the generator failed", "redis_error: Redis answered with an error"}
    metrics = worker.get("/metrics")[1]
    assert 'adcraft_requests_total{arm="generator",path="thompson"}' in metrics
    assert worker.stop() == 0
