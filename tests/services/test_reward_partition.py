"""One partition's state: refreshed scores leave it encoded as the ElementScored contract."""

from confluent_kafka import Message

from services.reward_updater.partition import INPUTS, PartitionState
from services.simulator.streams import traffic
from services.simulator.world import SyntheticWorld
from shared import codec
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

    scores = state.scores()
    assert {key[:2] for key, _ in scores} == set(state.model.registered)
    for key, value in scores:
        score = codec.decode(value, ElementScored)
        assert (score.ad_id, score.segment, score.slot, score.element_id) == key
        assert 0 < score.score < 1 and score.uncertainty > 0
        assert score.model_version == f"p0-{state.learned['click']}-{state.learned['conversion']}"
    assert state.scores() == []  # nothing learned since
