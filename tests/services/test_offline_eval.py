"""Offline evaluation: the log format, the estimators, and honesty on synthetic truth."""

import pandas as pd
import pytest

from services.offline_eval import logged
from services.offline_eval.estimators import Estimate
from services.offline_eval.evaluate import Report, evaluate
from services.offline_eval.summary import Summary
from services.simulator.logged import logged_feedback
from services.simulator.world import SyntheticWorld

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
    report = Report(3, 2, {"ips": Estimate(0.123456, 0.1, 0.2)}, policy=None)
    synthetic = Summary(report, 0.1, true_value=0.5)
    assert synthetic.lines() == [
        "trained on 3 rows, evaluated on 2; target: 0.1-greedy over combinations",
        "true value (synthetic)   0.50000",
        "ips                      0.12346  95% CI [0.10000, 0.20000]",
    ]
    assert synthetic.figures() == {
        "rows_evaluated": 2,
        "true_policy_value": 0.5,
        "ips": {"value": 0.12346, "low": 0.1, "high": 0.2},
    }
    assert Summary(report, 0.1).figures().keys() == {"rows_evaluated", "ips"}


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
