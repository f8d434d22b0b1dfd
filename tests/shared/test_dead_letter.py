import pytest

from adcraft.shared.adapters.dead_letter import MAX_KEY_BYTES, MAX_REASON_CHARS, DeadLetters
from adcraft.shared.contract.sources import Source


class FakeProducer:
    """Records produce() calls; raises BufferError for the first ``full`` of them."""

    def __init__(self, full: int = 0) -> None:
        self.records: list[dict] = []
        self.polls: list[float] = []
        self.full = full

    def produce(self, topic, key=None, value=None, headers=None):
        if self.full:
            self.full -= 1
            raise BufferError("Local: Queue full")
        self.records.append({"topic": topic, "key": key, "value": value, "headers": headers})

    def poll(self, timeout):
        self.polls.append(timeout)


def _size(record):
    headers = sum(len(name) + len(value) for name, value in record["headers"].items())
    return len(record["key"] or b"") + len(record["value"] or b"") + headers


def test_small_messages_pass_untouched():
    producer = FakeProducer()
    letters = DeadLetters(producer, topic="dlq")
    letters.publish(Source("in", 3, 42, b"ad1", b'{"x":1}'), "x: Field required", "decode")
    [record] = producer.records
    assert (record["topic"], record["key"], record["value"]) == ("dlq", b"ad1", b'{"x":1}')
    assert record["headers"] == {
        "adcraft.reason": b"x: Field required",
        "adcraft.kind": b"decode",
        "adcraft.source.topic": b"in",
        "adcraft.source.partition": b"3",
        "adcraft.source.offset": b"42",
    }
    assert letters.counts == {"decode": 1}


@pytest.mark.parametrize("key", [b"ad1", None, b"k" * 200_000])
def test_an_oversized_message_goes_by_reference(key):
    producer = FakeProducer()
    letters = DeadLetters(producer, max_bytes=100_000)
    letters.publish(Source("in", 0, 7, key, b"v" * 999_900), "r" * 5_000, "decode")
    [record] = producer.records
    headers = record["headers"]
    assert len(record["value"]) <= 100_000 and _size(record) <= 100_000
    assert record["value"] == b"v" * len(record["value"])
    assert len(record["key"] or b"") <= MAX_KEY_BYTES
    assert headers["adcraft.truncated"] == b"true"
    assert headers["adcraft.original.size"] == b"999900"
    assert headers["adcraft.reason"] == b"r" * MAX_REASON_CHARS
    assert (headers["adcraft.source.topic"], headers["adcraft.source.offset"]) == (b"in", b"7")
    assert letters.counts == {"decode": 1}


def test_a_full_local_queue_is_waited_out():
    producer = FakeProducer(full=2)
    DeadLetters(producer).publish(Source("in", 0, 1, None, b"{}"), "reason", "decode")
    assert len(producer.records) == 1 and len(producer.polls) == 2
