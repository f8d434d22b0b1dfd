"""One partition's state: refreshed scores leave it encoded as the ElementScored contract."""

import orjson
import pytest
from confluent_kafka import Message

from services.reward_updater.exceptions import OffsetRewound
from services.reward_updater.partition import INPUTS, PartitionState
from services.simulator.streams import SHORT_WINDOWS, traffic
from services.simulator.world import SyntheticWorld
from shared import codec, topics
from shared.checkpoint_store import Checkpoint
from shared.events import ElementScored
from shared.settings import RewardSettings


def test_scores_decode_as_element_scored_events_once_per_refresh():
    world = SyntheticWorld.create(ads=2)
    windows = RewardSettings(click_window_ms=1_000, conversion_window_ms=2_000, hold_ms=100)
    state = PartitionState(0, world.catalog, windows)
    events = traffic(world, 300, click_delay_ms=500, conversion_delay_ms=1_000)
    for offset, event in enumerate(events):
        assert state.apply(Message(event.topic, 0, offset, event.key(), codec.encode(event))) == ()
    state.advance(set(INPUTS))

    scores = state.refresh().scores
    assert {key[:2] for key, _ in scores} == set(state.model.registered)
    for key, value in scores:
        score = codec.decode(value, ElementScored)
        assert (score.ad_id, score.segment, score.slot, score.element_id) == key
        assert 0 < score.score < 1 and score.uncertainty > 0
        assert score.model_version == f"p0-{state.learned['click']}-{state.learned['conversion']}"
    assert state.refresh() == ([], [])  # nothing learned since


def _restored(world, windows, messages):
    """A state that applied ``messages``, checkpointed, and restored into a fresh one."""
    state = PartitionState(0, world.catalog, windows)
    for message in messages:
        state.apply(message)
    blobs = state.checkpoint(snapshot=True).blobs
    fresh = PartitionState(0, world.catalog, windows)
    fresh.restore(Checkpoint(blobs["meta"], blobs["model"], blobs["pending"], []))
    return fresh


def _messages(world):
    offsets: dict[str, int] = {}
    out = []
    for event in traffic(world, 300, click_delay_ms=500, conversion_delay_ms=1_000):
        offset = offsets[event.topic] = offsets.get(event.topic, -1) + 1
        out.append(Message(event.topic, 0, offset, event.key(), codec.encode(event)))
    return out


def test_every_input_keeps_its_fingerprint_through_restores():
    world = SyntheticWorld.create(ads=1)
    messages = _messages(world)
    restored = _restored(world, SHORT_WINDOWS, messages)
    assert set(restored.unverified) == set(INPUTS)
    impressions = [m for m in messages if m.topic() == topics.IMPRESSIONS]
    last = impressions[-1]
    assert restored.apply(last) == ()  # the last one applied comes first again: checked
    meta = orjson.loads(restored.checkpoint(snapshot=False).blobs["meta"])
    assert set(meta["tail"]) == set(INPUTS)  # clicks and conversions were not seen again


def test_another_message_where_the_last_applied_one_was_is_a_rewind():
    world = SyntheticWorld.create(ads=1)
    messages = _messages(world)
    restored = _restored(world, SHORT_WINDOWS, messages)
    last = [m for m in messages if m.topic() == topics.CLICKS][-1]
    other = Message(last.topic(), 0, last.offset(), last.key(), b'{"replaced":true}')
    with pytest.raises(OffsetRewound, match="holds another message"):
        restored.apply(other)
    with pytest.raises(OffsetRewound, match="lost or rewound"):
        _restored(world, SHORT_WINDOWS, messages).apply(messages[0])
