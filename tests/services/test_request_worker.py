"""The request worker as a process against the real broker, Redis and Triton (the
combination generator and the copy generator): every request gets exactly one outcome, a
catalogue update is served without a restart, copy pools are written ahead of demand, and a
reviewer's veto holds across restarts.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from functools import partial

import msgspec
import orjson
import pytest

from adcraft.services.copywriter.weights import CopyPaths, version
from adcraft.services.pools import review, status
from adcraft.services.pools.store import PoolStore
from adcraft.services.request_worker import copy_choice
from adcraft.services.simulator.listings import listings
from adcraft.services.simulator.world import SEGMENTS, SyntheticWorld
from adcraft.services.stack import Stack
from adcraft.services.stack.worker import WorkerProcess
from adcraft.shared.adapters import kafka, redis_client
from adcraft.shared.contract import codec, keys, topics
from adcraft.shared.contract.copy_pool import read_pool
from adcraft.shared.contract.events import (
    AdListed,
    RecommendationPublished,
)
from adcraft.shared.copy_rules.postprocess import CopyRules, variants
from adcraft.shared.copy_rules.screen import CopyScreen
from adcraft.shared.runtime.settings import CopySettings, Settings
from tests.support import requests
from tests.support.stacks import SERVING, list_world, running, with_topics
from tests.support.topics import Follower
from tests.support.waiting import wait_until
from tests.support.workers import launch

WORLD = SyntheticWorld.create(ads=2, copy_styles=3)
SERVING_VERSION = version(CopyPaths.from_settings(CopySettings()).adapter())
SCREEN = CopyScreen.from_settings(CopySettings())
RULES = CopyRules.from_settings(CopySettings())


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    yield from running(
        tmp_path_factory.mktemp("requests"),
        SERVING,
        models=["combination_generator", "copy_generator"],
        model_env=CopySettings().environment(),
    )


@pytest.fixture(scope="module")
def settings(stack) -> Settings:
    return with_topics(stack)


@pytest.fixture(scope="module")
def worker(settings, tmp_path_factory) -> Iterator[WorkerProcess]:
    list_world(settings, WORLD)
    process = launch(
        settings,
        tmp_path_factory.mktemp("request-worker"),
        "requests",
        ADCRAFT_REQUESTS__COPY_VARIANTS="2",
        ADCRAFT_REQUESTS__REFILL_RETRY_S="1",
    ).start()
    process.ready(90)
    yield process
    assert process.stop() == 0


# Requests here give the worker a second: long enough to answer, short enough to miss.
_request = partial(requests.request, deadline_ms=1_000)
_publish = requests.publish


def _recommendations(messages) -> dict[str, list[RecommendationPublished]]:
    found: dict[str, list[RecommendationPublished]] = {}
    for message in messages:
        rec = codec.decode(message.value(), RecommendationPublished)
        found.setdefault(rec.request_id, []).append(rec)
    return found


def _passes_post_processing(listing: AdListed, rec: RecommendationPublished) -> bool:
    text = rec.copy_text["copy"]
    brief = copy_choice.brief(listing, rec.segment, rec.elements["copy"])
    kept, _ = variants(brief, [text], RULES, set(), SCREEN)
    return [v.text for v in kept] == [text]


def test_every_request_gets_one_outcome(settings, worker):
    recommendations = Follower(settings, topics.RECOMMENDATIONS)
    dead = Follower(settings, topics.DEAD_LETTER)
    valid = [_request(ad, s) for ad in WORLD.catalog.ads for s in SEGMENTS for _ in range(8)]
    late = _request("ad0", ts_ms=int(time.time() * 1000) - 10_000, deadline_ms=100)
    _publish(settings, valid, rate=50)
    _publish(settings, [late])
    producer = kafka.producer(settings.kafka)
    for value in (b"{not json", orjson.dumps({"ad_id": "ad0"})):
        producer.produce(topics.CREATIVE_REQUESTS, key=b"ad0", value=value)
    unknown = _request("ad-unknown")
    producer.produce(unknown.topic, key=unknown.key(), value=codec.encode(unknown))
    assert producer.flush(10) == 0

    wanted = {r.request_id for r in [*valid, late]}
    found = _recommendations(
        recommendations.until(lambda m: wanted <= set(_recommendations(m)), timeout_s=90)
    )
    letters = dead.until(lambda m: len(m) >= 3)
    kinds = Counter(dict(m.headers())["adcraft.kind"].decode() for m in letters)
    assert kinds == {"decode": 2, "unknown_ad": 1}
    assert all(len(found[r]) == 1 for r in wanted), Counter(len(found[r]) for r in wanted)
    by_ad = {listing.ad_id: listing for listing in listings(WORLD, 0)}
    for request in valid:
        (rec,) = found[request.request_id]
        assert 0 < rec.propensity <= 1 and rec.arm in ("generator", "thompson")
        assert rec.elements.keys() == by_ad[request.ad_id].slots.keys()
        assert all(e in by_ad[request.ad_id].slots[s] for s, e in rec.elements.items())
        assert _passes_post_processing(by_ad[request.ad_id], rec), rec.copy_text
        assert rec.copy_variant["copy"].startswith("v-")
        if rec.path != "default":
            assert rec.contributions.keys() == rec.elements.keys()
    paths = Counter(found[r.request_id][0].path for r in valid)
    reasons = Counter(found[r.request_id][0].reason for r in valid)
    assert paths["model"] > 0.9 * len(valid), reasons
    (answer,) = found[late.request_id]
    assert answer.path == "default" and "deadline" in answer.reason
    assert answer.elements == by_ad["ad0"].default_creative() and answer.propensity == 1.0
    # The late one, and any valid one a busy machine delivered past its 1 s deadline.
    missed = sum(found[r][0].reason.startswith("deadline_passed") for r in wanted)
    metrics = worker.get("/metrics")[1]
    assert f'adcraft_deadline_misses_total{{when="arrival"}} {float(missed)}' in metrics
    recommendations.close()
    dead.close()


def test_a_catalogue_update_is_served_without_a_restart(settings, worker):
    now = int(time.time() * 1000)
    ad0 = next(x for x in listings(WORLD, now) if x.ad_id == "ad0")
    slots = dict(ad0.slots) | {"title": [*ad0.slots["title"], "t9"]}
    updated = ad0.model_copy(update={"slots": slots, "event_id": "listing-ad0-2"})
    new = ad0.model_copy(
        update={"ad_id": "ad-new", "event_id": "listing-new", "product": "skirt", "slots": slots}
    )
    _publish(settings, [updated, new])
    time.sleep(1.0)  # the feed polls every 0.2 s
    recommendations = Follower(settings, topics.RECOMMENDATIONS)
    asked = [_request("ad-new") for _ in range(5)] + [_request("ad0") for _ in range(60)]
    _publish(settings, asked, rate=50)
    wanted = {r.request_id for r in asked}
    found = _recommendations(
        recommendations.until(lambda m: wanted <= set(_recommendations(m)), timeout_s=60)
    )
    assert all("skirt" in found[r.request_id][0].copy_text["copy"] for r in asked[:5])
    titles = Counter(found[r.request_id][0].elements["title"] for r in asked[5:])
    assert titles["t9"] > 0, titles  # the new element, at the prior, gets its chance
    recommendations.close()


def test_copy_pools_are_written_ahead_of_demand_and_served(settings, worker):
    recommendations = Follower(settings, topics.RECOMMENDATIONS)
    redis = redis_client.client(settings.redis)
    cached: list[RecommendationPublished] = []

    def served_from_cache() -> bool:
        _publish(settings, [_request("ad1", "adult") for _ in range(4)])
        time.sleep(0.5)
        recommendations.read()
        recs = [r for rs in _recommendations(recommendations.messages).values() for r in rs]
        cached[:] = [r for r in recs if r.copy_source == "pool" and r.ad_id == "ad1"]
        return bool(cached)

    wait_until(served_from_cache, 240, "copy served from a pool", every_s=0.5)
    listing = next(x for x in listings(WORLD, 0) if x.ad_id == "ad1")
    for rec in cached:
        assert _passes_post_processing(listing, rec), rec.copy_text
        pool = read_pool(redis.get(keys.copy_pool("ad1", rec.segment, rec.elements["copy"])))
        assert (rec.copy_variant["copy"], rec.copy_text["copy"]) in pool.variants
    assert 'adcraft_copy_pool_writes_total{outcome="written"}' in worker.get("/metrics")[1]
    assert pool.model == SERVING_VERSION  # the adapter that wrote it, by its files
    recommendations.close()


def test_a_pool_another_model_version_wrote_is_rewritten_in_the_background(settings, worker):
    redis = redis_client.client(settings.redis)
    listing = next(x for x in listings(WORLD, 0) if x.ad_id == "ad0")
    slots = [keys.copy_pool("ad0", "adult", style) for style in listing.slots["copy"]]
    wait_until(lambda: any(redis.get(k) for k in slots), 240, "a pool of ad0 written")
    key = next(k for k in slots if redis.get(k))
    written = read_pool(redis.get(key))
    assert written.model == SERVING_VERSION
    # As if an older adapter had written it: still served, rewritten by the sweep.
    redis.set(key, msgspec.structs.replace(written, model="adapter-retired").encode())
    wait_until(
        lambda: read_pool(redis.get(key)).model == SERVING_VERSION, 240, "the pool rewritten"
    )
    assert read_pool(redis.get(key)).written_ms > written.written_ms
    lines = worker.log.read_text().splitlines()
    due = [orjson.loads(x) for x in lines if x.startswith("{") and '"pools_due"' in x]
    assert any(line.get("outdated") for line in due), due[-3:]  # progress, in the log


def test_copy_mode_fresh_writes_copy_inside_the_deadline(settings, tmp_path):
    """A second worker (its own group, so both answer) in ``copy_mode=fresh``: with room in
    the deadline, its copy is written for the request by ``copy_generator``. It does not
    sweep the pools (the first worker does): on CPU its writes queue behind the sweep's."""
    fresh = launch(
        settings,
        tmp_path,
        "requests",
        ADCRAFT_REQUESTS__COPY_MODE="fresh",
        ADCRAFT_REQUESTS__GROUP_ID="adcraft-requests-fresh",
        ADCRAFT_REQUESTS__POOL_SWEEP_S="3600",
        ADCRAFT_REQUESTS__COPY_VARIANTS="2",
    ).start()
    try:
        fresh.ready(90)
        recommendations = Follower(settings, topics.RECOMMENDATIONS)
        asked = [_request("ad0", "senior", deadline_ms=120_000) for _ in range(8)]
        _publish(settings, asked)
        wanted = {r.request_id for r in asked}

        def written() -> list[RecommendationPublished]:
            recs = [r for rs in _recommendations(recommendations.messages).values() for r in rs]
            return [r for r in recs if r.request_id in wanted and r.copy_source == "fresh"]

        def both_answered(messages) -> bool:
            found = _recommendations(messages)
            return all(len(found.get(rid, [])) == 2 for rid in wanted)

        recommendations.until(both_answered, timeout_s=180)
        causes = [line for line in fresh.log.read_text().splitlines() if "fallback" in line]
        assert written(), f"no copy was written for its request: {causes[-3:]}"
        listing = next(x for x in listings(WORLD, 0) if x.ad_id == "ad0")
        assert all(_passes_post_processing(listing, rec) for rec in written())
        recommendations.close()
    finally:
        assert fresh.stop() == 0


def test_a_rejected_variant_is_never_served_and_decisions_survive_a_restart(settings, worker):
    store = PoolStore(redis_client.client(settings.redis))
    ads = listings(WORLD, 0)
    hit = partial(status.rows, ads, store, review_required=False, minimum=2)
    wait_until(
        lambda: any(r.state == "hit" and r.ad_id == "ad1" for r in hit()),
        240,
        "a pool of ad1 written ahead of demand",
    )

    def served(count: int) -> list[RecommendationPublished]:
        follower = Follower(settings, topics.RECOMMENDATIONS)
        asked = [_request("ad1", "young") for _ in range(count)]
        _publish(settings, asked)
        wanted = {r.request_id for r in asked}
        follower.until(lambda m: wanted <= set(_recommendations(m)), timeout_s=60)
        follower.close()
        recs = [r for rs in _recommendations(follower.messages).values() for r in rs]
        return [r for r in recs if r.request_id in wanted and r.copy_source == "pool"]

    wait_until(lambda: bool(served(20)), 120, "pooled copy served to ad1's young users")
    # A marketer rejects every variant pooled for ad1's young users, in every style.
    pooled = [p for p in review.pooled(ads, store) if p.slot[:2] == ("ad1", "young")]
    vetoed = {p.variant for p in pooled}
    assert review.decide(pooled, store, sorted(vetoed), "rejected", "a marketer", "off brand") == []
    after = served(60)
    worker.kill()  # decisions live in Redis, not in the worker
    worker.start().ready(90)
    after += served(60)
    assert not vetoed & {r.copy_variant["copy"] for r in after}
    decisions = [d for _, d in store.read([p.slot for p in pooled])]
    assert all(d[p.variant].by == "a marketer" for p, d in zip(pooled, decisions, strict=True))
