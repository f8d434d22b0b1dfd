"""Ad posteriors written by the fenced score write and read back in one round trip."""

import pytest

from adcraft.shared.adapters.checkpoint_store import CheckpointStore
from adcraft.shared.adapters.posterior_store import PosteriorStore
from adcraft.shared.contract import keys
from adcraft.shared.contract.posteriors import AdPosterior, ElementPosterior, PairPosterior

SCORE = (("ad1", "young", "title", "t1"), b'{"score":0.1}')


def _posterior(segment: str, mean: float) -> AdPosterior:
    return AdPosterior(
        "ad1",
        segment,
        "v1",
        {"title": [ElementPosterior("t1", mean, 0.5, 3.0, 0.1)]},
        [PairPosterior("image", "i1", "title", "t1", 0.4, 0.3)],
    )


def _blobs(*posteriors: AdPosterior) -> list[tuple[str, str, bytes]]:
    return [(p.ad_id, p.segment, p.encode()) for p in posteriors]


def test_reads_what_the_owner_wrote_and_nothing_a_fenced_one_did(redis_client):
    old, new = CheckpointStore(redis_client, "g"), CheckpointStore(redis_client, "g")
    old.open(), new.open()
    stale = old.claim(0)
    token = new.claim(0)
    young, everyone = _posterior("young", 0.2), _posterior("all", -0.1)
    written = new.write_scores({0: token}, {0: 1}, {0: [SCORE]}, {0: _blobs(young, everyone)})
    assert written == (set(), set())
    fenced = old.write_scores({0: stale}, {0: 1}, {0: [SCORE]}, {0: _blobs(_posterior("young", 9))})
    assert fenced == ({0}, set())

    store = PosteriorStore(redis_client)
    assert store.read("ad1", ["young", "all", "senior"]) == {
        "young": young,
        "all": everyone,
        "senior": None,
    }
    assert store.read("ad2", ["all"]) == {"all": None}
    assert store.read("ad1", []) == {}


def test_reads_every_segment_in_one_command(redis_client, monkeypatch):
    sent = []
    execute = redis_client.execute_command

    def counted(*args, **options):
        sent.append(args[0])
        return execute(*args, **options)

    monkeypatch.setattr(redis_client, "execute_command", counted)
    PosteriorStore(redis_client).read("ad1", ["young", "all"])
    assert sent == ["MGET"]


def test_a_corrupt_blob_is_a_value_error(redis_client):
    redis_client.set(keys.posterior("ad1", "all"), b"not msgpack of a posterior")
    with pytest.raises(ValueError, match="not an ad posterior"):
        PosteriorStore(redis_client).read("ad1", ["all"])


def test_all_is_every_posterior_in_redis(redis_client):
    store = CheckpointStore(redis_client, "g-all")
    store.open()
    token = store.claim(0)
    written = [_posterior(f"seg{i}", i / 10) for i in range(7)]
    store.write_scores({0: token}, {0: 1}, {0: [SCORE]}, {0: _blobs(*written)})
    found = PosteriorStore(redis_client).all(batch=3)
    assert {p.segment for p in found} >= {p.segment for p in written}
    assert all(p in found for p in written)
