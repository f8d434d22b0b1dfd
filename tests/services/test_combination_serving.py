"""The generator behind Triton, in-process: checks, batching, export, reproducible training."""

import json

import numpy as np
import pytest
import torch

from services.combinations import export, serving, training_run
from services.combinations.candidates import Candidates
from services.combinations.generator import CombinationGenerator
from services.combinations.reinforce import TrainConfig, train
from services.combinations.worlds import as_posteriors, sample
from shared import keys
from shared.combination_contract import pack, unpack
from shared.settings import Settings

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return CombinationGenerator().eval()


def _arrays(seed_worlds: int, shape=(5, 6), k=4, seed=-1, temperature=1.0):
    posteriors = as_posteriors(sample(2, torch.Generator().manual_seed(seed_worlds)).seen)
    return (*pack(posteriors, shape, k, temperature, seed), posteriors)


@pytest.mark.parametrize(
    "name, change, message",
    [
        ("FEATURES", lambda a: a.__setitem__((0, 0, 0, 0), np.nan), "non-finite"),
        ("PAIRS", lambda a: a.__setitem__((1, 0, 0, 1, 0), np.inf), "non-finite"),
        ("MASK", lambda a: a.__setitem__((0,), False), "no candidate"),
        ("K", lambda a: a.fill(0), "K must be"),
        ("K", lambda a: a.__setitem__((1, 0), 3), "K must be one value"),
        ("TEMPERATURE", lambda a: a.fill(0), "TEMPERATURE"),
        ("SEED", lambda a: a.__setitem__((1, 0), -1), "SEED"),
    ],
)
def test_bad_tensors_are_refused_with_a_reason(name, change, message):
    arrays, _, _ = _arrays(1, seed=5)
    change(arrays[name])
    with pytest.raises(ValueError, match=message):
        serving.parse(arrays)


def test_bad_shapes_are_refused():
    arrays, _, _ = _arrays(1)
    arrays["PAIRS"] = arrays["PAIRS"][:, :, :, :2]
    with pytest.raises(ValueError, match="PAIRS must be"):
        serving.parse(arrays)


@pytest.mark.parametrize("seed", [-1, 11])
def test_an_answer_does_not_depend_on_its_batch_mates(model, seed):
    first, layouts, posteriors = _arrays(1, seed=seed)
    other, _, _ = _arrays(2, shape=(6, 7), seed=seed + 1 if seed >= 0 else -1)
    alone = serving.answer(model, [serving.parse(first)])[0]
    together = serving.answer(model, [serving.parse(other), serving.parse(first)])[1]
    for name in ("CHOICES", "SLOT_PROBS", "PROBS"):
        np.testing.assert_allclose(alone[name], together[name], rtol=1e-5)
    proposals = unpack(alone, layouts)
    for posterior, proposed in zip(posteriors, proposals, strict=True):
        assert len({p.elements for p in proposed}) == len(proposed) == 4
        for p in proposed:
            assert [slot for slot, _ in p.elements] == list(posterior.slots)
            assert p.probability == pytest.approx(np.prod(p.slot_probabilities), rel=1e-5)
    if seed < 0:
        in_process, _ = Candidates.of(posteriors)
        with torch.no_grad():
            direct = model.top_k(in_process, 4)
        np.testing.assert_allclose(alone["PROBS"], direct.probability.numpy(), rtol=1e-5)


def test_export_versions_and_loads_the_same_weights(tmp_path, model):
    config = TrainConfig(steps=1)
    first = export.save(model, config, {"top1_vs_best": 0.5}, tmp_path)
    second = export.save(model, config, {"top1_vs_best": 0.6}, tmp_path)
    assert (first.name, second.name) == ("1", "2")
    assert export.versions(tmp_path) == [1, 2]
    loaded, version = export.load(tmp_path)
    assert version == 2
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor)
    with pytest.raises(FileNotFoundError):
        export.load(tmp_path / "empty")


def test_training_is_reproducible():
    config = TrainConfig(steps=4, ads=8, samples=4)
    first = train(config, log=lambda _: None).state_dict()
    second = train(config, log=lambda _: None).state_dict()
    other = train(TrainConfig(steps=4, ads=8, samples=4, seed=1), log=lambda _: None)
    assert all(torch.equal(first[name], second[name]) for name in first)
    assert not all(torch.equal(first[name], other.state_dict()[name]) for name in first)


@pytest.mark.integration
def test_training_run_takes_a_snapshot_of_the_live_posteriors(tmp_path, redis_stack, redis_client):
    settings = Settings(redis=redis_stack.settings().redis)
    client = redis_client
    with pytest.raises(ValueError, match="no posterior"):
        training_run.run(TrainConfig(steps=1), settings, tmp_path, log=lambda _: None)
    for posterior in as_posteriors(sample(3, torch.Generator().manual_seed(4)).seen):
        client.set(keys.posterior(posterior.ad_id, posterior.segment), posterior.encode())
    lines: list[str] = []
    folder = training_run.run(TrainConfig(steps=2, ads=4), settings, tmp_path, lines.append)
    assert "snapshot: 3 ad posteriors from Redis" in lines
    meta = json.loads((folder / export.CONFIG).read_text())
    assert meta["train"]["steps"] == 2 and 0 < meta["figures"]["top1_vs_best"] <= 1
    assert export.load(tmp_path)[1] == 1
