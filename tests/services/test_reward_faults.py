"""The reward worker as a real process under faults: kills, a Redis that forgets, a broker
that loses its log, rebalances with a paused owner, stalls; and its logs keep secrets."""

from __future__ import annotations

import random
import signal
import time

from pydantic import SecretStr

from adcraft.services.simulator.streams import publish, traffic
from adcraft.services.simulator.world import SyntheticWorld
from adcraft.shared.adapters import kafka, redis_client
from tests.services.conftest import expected_learned
from tests.support.workers import assignments


def test_ten_sigkills_and_a_redis_restart_under_load_count_everything_once(
    reward_stack,
    reward_settings,
    worker_process,
    feeder,
    until,
    totals,
    learned,
    assert_exact,
):
    world = SyntheticWorld.create(ads=8, seed=11)
    events = list(traffic(world, 50_000, spacing_ms=0.5))
    load = feeder(reward_settings, events, rate=700)
    load.start()
    worker = worker_process(
        reward_settings, world.catalog, ADCRAFT_REWARDS__CHECKPOINT_INTERVAL_MS="200"
    ).start()
    rng = random.Random(7)
    exits = []
    for kill in range(10):
        # A random point after this process joined: mid-batch, mid-checkpoint, mid-commit.
        joined = assignments(worker)
        until(lambda j=joined: assignments(worker) > j, 60, "the worker to join")
        time.sleep(rng.uniform(0.2, 3.0))
        if kill == 4:  # Redis comes back empty: the worker must notice, then rebuild
            reward_stack.restart("redis")
            until(lambda: not worker.running(), 30, "the worker to stop on a lost Redis")
            exits.append(worker.wait(5))
        else:
            worker.kill()
        worker.start()
    # Stopped before it set its handlers (still importing, under load), it dies of SIGTERM.
    joined = assignments(worker)
    until(lambda j=joined: assignments(worker) > j, 60, "the last worker to join")
    load.join(120)
    until(lambda: totals(reward_settings)[0] == len(events), 120, "every event applied")
    expected = expected_learned(reward_settings, world, events)
    until(lambda: learned(reward_settings) == expected, 120, "every label learned")
    assert worker.stop() == 0
    assert exits == [1]
    fatal = [line for line in worker.lines() if line["event"] == "fatal"]
    assert len(fatal) == 1 and "Redis lost the state" in fatal[0]["error"]
    assert any(line["event"] == "rebuilding" for line in worker.lines())
    assert_exact(reward_settings, world, events)


def test_a_broker_that_lost_its_log_stops_the_worker_with_one_clear_line(
    reward_stack, reward_settings, worker_process, until, totals
):
    world = SyntheticWorld.create(ads=2, seed=3)
    producer = kafka.producer(reward_settings.kafka)
    publish(producer, traffic(world, 3_000, spacing_ms=1.0))
    worker = worker_process(reward_settings, world.catalog).start()
    until(lambda: totals(reward_settings)[0] > 3_000, 60, "the first events applied")
    assert worker.stop() == 0
    reward_stack.restart("broker")  # memory storage: the log starts again at offset 0
    kafka.ensure_topics(reward_settings.kafka, ["adcraft.impression-served.v1"])
    publish(kafka.producer(reward_settings.kafka), traffic(world, 500, seed=9, spacing_ms=1.0))
    worker.start()
    assert worker.wait(60) == 1
    fatal = [line for line in worker.lines() if line["event"] == "fatal"]
    assert len(fatal) == 1
    assert "below the" in fatal[0]["error"] or "rewound" in fatal[0]["error"]
    assert totals(reward_settings)[0] > 3_000  # the checkpoint was left as it was


def _owns(worker, since: int) -> bool:
    """Whether ``worker``'s latest assignment change after log line ``since`` gave it
    partitions."""
    changes = [
        line
        for line in worker.lines()[since:]
        if line["event"] in ("assigned", "revoked", "lost", "fenced")
    ]
    return bool(changes) and changes[-1]["event"] == "assigned" and bool(changes[-1]["partitions"])


def test_rebalances_and_a_paused_owner_count_everything_once(
    reward_settings,
    worker_process,
    feeder,
    until,
    totals,
    learned,
    assert_exact,
):
    world = SyntheticWorld.create(ads=12, seed=5)
    events = list(traffic(world, 50_000, spacing_ms=0.5))
    expected = expected_learned(reward_settings, world, events)
    load = feeder(reward_settings, events, rate=1_500)
    load.start()
    env = {"ADCRAFT_REWARDS__CHECKPOINT_INTERVAL_MS": "200"}
    first = worker_process(reward_settings, world.catalog, **env).start()
    time.sleep(6)
    second = worker_process(reward_settings, world.catalog, **env).start()
    time.sleep(8)
    before = len(first.lines())
    third = worker_process(reward_settings, world.catalog, **env).start()
    # The first must own partitions when it is paused, whatever the machine's speed.
    until(lambda: _owns(first, before) and _owns(third, 0), 60, "three workers share them")
    time.sleep(2)
    first.signal(signal.SIGSTOP)  # paused past its session: its partitions move on
    time.sleep(12)
    asleep = len(first.lines())
    first.signal(signal.SIGCONT)  # wakes believing it still owns them
    time.sleep(8)
    assert third.stop() == 0  # scale down: its partitions move again
    load.join(120)
    until(lambda: totals(reward_settings)[0] == len(events), 120, "every event applied")
    until(lambda: learned(reward_settings) == expected, 120, "every label learned")
    for worker in (first, second):
        assert worker.stop() == 0
    woke = [line["event"] for line in first.lines()[asleep:]]
    assert {"fenced", "lost"} & set(woke), woke  # it learnt it had lost them, wrote nothing
    assert_exact(reward_settings, world, events)


def test_a_feed_that_ends_during_rebalances_is_learned_whole(
    reward_settings, worker_process, feeder, until, totals, learned, assert_exact
):
    """The last click windows are released only once every input is read to its end, with
    no message to trigger it: owners that change just then must still checkpoint and
    publish that learning, and a restored owner must not roll Redis back."""
    world = SyntheticWorld.create(ads=12, seed=6)
    events = list(traffic(world, 20_000, spacing_ms=0.5))
    expected = expected_learned(reward_settings, world, events)
    load = feeder(reward_settings, events, rate=1_330)
    load.start()
    env = {"ADCRAFT_REWARDS__CHECKPOINT_INTERVAL_MS": "200"}
    first = worker_process(reward_settings, world.catalog, **env).start()
    until(lambda: load.sent >= 0.8 * len(events), 60, "most of the feed sent")
    second = worker_process(reward_settings, world.catalog, **env).start()
    until(lambda: _owns(second, 0), 60, "the second worker to take partitions")
    assert first.stop() == 0  # scaled down as the feed ends: the partitions move again
    load.join(60)
    third = worker_process(reward_settings, world.catalog, **env).start()
    until(lambda: _owns(third, 0), 60, "the third worker to take partitions")
    assert third.stop() == 0  # stopped within a second or so of its assignment
    until(lambda: totals(reward_settings)[0] == len(events), 120, "every event applied")
    until(lambda: learned(reward_settings) == expected, 120, "every label learned")
    assert second.stop() == 0
    assert_exact(reward_settings, world, events)


def test_healthz_fails_when_the_loop_stalls_and_readyz_waits_for_catch_up(
    reward_settings, worker_process, feeder, until
):
    world = SyntheticWorld.create(ads=4, seed=2)
    publish(kafka.producer(reward_settings.kafka), traffic(world, 40_000, spacing_ms=0.5))
    worker = worker_process(
        reward_settings,
        world.catalog,
        ADCRAFT_REWARDS__READY_MAX_LAG="100",
        ADCRAFT_REDIS__SOCKET_TIMEOUT_S="60",
    ).start()
    until(lambda: worker.get("/healthz")[0] != 0, 30, "the probe server")
    assert worker.get("/readyz")[0] == 503
    worker.ready(90)
    assert worker.get("/healthz")[0] == 200
    assert worker.get("/nothing-here")[0] == 404
    assert "adcraft_rewards_events_applied_total" in worker.get("/metrics")[1]

    redis = redis_client.client(reward_settings.redis)
    redis.execute_command("CLIENT", "PAUSE", "20000", "ALL")  # Redis hangs: so does the loop
    feeder(reward_settings, list(traffic(world, 3_000, seed=4)), rate=200).start()
    stalled = time.monotonic()
    until(lambda: worker.get("/healthz", 1.0)[0] == 503, 10, "/healthz to fail", every_s=0.5)
    assert time.monotonic() - stalled < 10
    redis.execute_command("CLIENT", "UNPAUSE")
    until(lambda: worker.get("/healthz")[0] == 200, 30, "/healthz to recover")
    assert worker.stop() == 0


def test_a_full_run_logs_no_secret_and_a_mistyped_one_is_not_printed(
    reward_settings, worker_process, until, totals
):
    secret = "S3cr3t-never-logged"
    redis = redis_client.client(reward_settings.redis)
    redis.config_set("requirepass", secret)
    world = SyntheticWorld.create(ads=2, seed=8)
    publish(kafka.producer(reward_settings.kafka), traffic(world, 2_000, spacing_ms=1.0))
    worker = worker_process(
        reward_settings, world.catalog, ADCRAFT_REDIS__PASSWORD=secret, ADCRAFT_LOG_LEVEL="DEBUG"
    ).start()
    authed = reward_settings.model_copy(
        update={"redis": reward_settings.redis.model_copy(update={"password": SecretStr(secret)})}
    )
    until(lambda: totals(authed)[0] >= 2_000, 60, "the events applied")
    assert worker.stop() == 0
    events = [line["event"] for line in worker.lines()]
    assert {"started", "assigned", "plaintext_credentials", "stopped"} <= set(events)
    assert secret not in worker.log.read_text()

    typo = worker_process(reward_settings, world.catalog, ADCRAFT_REDIS__PASSWROD=secret)
    assert typo.start().wait(30) != 0
    output = typo.log.read_text()
    assert "passwrod" in output.lower() and secret not in output
