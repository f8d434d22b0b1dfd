"""The closed loop on the real broker, Redis and Triton: the simulated users click
recommendations by a known truth, the clicks flow through the reward worker into the
posteriors the request worker reads, and the share of answers that use the truly best
combination rises."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from adcraft.services.simulator.ad_server import AdServer
from adcraft.services.simulator.streams import SHORT_WINDOWS
from adcraft.services.simulator.world import SyntheticWorld
from adcraft.services.stack import Stack
from adcraft.shared.runtime.settings import Settings
from tests.support.stacks import SERVING, list_world, running, with_topics

WORLD = SyntheticWorld.create(ads=2, copy_styles=3)
EARLY, LATE, LEARN_S = 5, 10, 180  # seconds: first window, trailing window, most to wait


@pytest.fixture
def stack(tmp_path) -> Iterator[Stack]:
    yield from running(tmp_path / "stack", SERVING, models=["combination_generator"])


def test_the_best_combination_is_served_more_as_clicks_arrive(stack, worker_process, until):
    base = with_topics(stack)
    settings = Settings(
        kafka=base.kafka, redis=base.redis, triton=base.triton, rewards=SHORT_WINDOWS
    )
    list_world(settings, WORLD)
    rewards = worker_process(settings, None).start()  # its catalogue: the topic's listings
    requests = worker_process(settings, None, "requests").start()
    for worker in (rewards, requests):
        worker.ready(90)
    server = AdServer(settings, WORLD, rate=60, deadline_ms=300).start()
    started = time.time()

    def best_share(start_s: float, end_s: float) -> float:
        window = server.window(start_s, end_s)
        return sum(s.best for s in window) / max(len(window), 1)

    until(lambda: time.time() > started + EARLY + 1, EARLY + 10, "the first answers")
    early = best_share(started, started + EARLY)
    late = 0.0

    def learned() -> bool:
        nonlocal late
        now = time.time()
        late = best_share(now - LATE, now)
        return now > started + EARLY + LATE and late > 2 * early and late > early + 0.15

    deadline = time.time() + LEARN_S
    while not learned() and time.time() < deadline:
        time.sleep(1)
    tally = server.stop(drain_s=10)
    print(f"best-combination share: first {EARLY}s {early:.3f}, last {LATE}s {late:.3f}")
    assert set(tally.served) == set(tally.sent)
    assert late > 2 * early and late > early + 0.15, (early, late)
    assert rewards.stop() == 0 and requests.stop() == 0
