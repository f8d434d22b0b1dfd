"""The request worker where answering could stall or repeat itself, as a process against
the real broker, Redis and Triton (the combination generator and the CPU copy model):
a flood of requests that each want copy written never holds answers up; a path that stops
answering turns /healthz red; a worker killed under load and restarted publishes the same
bytes for every request it answers twice; Redis refusing our credentials is not ready."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import replace

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from adcraft.services.simulator.ad_server import AdServer
from adcraft.services.simulator.world import SyntheticWorld
from adcraft.services.stack import Stack
from adcraft.services.stack.worker import WorkerProcess
from adcraft.shared.adapters import redis_client
from adcraft.shared.contract import topics
from adcraft.shared.runtime.settings import Settings
from tests.support.requests import REC, Sender, Topics, probe
from tests.support.stacks import SERVING, list_world, running, with_topics
from tests.support.topics import read_to_end
from tests.support.waiting import wait_until

WORLD = SyntheticWorld.create(ads=2, copy_styles=3)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    yield from running(
        tmp_path_factory.mktemp("stalls"),
        SERVING,
        models=["combination_generator", "copy_generator"],
    )


@pytest.fixture(scope="module")
def settings(stack) -> Settings:
    settings = with_topics(stack)
    list_world(settings, WORLD)
    # One variant per pool: the pools written in the background cost these tests less CPU.
    return settings.model_copy(
        update={"requests": settings.requests.model_copy(update={"copy_variants": 1})}
    )


def _counter(worker: WorkerProcess, name: str, **labels: str) -> float:
    """The value of one counter sample of the worker's /metrics."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(worker.get("/metrics")[1])
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def test_a_flood_of_requests_wanting_new_copy_never_holds_answers_up(settings, worker_process):
    """Each request of a new segment asks for copy to be written, seconds a call on CPU:
    the asks once filled a channel the answering agents then waited on, and answering
    stopped for a minute with /healthz green. Asks are bounded now: every request is
    answered within its deadline, those after the flood too, and the asks the queue could
    not hold are counted as dropped."""
    worker = worker_process(settings, None, "requests").start()
    worker.ready(120)
    reader = Topics(settings)
    flood = [
        probe("new segment", ad=f"ad{i % 2}", segment=f"segment-{i}", deadline_ms=60_000)
        for i in range(1_500)  # each a new pool: several times what the refill queue holds
    ]
    outcomes = reader.settle(Sender(settings).send(flood), timeout_s=240, extra_s=0)
    normal = [probe("after the flood", ad="ad1", deadline_ms=5_000) for _ in range(50)]
    outcomes = reader.settle(Sender(settings).send(normal), timeout_s=60, extra_s=0.5)
    assert [p.name for p in flood + normal if outcomes.of(p) != [REC]] == []
    late = []
    for p in flood + normal:
        rec, sent = outcomes.rec(p), orjson.loads(p.value or b"{}")
        if rec.ts_ms - sent["ts_ms"] > sent["deadline_ms"]:
            late.append(rec)
    # Answering kept up: the requests after the flood were answered in their 5 s.
    assert not [p.name for p in normal if outcomes.rec(p) in late]
    assert not [p.name for p in normal if outcomes.rec(p).path == "default"]
    # No request waited on copy past its minute (answering once stopped for that long).
    assert not late, f"{len(late)} answered past their deadline, e.g. {late[0]}"
    assert _counter(worker, "adcraft_deadline_misses_total", when="arrival") == 0
    assert _counter(worker, "adcraft_copy_pool_writes_total", outcome="dropped") > 0
    assert worker.get("/healthz")[0] == 200
    reader.close()
    assert worker.stop() == 0


def _stalled(answer: tuple[int, str]) -> bool:
    status, body = answer
    return status == 503 and "none answered" in body


def test_a_path_that_stops_answering_turns_healthz_red(stack, settings, worker_process):
    worker = worker_process(settings, None, "requests").start()
    worker.ready(120)
    server = AdServer(settings, WORLD, rate=100, deadline_ms=2_000, feedback=False).start()
    wait_until(lambda: len(server.window(0)) >= 50, 60, "answers")
    broker = stack.running["broker"].pid
    seen: list[tuple[int, str]] = []
    for _ in range(3):  # a stop that catches no request in flight stalls nothing: again
        try:
            os.kill(broker, signal.SIGSTOP)  # answers can no longer be published
            until = time.monotonic() + 10
            while time.monotonic() < until and not _stalled(seen[-1] if seen else (0, "")):
                seen.append(worker.get("/healthz", 1.0))
                time.sleep(0.2)
        finally:
            os.kill(broker, signal.SIGCONT)
        if _stalled(seen[-1]) or any(re.match(r"[1-9]\d* requests in flight", b) for _, b in seen):
            break
        seen.clear()
        time.sleep(1)
    assert _stalled(seen[-1]), f"/healthz did not say why: {seen[-3:]}"
    wait_until(lambda: worker.get("/healthz")[0] == 200, 60, "/healthz to recover")
    server.stop(drain_s=10)
    assert worker.stop() == 0


def _recommendation_bytes(settings: Settings) -> dict[str, list[bytes]]:
    """Every recommendation on the topic, as bytes, by request id."""
    found: dict[str, list[bytes]] = {}
    for message in read_to_end(settings, topics.RECOMMENDATIONS):
        found.setdefault(orjson.loads(message.value())["request_id"], []).append(message.value())
    return found


def test_a_request_answered_twice_across_a_sigkill_gets_the_same_bytes(settings, worker_process):
    worker = worker_process(settings, None, "requests").start()
    worker.ready(120)
    server = AdServer(settings, WORLD, rate=200, deadline_ms=300, feedback=False).start()
    twice: dict[str, list[bytes]] = {}
    for kill in range(1, 4):  # until the broker redelivers some answered requests
        wait_until(lambda n=300 * kill: len(server.window(0)) >= n, 60, "answers")
        worker.kill()
        worker.start()
        worker.ready(120)
        answered = time.monotonic() + 5  # redeliveries come first, then new requests
        while not twice and time.monotonic() < answered:
            twice = {rid: v for rid, v in _recommendation_bytes(settings).items() if len(v) > 1}
        if twice:
            break
    server.stop(drain_s=10)
    assert worker.stop() == 0
    assert twice, "no request was answered twice: the kills tested nothing"
    differ = [rid for rid, answers in twice.items() if len(set(answers)) > 1]
    first = [orjson.loads(a) for a in twice[differ[0]]] if differ else []
    assert not differ, (
        f"{len(differ)} of {len(twice)} request ids got different answers, e.g. "
        f"{[(a['path'], a['reason'], a['ts_ms']) for a in first]}"
    )


def test_a_default_given_while_redis_was_slow_is_what_a_redelivery_gets(settings, worker_process):
    worker = worker_process(settings, None, "requests").start()
    worker.ready(120)
    sender, read = Sender(settings), Topics(settings)
    read.settle(sender.send([probe("warm-up")]))
    slow = probe("while Redis is paused", deadline_ms=600)
    redis_client.client(settings.redis).client_pause(2_000)  # reads time out; writes wait
    given = read.settle(sender.send([slow])).rec(slow)
    assert given.reason.startswith("redis_timeout"), given.reason
    sender.send([replace(slow, name="its redelivery")])  # the same bytes, past its deadline
    rid = slow.request_id or ""
    wait_until(lambda: len(read.read().recs.get(rid, [])) == 2, 30, "the second answer")
    [first, second] = _recommendation_bytes(settings)[rid]
    assert first == second
    assert worker.stop() == 0


@pytest.fixture
def plain_stack(tmp_path) -> Iterator[Stack]:
    yield from running(tmp_path / "stack", ("broker", "redis"))


def test_redis_refusing_our_credentials_is_not_ready(plain_stack, worker_process):
    settings = with_topics(plain_stack)
    list_world(settings, WORLD)
    redis = redis_client.client(settings.redis)
    redis.config_set("requirepass", "the-right-one")
    worker = worker_process(settings, None, "requests", ADCRAFT_REDIS__PASSWORD="a-wrong-one")
    worker.start()
    wait_until(lambda: worker.get("/healthz")[0] == 200, 90, "the worker to be alive")
    wait_until(lambda: "redis_auth" in worker.get("/readyz")[1], 30, "readiness to say why")
    status, body = worker.get("/readyz")
    assert status == 503 and "a-wrong-one" not in body and "the-right-one" not in body
    right = settings.redis.model_copy(update={"password": SecretStr("the-right-one")})
    redis_client.client(right).config_set("requirepass", "a-wrong-one")  # the operator mends it
    worker.ready(30)
    assert worker.stop() == 0
    assert "a-wrong-one" not in worker.log.read_text()
