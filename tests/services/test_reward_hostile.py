"""The worst messages we could think of, through the live worker process: every one is
dead-lettered with its reason, nothing valid around them is lost, memory stays bounded,
and a restart carries on."""

from __future__ import annotations

import json
import time

import orjson

from adcraft.services.simulator.streams import publish, traffic
from adcraft.services.simulator.world import SyntheticWorld
from adcraft.shared.adapters import kafka
from adcraft.shared.contract import codec, topics
from adcraft.shared.contract.events import ClickRecorded, ConversionRecorded, ImpressionServed
from tests.support.workers import rss_peak_mb

# The worker's peak here is 440-470 MB from run to run (imports alone ~250 MB): the bound
# catches a flood held in memory (the 1 MB values, 20,000 segments), not that noise.
RSS_BOUND_MB = 520
DEEP = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
TEN_YEARS_MS = 10 * 365 * 86_400_000


def _poison(
    valid: ImpressionServed,
    prior: ImpressionServed,
    click: ClickRecorded,
    conversion: ConversionRecorded,
):
    """(topic, value, expected dead-letter kind) for each hostile message; ``valid`` is an
    impression sent after them, ``prior`` one of the same ad sent just before."""
    impression = orjson.loads(codec.encode(valid))

    def bad(n: int, **fields) -> bytes:
        ids = {"event_id": f"bad-{n}", "request_id": f"bad-{n}"}
        return json.dumps(impression | ids | fields).encode()  # orjson refuses 2**64

    elements = impression["elements"]
    slot = next(iter(elements))
    yield topics.IMPRESSIONS, None, "decode"
    for value in (b"NaN", b"Infinity", b"-Infinity", b"[1,2]", b'"text"', b"{not json"):
        yield topics.CLICKS, value, "decode"
    yield topics.IMPRESSIONS, DEEP, "decode"
    yield topics.IMPRESSIONS, bad(1)[:-1] + b',"extra":' + DEEP + b"}", "decode"
    yield topics.IMPRESSIONS, bad(2, ts_ms=2**64), "decode"
    yield topics.IMPRESSIONS, bad(3, ts_ms=-1), "decode"
    yield topics.IMPRESSIONS, bad(4, propensity=0), "decode"
    yield topics.IMPRESSIONS, b"x" * 999_900, "decode"
    yield topics.IMPRESSIONS, bad(5, ts_ms=valid.ts_ms + TEN_YEARS_MS), "future"
    yield topics.IMPRESSIONS, bad(6, ad_id="ad-nope"), "unknown_ad"
    yield topics.IMPRESSIONS, bad(7, elements=elements | {slot: "nope"}), "unknown_element"
    yield topics.IMPRESSIONS, bad(8, elements={slot: elements[slot]}), "unknown_element"
    yield topics.IMPRESSIONS, bad(9, request_id=prior.request_id), "duplicate_request"
    conversion_bytes = codec.encode(conversion)[:-1] + b',"value":1e400}'
    yield topics.CONVERSIONS, conversion_bytes, "decode"
    orphan = click.model_copy(update={"event_id": "orphan", "request_id": "no-such-request"})
    yield topics.CLICKS, codec.encode(orphan), "unjoinable"
    for n in range(20_000):  # a flood of segments: only the catalogue's few are learned
        yield topics.IMPRESSIONS, bad(100 + n, segment=f"segment-{n}"), "segment_limit"
    for n in range(200):  # request ids of a megabyte each
        yield topics.IMPRESSIONS, bad(50_000 + n, request_id="r" * 1_000_000), "decode"


def test_hostile_messages_are_dead_lettered_and_nothing_valid_is_lost(
    reward_settings,
    worker_process,
    until,
    totals,
    letters,
    reference,
    redis_scores,
    assert_same_scores,
):
    world = SyntheticWorld.create(ads=2, seed=21)
    # Feedback well inside its windows: every dead letter is one of the poison.
    valid = list(
        traffic(world, 5_000, spacing_ms=5.0, click_delay_ms=1_500, conversion_delay_ms=5_000)
    )
    before, after, last = valid[:2_000], valid[2_000:4_000], valid[4_000:]
    first = next(e for e in after if isinstance(e, ImpressionServed))
    prior = [e for e in before if isinstance(e, ImpressionServed) and e.ad_id == first.ad_id][-1]
    click = next(e for e in after if isinstance(e, ClickRecorded))
    conversion = next(e for e in valid if isinstance(e, ConversionRecorded))
    poison = list(_poison(first, prior, click, conversion))

    producer = kafka.producer(reward_settings.kafka, **{"message.max.bytes": 2_000_000})
    publish(producer, before)
    for topic, value, _ in poison:
        producer.produce(topic, key=first.key(), value=value)
        producer.poll(0)
    publish(producer, after)
    worker = worker_process(
        reward_settings, world.catalog, ADCRAFT_REWARDS__MAX_SEGMENTS_PER_AD="3"
    ).start()
    sent = len(before) + len(poison) + len(after)
    until(lambda: totals(reward_settings)[0] == sent, 120, "every message applied")
    # The orphan click waits hold_ms of event time before it is unjoinable.
    until(lambda: len(letters(reward_settings)) == len(poison), 60, "every dead letter")
    assert worker.running() and worker.get("/healthz")[0] == 200
    rss = rss_peak_mb(worker)
    print(f"worker peak RSS {rss:.0f} MB")
    assert rss < RSS_BOUND_MB, f"peak RSS {rss:.0f} MB"

    assert worker.stop() == 0  # a clean restart resumes where it stopped
    worker.start()
    publish(producer, last)
    sent += len(last)
    until(lambda: totals(reward_settings)[0] == sent, 120, "the last events applied")
    time.sleep(1.5)  # one more checkpoint: the counts of the last batch
    assert worker.stop() == 0

    dead = letters(reward_settings)
    kinds: dict[str, int] = {}
    for headers in dead.values():
        kinds[headers["adcraft.kind"]] = kinds.get(headers["adcraft.kind"], 0) + 1
    expected: dict[str, int] = {}
    for _, _, kind in poison:
        expected[kind] = expected.get(kind, 0) + 1
    assert kinds == expected
    oversized = [h for h in dead.values() if h.get("adcraft.truncated") == "true"]
    assert len(oversized) == 201
    assert all(
        h["size"] <= 100_000 and int(h["adcraft.original.size"]) > 999_000 for h in oversized
    )

    _, counts = totals(reward_settings)
    applied = sum(counts.get(k, 0) for k in ("impression", "click_joined", "conversion_joined"))
    assert applied + len(dead) == sent == len(valid) + len(poison)
    assert_same_scores(redis_scores(reward_settings, world), reference(world.catalog, valid), world)
