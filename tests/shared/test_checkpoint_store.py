"""Checkpoints and fenced writes against a real Redis."""

import pytest

from adcraft.shared.adapters.checkpoint_store import CheckpointStore, StateLost, StateWrite
from adcraft.shared.contract import keys

SCORE = (("ad1", "all", "title", "t1"), b'{"score":0.1}')


def _write(meta: bytes, chunk: bytes | None = None, reset: bool = False) -> StateWrite:
    return StateWrite(blobs={"meta": meta, "model": b"m"}, log_chunk=chunk, reset_log=reset)


def test_a_checkpoint_round_trips_with_its_changelog(redis_client):
    store = CheckpointStore(redis_client, "g")
    assert store.open() is True and store.open() is False
    token = store.claim(0)
    assert store.load(0) is None
    assert store.save({0: token}, {0: _write(b"a", b"c1")}) == set()
    assert store.save({0: token}, {0: _write(b"b", b"c2")}) == set()
    checkpoint = store.load(0)
    assert (checkpoint.meta, checkpoint.model, checkpoint.log) == (b"b", b"m", [b"c1", b"c2"])
    snapshot = StateWrite(blobs={"meta": b"c", "model": b"m", "pending": b"p"}, reset_log=True)
    assert store.save({0: token}, {0: snapshot}) == set()
    assert store.load(0).log == [] and store.load(0).pending == b"p"


def test_a_stale_owner_writes_nothing_and_the_others_are_written(redis_client):
    old, new = CheckpointStore(redis_client, "g"), CheckpointStore(redis_client, "g")
    old.open(), new.open()
    old_tokens = {0: old.claim(0), 1: old.claim(1)}
    old.save(old_tokens, {0: _write(b"old"), 1: _write(b"old")})
    new_token = new.claim(0)  # partition 0 moved; the old owner still thinks it has it
    assert old.save(old_tokens, {0: _write(b"stale"), 1: _write(b"fresh")}) == {0}
    assert old.write_scores(old_tokens, {0: 1}, {0: [SCORE]}) == ({0}, set())
    assert redis_client.hgetall(keys.scores("ad1", "all")) == {}
    assert (old.load(0).meta, old.load(1).meta) == (b"old", b"fresh")
    assert new.save({0: new_token}, {0: _write(b"new")}) == set()
    assert new.write_scores({0: new_token}, {0: 1}, {0: [SCORE]}) == (set(), set())
    assert redis_client.hgetall(keys.scores("ad1", "all")) == {b"title|t1": SCORE[1]}


def test_a_redis_that_lost_its_data_refuses_every_write(redis_client):
    store = CheckpointStore(redis_client, "g")
    store.open()
    token = store.claim(0)
    store.save({0: token}, {0: _write(b"a")})
    redis_client.flushall()
    with pytest.raises(StateLost, match="generation"):
        store.save({0: token}, {0: _write(b"b", b"chunk")})
    with pytest.raises(StateLost):
        store.write_scores({0: token}, {0: 1}, {0: [SCORE]})
    assert redis_client.keys("*") == []
    assert store.open() is True  # a restarted worker sees a new generation


def test_scores_older_than_the_newest_written_are_refused(redis_client):
    """A new owner that restored a checkpoint older than what the last owner published
    (it crashed in between) must not roll Redis back; the same version may be rewritten."""
    first, second = CheckpointStore(redis_client, "g"), CheckpointStore(redis_client, "g")
    first.open(), second.open()
    newer = (SCORE[0], b'{"score":0.2}')
    assert first.write_scores({0: first.claim(0)}, {0: 9}, {0: [newer]}) == (set(), set())
    token = second.claim(0)
    assert second.write_scores({0: token}, {0: 7}, {0: [SCORE]}) == (set(), {0})
    assert redis_client.hgetall(keys.scores("ad1", "all")) == {b"title|t1": newer[1]}
    assert second.write_scores({0: token}, {0: 9}, {0: [SCORE]}) == (set(), set())
    assert second.write_scores({0: token}, {0: 10}, {0: [newer]}) == (set(), set())
    assert redis_client.get(keys.published("g", 0)) == b"10"
