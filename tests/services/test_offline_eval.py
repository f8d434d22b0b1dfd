"""Offline evaluation: the log format, the estimators, the generator's exact propensities,
and honesty on synthetic truth."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch

from services.combinations import export
from services.offline_eval import logged
from services.offline_eval.estimators import Estimate
from services.offline_eval.evaluate import GreedyPolicy, Report, catalog_of, evaluate, train
from services.offline_eval.generator_policy import GeneratorPolicy
from services.offline_eval.summary import Summary
from services.reward_updater.reward_model import ElementRewardModel
from services.simulator.logged import logged_feedback
from services.simulator.world import SLOTS, SyntheticWorld

WIDE = pd.DataFrame(
    {
        "impression_id": ["a", "b"],
        "ad_id": ["ad", "ad"],
        "segment": ["young", "old"],
        "slot:title": ["t1", "t2"],
        "slot:image": ["i1", "i1"],
        "reward": [1.0, 0.0],
        "propensity": [0.25, 0.5],
    }
)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_wide_and_long_formats_agree(tmp_path):
    long = WIDE.melt(
        id_vars=["impression_id", "ad_id", "segment", "reward", "propensity"],
        var_name="slot",
        value_name="element",
    )
    long["slot"] = long["slot"].str.removeprefix("slot:")
    WIDE.to_csv(tmp_path / "wide.csv", index=False)
    long.to_parquet(tmp_path / "long.parquet")
    from_csv = logged.rows(logged.read(tmp_path / "wide.csv"))
    from_parquet = logged.rows(logged.read(tmp_path / "long.parquet"))
    assert from_csv == from_parquet
    assert from_csv[0] == logged.Logged(
        "ad", "young", (("image", "i1"), ("title", "t1")), 1.0, 0.25
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"propensity": [0.0, 0.5]}, "propensity must lie in"),
        ({"reward": [3.0, 0.0]}, "reward must lie in"),
    ],
)
def test_bad_values_are_named(change, message):
    with pytest.raises(ValueError, match=message):
        logged.rows(WIDE.assign(**change))


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match=r"\['propensity'\]"):
        logged.rows(WIDE.drop(columns=["propensity"]))


@pytest.mark.parametrize("widen", [False, True], ids=["wide", "long"])
def test_context_columns_are_rejected_by_name(widen):
    frame = WIDE.assign(**{"ctx:device": ["mobile", "desktop"], "ctx:hour": ["9", "21"]})
    if widen:
        frame = frame.melt(
            id_vars=[c for c in frame.columns if not c.startswith("slot:")],
            var_name="slot",
            value_name="element",
        ).assign(slot=lambda f: f["slot"].str.removeprefix("slot:"))
    with pytest.raises(ValueError, match=r"\['ctx:device', 'ctx:hour'\].*ad_id and segment only"):
        logged.rows(frame)


def test_summary_prints_and_reports_the_same_figures():
    policy = GreedyPolicy(ElementRewardModel({}), 0.1)
    report = Report(3, 2, {"ips": Estimate(0.123456, 0.1, 0.2)}, policy, 0.0125, 1.63)
    synthetic = Summary(report, true_value=0.5)
    assert synthetic.lines() == [
        "trained on 3 rows, evaluated on 2; target: 0.1-greedy over combinations",
        "true value (synthetic)   0.50000",
        "ips                      0.12346  95% CI [0.10000, 0.20000]",
        "mean policy propensity   0.01250",
        "effective sample size    1.6",
    ]
    assert synthetic.figures() == {
        "policy": "greedy",
        "rows_evaluated": 2,
        "true_policy_value": 0.5,
        "ips": {"value": 0.12346, "low": 0.1, "high": 0.2},
        "mean_policy_propensity": 0.0125,
        "effective_sample_size": 1.6,
    }
    assert "true_policy_value" not in Summary(report).figures()


@pytest.mark.slow
def test_estimates_cover_the_true_value_of_the_learned_policy():
    world = SyntheticWorld.create(ads=2, seed=4)
    rows = logged.rows(logged_feedback(world, 30_000, seed=9))
    report = evaluate(rows, samples=100)
    truth = world.true_value(
        ((r.ad_id, r.segment) for r in rows[report.rows_train :]), report.policy
    )
    for name in ("snips", "dr"):
        estimate = report.estimates[name]
        assert estimate.low <= truth <= estimate.high, name
    assert report.estimates["dr"].low > report.estimates["logging_policy"].high


@pytest.fixture(scope="module")
def synthetic_log():
    world = SyntheticWorld.create(ads=2, seed=3)
    return world, logged.rows(logged_feedback(world, 2_000, seed=5))


@pytest.fixture(scope="module")
def generator_policy(synthetic_log):
    _, rows = synthetic_log
    generator, version = export.load()
    return GeneratorPolicy(train(rows[:1_000], catalog_of(rows)), generator, version)


def test_the_generator_gives_every_combination_the_product_of_its_slot_probabilities(
    synthetic_log, generator_policy
):
    _, rows = synthetic_log
    probabilities = generator_policy.probabilities(rows)
    assert probabilities.max() > 2 * probabilities.min()  # so a wrong mapping would show
    for row, probability in list(zip(rows, probabilities, strict=True))[:20]:
        batch, layout = generator_policy.request(row.ad_id, row.segment)
        shown = dict(row.elements)
        choice = torch.tensor([[ids.index(shown[slot]) for slot, ids in layout.slots]])
        slot_probabilities = generator_policy.generator.log_prob(batch, choice).exp()
        expected = math.prod(slot_probabilities[0].tolist())
        distribution = generator_policy.distribution(row.ad_id, row.segment)
        assert len(distribution) == math.prod(SLOTS.values())
        assert sum(distribution.values()) == pytest.approx(1, abs=1e-5)
        assert probability == pytest.approx(expected, rel=1e-5)
        assert distribution[row.elements] == pytest.approx(expected, rel=1e-5)


def test_slot_order_in_a_logged_row_does_not_change_its_probability(
    synthetic_log, generator_policy
):
    _, rows = synthetic_log
    row = rows[0]
    reordered = [row.elements[::-1], row.elements[1:] + row.elements[:1]]
    probabilities = generator_policy.probabilities(
        [row, *(dataclasses.replace(row, elements=elements) for elements in reordered)]
    )
    assert probabilities == pytest.approx([probabilities[0]] * 3, rel=1e-5)


def test_beyond_the_exact_limit_the_value_is_a_seeded_monte_carlo_mean(
    synthetic_log, generator_policy
):
    world, rows = synthetic_log
    ad, segment = rows[0].ad_id, rows[0].segment
    exact = generator_policy.distribution(ad, segment)
    sampled = GeneratorPolicy(
        generator_policy.model, generator_policy.generator, 0, draws=256, exact_up_to=0
    )
    drawn = sampled.distribution(ad, segment)
    assert set(drawn) <= set(exact) and sum(drawn.values()) == pytest.approx(1)
    assert all(p * 256 == pytest.approx(round(p * 256)) for p in drawn.values())

    def truth(combination):
        return world.click_probability(ad, segment, dict(combination))

    assert sampled.expected(ad, segment, truth) == pytest.approx(
        generator_policy.expected(ad, segment, truth), abs=0.05
    )


def test_the_generator_is_evaluated_end_to_end(synthetic_log):
    _, rows = synthetic_log
    report = evaluate(rows, samples=50, policy="generator")
    assert report.policy.name == "generator"
    for name in ("ips", "snips", "dr"):
        estimate = report.estimates[name]
        assert np.isfinite([estimate.value, estimate.low, estimate.high]).all(), name
        assert estimate.low <= estimate.value <= estimate.high, name
    held_out = rows[report.rows_train :]
    probability = report.policy.probabilities(held_out)
    weight = probability / np.array([r.propensity for r in held_out])
    assert report.mean_policy_propensity == pytest.approx(probability.mean())
    assert report.effective_sample_size == pytest.approx(weight.sum() ** 2 / (weight**2).sum())
    assert 1 < report.effective_sample_size < report.rows_evaluated
