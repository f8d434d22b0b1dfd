from adcraft.shared.adapters import score_store
from adcraft.shared.contract import keys
from adcraft.shared.contract.events import ElementScored


def _score(element_id, value, segment="all"):
    return ElementScored(
        event_id=f"s-{element_id}",
        ts_ms=1,
        ad_id="ad1",
        segment=segment,
        slot="title",
        element_id=element_id,
        score=value,
        uncertainty=0.01,
        observations=10,
        model_version="v1",
    )


def test_round_trip_and_overwrite(redis_client):
    store = score_store.ScoreStore(redis_client)
    assert store.write([_score("t1", 0.1), _score("t2", 0.2), _score("t1", 0.3, "young")]) == 3
    assert store.write([_score("t2", 0.25)]) == 1
    everyone = store.read("ad1", "all")
    assert {k: v.score for k, v in everyone.items()} == {
        ("title", "t1"): 0.1,
        ("title", "t2"): 0.25,
    }
    assert store.read("ad1", "young")[("title", "t1")] == _score("t1", 0.3, "young")
    assert store.read("ad2", "all") == {}
    assert redis_client.exists(keys.scores("ad1", "all"))
