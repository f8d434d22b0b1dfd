"""The generator behind Triton, in-process: checks, batching, export, reproducible training."""

import json

import numpy as np
import orjson
import pytest
import torch
from typer.testing import CliRunner

from adcraft.services.cli import app
from adcraft.services.combinations import export, serving, training_run
from adcraft.services.combinations.candidates import Candidates
from adcraft.services.combinations.generator import CombinationGenerator
from adcraft.services.combinations.reinforce import TrainConfig, train
from adcraft.services.combinations.worlds import HELD_OUT_SEED, as_posteriors, sample
from adcraft.shared.contract import keys
from adcraft.shared.contract.combination_contract import pack, unpack
from adcraft.shared.runtime.settings import Settings

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
        ("CONTEXT", lambda a: a.__setitem__((0, 1), np.nan), "non-finite"),
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
    arrays, _, _ = _arrays(1)
    arrays["SEED"] = np.zeros((3, 1), np.int64)
    with pytest.raises(ValueError, match="one per row"):
        serving.parse(arrays)
    huge, _, _ = _arrays(1, shape=(5, serving.MAX_CANDIDATES + 1))
    with pytest.raises(ValueError, match="at most"):
        serving.parse(huge)


def test_what_sits_behind_the_mask_does_not_matter(model):
    ad = Candidates.single(
        [[[0.2, 0.5, 1, 0], [0.1, 1, 2, 0]], [], [[0.3, 0.2, 1, 0], [0.0, 1, 0, 0]]],
        pairs={(0, 1, 2, 0): 1.0},
    )
    clean = {
        "FEATURES": ad.features.numpy(),
        "MASK": ad.mask.numpy(),
        "PAIRS": ad.pairs.numpy(),
        "CONTEXT": ad.context.numpy(),
        "K": np.full((1, 1), 3, np.int32),
        "TEMPERATURE": np.ones((1, 1), np.float32),
        "SEED": np.full((1, 1), 4, np.int64),
    }
    junk = {name: array.copy() for name, array in clean.items()}
    junk["FEATURES"][~junk["MASK"]] = 7.0  # padding and the missing slot
    junk["PAIRS"][0, 1] = 5.0
    junk["PAIRS"][0, :, :, 1] = -5.0
    first, second = serving.respond(model, [clean, junk])
    for name in ("CHOICES", "SLOT_PROBS", "PROBS"):
        np.testing.assert_allclose(first[name], second[name], rtol=1e-6)


def test_rows_past_the_combinations_that_exist_are_empty(model):
    small, _, _ = _arrays(3, k=6)
    small["MASK"][:] = False
    small["MASK"][:, 0, :2] = True  # one slot of two candidates: two combinations
    big, _, _ = _arrays(4, shape=(6, 7), k=6)
    alone = serving.respond(model, [small])[0]
    batched = serving.respond(model, [big, small])[1]
    for outputs in (alone, batched):
        assert outputs["PROBS"][:, :2].sum(-1) == pytest.approx([1, 1], abs=1e-5)
        assert (outputs["PROBS"][:, 2:] == 0).all() and (outputs["CHOICES"][:, 2:] == -1).all()
        assert (outputs["SLOT_PROBS"][:, 2:] == 0).all()
    np.testing.assert_array_equal(alone["CHOICES"], batched["CHOICES"])


class _FailsInBatches:
    """A model whose batches of more than one row fail, as do ads of ``slots`` slots."""

    def __init__(self, model, slots):
        self.model, self.slots = model, slots

    def top_k(self, batch, *args):
        if batch.mask.shape[0] > 1 or int(batch.slots.sum()) == self.slots:
            raise RuntimeError("out of memory")
        return self.model.top_k(batch, *args)


def test_one_request_failing_fails_alone(model):
    good, _, _ = _arrays(1, k=2)
    two = [{n: a[i : i + 1] for n, a in good.items()} for i in range(2)]
    slots = [int(r["MASK"].any(-1).sum()) for r in two]
    assert slots[0] != slots[1]
    bad = {**two[0], "K": np.zeros((1, 1), np.int32)}
    results = serving.respond(_FailsInBatches(model, slots[0]), [*two, bad])
    assert results[2] == "K must be one value in 1..64"
    for request, result, count in zip(two, results[:2], slots, strict=True):
        if count == slots[0]:
            assert result == "RuntimeError: out of memory"
        else:
            expected = serving.answer(model, [serving.parse(request)])[0]
            np.testing.assert_allclose(result["PROBS"], expected["PROBS"], rtol=1e-6)


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


def test_held_out_seeds_are_refused_for_training():
    with pytest.raises(ValueError, match="kept for evaluation"):
        TrainConfig(seed=HELD_OUT_SEED)


def test_eval_combos_prints_its_figures_as_json():
    args = ["eval", "combos", "--ads", "3", "--rounds", "2", "--impressions", "4", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    figures = orjson.loads(result.output.strip().splitlines()[-1])
    keys = ("generator_regret", "per_slot_ts_regret", "greedy_regret", "top1_vs_best")
    assert all(figures[key] > 0 for key in keys)
    assert 0.5 < figures["top1_vs_best_p10"] <= figures["top1_vs_best"] <= 1
