"""Events through the real broker: consumer groups, committed offsets, dead letters."""

import time

from adcraft.shared.adapters import kafka
from adcraft.shared.adapters.dead_letter import DeadLetters
from adcraft.shared.contract import codec
from adcraft.shared.contract.codec import DecodeError
from adcraft.shared.contract.events import ClickRecorded
from adcraft.shared.contract.sources import Source


def _clicks(n, start=0):
    return [
        ClickRecorded(
            event_id=f"c{i}", ts_ms=i, ad_id=f"ad{i % 3}", request_id=f"r{i}", user_id="u"
        )
        for i in range(start, start + n)
    ]


def _produce(settings, topic, values_and_keys):
    producer = kafka.producer(settings)
    for key, value in values_and_keys:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(10) == 0


def _drain(consumer, want, timeout_s=30):
    got = []
    deadline = time.monotonic() + timeout_s
    while len(got) < want and time.monotonic() < deadline:
        got += [m for m in consumer.consume(num_messages=100, timeout=0.5) if m.error() is None]
    return got


def test_round_trip_and_resume_from_committed_offsets(kafka_settings, unique_topic, unique_group):
    kafka.ensure_topics(kafka_settings, [unique_topic], partitions=2)
    first, second = _clicks(10), _clicks(5, start=10)
    _produce(kafka_settings, unique_topic, [(e.key(), codec.encode(e)) for e in first])

    consumer = kafka.consumer(kafka_settings, unique_group)
    consumer.subscribe([unique_topic])
    messages = _drain(consumer, 10)
    assert sorted(codec.decode(m.value(), ClickRecorded).event_id for m in messages) == sorted(
        e.event_id for e in first
    )
    consumer.commit(asynchronous=False)
    consumer.close()

    _produce(kafka_settings, unique_topic, [(e.key(), codec.encode(e)) for e in second])
    restarted = kafka.consumer(kafka_settings, unique_group)
    restarted.subscribe([unique_topic])
    resumed = _drain(restarted, 5)
    time.sleep(1)  # anything beyond the five new events would show up here
    resumed += [m for m in restarted.consume(num_messages=100, timeout=1) if m.error() is None]
    restarted.close()
    assert sorted(codec.decode(m.value(), ClickRecorded).event_id for m in resumed) == sorted(
        e.event_id for e in second
    )


def test_malformed_bytes_are_dead_lettered_with_reason(kafka_settings, unique_topic, unique_group):
    dead_topic = f"{unique_topic}-dlq"
    kafka.ensure_topics(kafka_settings, [unique_topic, dead_topic], partitions=1)
    good = _clicks(1)[0]
    raw = [b"{broken", b'{"event_id": "x", "ts_ms": "soon", "ad_id": "a"}', codec.encode(good)]
    _produce(kafka_settings, unique_topic, [(b"k", value) for value in raw])

    producer = kafka.producer(kafka_settings)
    dead = DeadLetters(producer, topic=dead_topic)
    consumer = kafka.consumer(kafka_settings, unique_group)
    consumer.subscribe([unique_topic])
    decoded = []
    for message in _drain(consumer, 3):
        try:
            decoded.append(codec.decode(message.value(), ClickRecorded))
        except DecodeError as exc:
            dead.publish(Source.of(message), exc.reason, kind="decode")
    consumer.close()
    producer.flush(10)
    assert decoded == [good]
    assert dead.counts == {"decode": 2}

    reader = kafka.consumer(kafka_settings, unique_group + "-dlq")
    reader.subscribe([dead_topic])
    letters = _drain(reader, 2)
    reader.close()
    assert [m.value() for m in letters] == raw[:2]
    headers = [dict(m.headers()) for m in letters]
    assert headers[0]["adcraft.reason"].startswith(b"invalid JSON")
    assert headers[1]["adcraft.reason"] == b"ts_ms: Input should be a valid integer"
    assert [h["adcraft.source.offset"] for h in headers] == [b"0", b"1"]
    assert all(h["adcraft.source.topic"] == unique_topic.encode() for h in headers)
