"""Driving the live request worker from tests: requests built and produced where the
test says (each remembering where it landed), and every outcome read back from the
recommendation and dead-letter topics."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

from adcraft.services.experiments.assignment import arm_of
from adcraft.shared.adapters import kafka
from adcraft.shared.contract import codec, topics
from adcraft.shared.contract.events import CreativeRequested, Event, RecommendationPublished
from adcraft.shared.runtime.settings import ExperimentSettings, Settings
from tests.support.topics import Follower, Source, source_of

ARMS = ExperimentSettings()
REQUEST, CATALOG = topics.CREATIVE_REQUESTS, topics.AD_CATALOG
REC = "recommendation"
SENT: list[Probe] = []  # every probe produced, in order


@dataclass
class Probe:
    """One hostile message and the outcome it must get (``REC`` or a dead-letter kind)."""

    name: str
    key: bytes | None
    value: bytes | None
    expect: str
    request_id: str | None = None
    topic: str = REQUEST
    where: tuple[int, int] | None = None  # (partition, offset) once delivered


@dataclass
class Outcomes:
    """Everything the worker published, by request id and by dead letter source."""

    recs: dict[str, list[RecommendationPublished]] = field(default_factory=dict)
    letters: dict[Source, list[dict]] = field(default_factory=dict)

    def of(self, probe: Probe) -> list[str]:
        """The outcomes of one probe: ``REC`` per recommendation, kinds of dead letters."""
        found = [REC] * len(self.recs.get(probe.request_id or "", []))
        assert probe.where is not None, f"{probe.name} was not delivered"
        found += [h["adcraft.kind"] for h in self.letters.get((probe.topic, *probe.where), [])]
        return found

    def rec(self, probe: Probe) -> RecommendationPublished:
        (rec,) = self.recs[probe.request_id or ""]
        return rec


class Topics:
    """Reads the recommendation and dead-letter topics from their start."""

    def __init__(self, settings: Settings) -> None:
        self.follower = Follower(settings, topics.RECOMMENDATIONS, topics.DEAD_LETTER)
        self.outcomes = Outcomes()

    def read(self, seconds: float = 0.3) -> Outcomes:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for message in self.follower.read():
                if message.topic() == topics.RECOMMENDATIONS:
                    rec = codec.decode(message.value(), RecommendationPublished)
                    self.outcomes.recs.setdefault(rec.request_id, []).append(rec)
                else:
                    source, headers = source_of(message)
                    self.outcomes.letters.setdefault(source, []).append(headers)
        return self.outcomes

    def close(self) -> None:
        self.follower.close()

    def settle(
        self, probes: list[Probe], timeout_s: float = 60.0, extra_s: float = 1.0
    ) -> Outcomes:
        """Read until every probe has an outcome, then a little longer (a second outcome)."""
        deadline = time.monotonic() + timeout_s
        while not all(map(self.read().of, probes)):  # one read per round
            missing = [p.name for p in probes if not self.outcomes.of(p)]
            assert time.monotonic() < deadline, f"no outcome for {missing[:10]} ({len(missing)})"
        return self.read(extra_s)


class Sender:
    """Produces probes and remembers where each landed."""

    def __init__(self, settings: Settings) -> None:
        self.producer = kafka.producer(settings.kafka, **{"message.max.bytes": 2_000_000})

    def send(self, probes: list[Probe], rate: float | None = None) -> list[Probe]:
        for probe in probes:

            def delivered(err, msg, probe: Probe = probe) -> None:  # type: ignore[no-untyped-def]
                assert err is None, f"{probe.name}: {err}"
                probe.where = (msg.partition(), msg.offset())

            self.producer.produce(
                probe.topic, key=probe.key, value=probe.value, on_delivery=delivered
            )
            SENT.append(probe)
            self.producer.poll(0)
            if rate:
                time.sleep(1 / rate)
        assert self.producer.flush(30) == 0
        return probes


def user(arm: str, n: int = 0) -> str:
    """A user id of ``arm``."""
    for i in range(n * 100, n * 100 + 1_000):
        if arm_of(f"u-{arm}-{i}", ARMS.shares(), ARMS.name) == arm:
            return f"u-{arm}-{i}"
    raise AssertionError(arm)


def request_fields(
    ad: str = "ad0", segment: str = "adult", deadline_ms: int = 5_000, **changes
) -> dict:
    """The fields of a valid creative request for ``ad``, a fresh request id, stamped now,
    with ``changes`` (which may break it)."""
    rid = f"r-{uuid.uuid4().hex[:16]}"
    fields = {
        "event_id": rid,
        "ts_ms": int(time.time() * 1000),
        "ad_id": ad,
        "request_id": rid,
        "user_id": f"u-{rid}",
        "product_id": f"p-{ad}",
        "placement": "feed",
        "segment": segment,
        "deadline_ms": deadline_ms,
    }
    return fields | changes


def request(ad: str = "ad0", segment: str = "young", **changes) -> CreativeRequested:
    """A valid creative request (see :func:`request_fields`)."""
    return CreativeRequested.model_validate(request_fields(ad, segment, **changes))


def publish(settings: Settings, events: list[Event], rate: float | None = None) -> None:
    """Produce ``events``, paced at ``rate`` per second (as an ad server sends, requests
    stamped when sent) if given."""
    producer = kafka.producer(settings.kafka)
    for event in events:
        if rate and isinstance(event, CreativeRequested):
            event = event.model_copy(update={"ts_ms": int(time.time() * 1000)})
        producer.produce(event.topic, key=event.key(), value=codec.encode(event))
        if rate:
            producer.flush(1)
            time.sleep(1 / rate)
    assert producer.flush(10) == 0


def probe(name: str, expect: str = REC, key: bytes | None = None, **changes) -> Probe:
    fields = request_fields(**changes)
    value = json.dumps(fields).encode()  # json, not orjson: ints past 64 bits
    return Probe(name, key or fields["ad_id"].encode(), value, expect, fields["request_id"])


def raw(name: str, value: bytes | None, expect: str = "decode", key: bytes = b"ad0") -> Probe:
    return Probe(name, key, value, expect, f"raw-{name}")
