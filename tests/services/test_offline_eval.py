"""Offline evaluation: the log format, the shrinkage model, the policies, and estimators
whose intervals hold on sparse logs with known truth."""

import numpy as np
import pandas as pd
import pytest

from adcraft.services.offline_eval import logged, shrinkage
from adcraft.services.offline_eval.coverage import coverage, ranking
from adcraft.services.offline_eval.estimators import ESTIMATORS, Units, ips
from adcraft.services.offline_eval.evaluate import Options, evaluate
from adcraft.services.offline_eval.logged import LogError
from adcraft.services.offline_eval.policies import GreedyPolicy, ThompsonPolicy
from adcraft.services.offline_eval.summary import of_synthetic
from adcraft.services.simulator.sparse import SparseWorld

SLATES = pd.DataFrame(
    {
        "ctx:device": ["mobile", "desktop", "mobile"],
        "slot:pos1": ["a", "b", "c"],
        "slot:pos2": ["b", "c", "a"],
        "reward:pos1": [1.0, 0.0, 0.0],
        "reward:pos2": [0.0, 0.0, 1.0],
        "propensity:pos1": [0.25, 0.25, 0.25],
        "propensity:pos2": [0.5, 0.5, 0.5],
    }
)

pytestmark = pytest.mark.usefixtures("one_thread")


def _long(wide: pd.DataFrame) -> pd.DataFrame:
    slots = ["pos1", "pos2"]
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "impression_id": [f"i{i}" for i in range(len(wide))],
                    "ctx:device": wide["ctx:device"],
                    "slot": slot,
                    "element": wide[f"slot:{slot}"],
                    "reward": wide[f"reward:{slot}"],
                    "propensity": wide[f"propensity:{slot}"],
                }
            )
            for slot in slots
        ]
    ).sort_values("impression_id", kind="stable")


def _same(a: logged.Log, b: logged.Log) -> None:
    assert a.slots == b.slots and a.per_slot and b.per_slot
    for s in range(len(a.slots)):
        assert list(a.elements[s][a.chosen[:, s]]) == list(b.elements[s][b.chosen[:, s]])
    np.testing.assert_array_equal(a.reward, b.reward)
    np.testing.assert_array_equal(a.propensity, b.propensity)
    assert list(a.contexts["ctx:device"][a.context]) == list(b.contexts["ctx:device"][b.context])


def test_slates_read_alike_wide_and_long_from_csv_and_parquet(tmp_path):
    SLATES.to_csv(tmp_path / "wide.csv", index=False)
    _long(SLATES).to_parquet(tmp_path / "long.parquet")
    wide, long = logged.read(tmp_path / "wide.csv"), logged.read(tmp_path / "long.parquet")
    _same(wide, long)
    assert wide.reward.tolist() == [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]
    assert list(wide.contexts.columns) == ["ad_id", "segment", "ctx:device"]
    assert len(wide.contexts) == 2


def test_whole_combination_rewards_have_one_unit_per_row():
    frame = SLATES.drop(columns=[c for c in SLATES if c.startswith(("reward:", "propensity:"))])
    log = logged.of_frame(frame.assign(reward=[1.0, 0.0, 1.0], propensity=0.125))
    assert not log.per_slot and log.reward.shape == (3, 1)


def test_a_numeric_context_with_many_values_becomes_quartiles():
    frame = pd.concat([SLATES] * 20, ignore_index=True)
    frame["ctx:affinity"] = np.linspace(0, 1, len(frame)).astype(str)
    log = logged.of_frame(frame)
    assert log.contexts["ctx:affinity"].nunique() == 4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"slot:pos2": ["b", "", "a"]}, "row 2, column slot:pos2: empty"),
        (
            {"propensity:pos1": [0.25, 0.25, 0.0]},
            "row 3, column propensity:pos1: 0.0 is not in (0, 1]",
        ),
        (
            {"propensity:pos2": [1.5, 0.5, 0.5]},
            "row 1, column propensity:pos2: 1.5 is not in (0, 1]",
        ),
        (
            {"reward:pos1": ["1", "click", "0"]},
            "row 2, column reward:pos1: 'click' is not a number",
        ),
        ({"reward:pos2": [0.0, 2.0, 0.0]}, "row 2, column reward:pos2: 2.0 is not in [0, 1]"),
        ({"reward": [1.0, 0.0, 0.0]}, "give per-slot reward:<slot> columns or one reward column"),
    ],
)
def test_a_malformed_log_names_its_row_and_column(tmp_path, change, message):
    path = tmp_path / "bad.csv"
    SLATES.assign(**change).to_csv(path, index=False)
    with pytest.raises(LogError) as caught:
        logged.read(path)
    assert str(caught.value).startswith(message)


def test_a_long_log_missing_a_slot_or_repeating_one_names_the_row():
    long = _long(SLATES).reset_index(drop=True)
    with pytest.raises(LogError, match=r"^row 5, column slot: impression 'i2' has no row for"):
        logged.of_frame(long.drop(index=[5]))
    repeated = pd.concat([long, long.iloc[[0]]], ignore_index=True)
    with pytest.raises(LogError, match=r"^row 7, column slot: a second row for slot 'pos1'"):
        logged.of_frame(repeated)


@pytest.fixture(scope="module")
def sparse():
    world = SparseWorld.create(seed=3)
    return world, logged.of_frame(world.log(40_000, seed=3))


def test_sparse_rates_are_shrunk_toward_the_slot_mean(sparse):
    _, log = sparse
    model = shrinkage.fit(log.rows(slice(0, 20_000)))
    train = log.rows(slice(0, 20_000))
    pooled = model.mean(0)[-1]
    shown = np.bincount(train.chosen[:, 0], minlength=len(pooled))
    clicks = np.bincount(train.chosen[:, 0], train.reward[:, 0], len(pooled))
    raw = clicks / shown
    slot_mean = (clicks.sum() + 0.5) / (shown.sum() + 1)  # the prior's mean
    assert np.all(np.abs(pooled - slot_mean) <= np.abs(raw - slot_mean) + 1e-12)
    assert pooled.std() < 0.8 * raw.std()  # the noise in 250 impressions is shrunk away
    best = np.argmax(raw)
    assert slot_mean < pooled[best] < raw[best]


def test_a_context_with_enough_clicks_gets_rates_of_its_own():
    world = SparseWorld.create(seed=4, taste=1.0)
    log = logged.of_frame(world.log(40_000, seed=4))
    devices = list(log.contexts["ctx:device"])
    clicks = [log.reward[log.context == c].sum() for c in range(len(devices))]
    model = shrinkage.fit(log, min_context_clicks=min(clicks))
    assert model.row.tolist() == [0, 1]
    own = [model.mean(0)[model.row[c]] for c in range(len(devices))]
    truth = [world.rate(d, "pos1", log.elements[0]) for d in devices]
    taste = np.log(truth[0] / truth[1])  # where the devices differ, so does the model
    assert np.corrcoef(taste, np.log(own[0] / own[1]))[0, 1] > 0.4  # 0.51; shuffled: ~0
    pooled = shrinkage.fit(log, min_context_clicks=max(clicks) + 1)
    assert pooled.row.tolist() == [0, 0]


def test_the_shrunk_model_beats_a_constant_on_held_out_rows(sparse):
    _, log = sparse
    report = evaluate(log)
    assert report.calibration.log_loss < report.calibration.constant_log_loss
    assert sum(n for _, _, n in report.calibration.table) == report.rows_evaluated * 3


def test_thompson_slates_never_repeat_an_item_and_follow_the_posterior(sparse):
    _, log = sparse
    model = shrinkage.fit(log.rows(slice(0, 20_000)))
    policy = ThompsonPolicy(model, log, draws=2_000, seed=0)
    drawn = policy.drawn(0)
    names = np.column_stack([log.elements[s][drawn[:, s]] for s in range(3)])
    assert all(len(set(slate)) == 3 for slate in names.tolist())
    marginals = policy.marginals(0)
    assert [m.sum() for m in marginals] == pytest.approx([1, 1, 1])
    row = model.row[0]
    top = np.argsort(model.mean(0)[row])
    assert marginals[0][top[-5:]].sum() > 5 * marginals[0][top[:5]].sum()
    joint = policy.joint(0, drawn[:50])
    assert joint.min() >= 1 / 2_000
    assert joint[0] == pytest.approx((drawn == drawn[0]).all(1).mean())


def test_greedy_gives_the_best_slate_one_minus_epsilon_and_the_rest_uniform(sparse):
    _, log = sparse
    model = shrinkage.fit(log.rows(slice(0, 20_000)))
    policy = GreedyPolicy(model, log, epsilon=0.2)
    best = policy.best(0)
    assert len(set(log.elements[0][best[:1]]) | set(log.elements[1][best[1:2]])) == 2
    marginals = policy.marginals(0)
    assert marginals[0][best[0]] == pytest.approx(0.8 + 0.2 / 80)
    assert policy.joint(0, best[None, :])[0] == pytest.approx(0.8 + 0.2 / 80**3)


def test_zero_clicks_give_the_exact_poisson_bound_not_zero_width():
    weight = np.zeros((5_000, 1))
    weight[:51] = 5_000 / 51  # 51 matched rows, none clicked
    units = Units(weight, np.zeros((5_000, 1)), np.full((5_000, 1), 0.01), np.zeros((5_000, 1)))
    estimate = ips(units)
    assert estimate.value == 0 and estimate.low == 0
    assert estimate.high == pytest.approx(3.689 / 51, rel=1e-3)


def test_estimates_stay_within_what_rewards_in_0_1_allow():
    weight = np.r_[np.full(10, 50.0), np.zeros(990)][:, None]
    reward = np.zeros((1_000, 1))
    overconfident = Units(weight, reward, np.full((1_000, 1), 0.9), np.full((1_000, 1), 0.05))
    for name, estimator in ESTIMATORS.items():
        estimate = estimator(overconfident)
        assert 0 <= estimate.low <= estimate.value <= estimate.high <= 1, name
    assert ESTIMATORS["dr"](overconfident).value == 0  # 0.05 − 0.5·0.9 < 0: clipped


@pytest.fixture(scope="module")
def huge_slates():
    """10 slots of 500 elements each, whole-combination rewards: 500¹⁰ combinations."""
    rng = np.random.default_rng(0)
    elements = [f"e{i}" for i in range(500)]
    frame = {f"slot:s{s}": pd.Categorical.from_codes(rng.integers(0, 500, 20_000), elements)
             for s in range(10)}  # fmt: skip
    frame["reward"] = (rng.random(20_000) < 0.02).astype(float)
    frame["propensity"] = 500.0**-10
    return logged.of_frame(pd.DataFrame(frame))


def test_a_policy_the_log_never_shows_gets_no_interval_but_the_feasible_one(huge_slates):
    report = evaluate(huge_slates)
    assert report.diagnostics.matched == 0
    assert report.warnings[0].startswith("no logged action is one the policy would take")
    for name in ("ips", "snips", "dr", "sndr"):
        assert (report.estimates[name].low, report.estimates[name].high) == (0, 1), name


def test_probability_on_actions_never_logged_is_a_warning(huge_slates):
    report = evaluate(huge_slates, Options(policy="greedy", epsilon=0.1))
    assert report.diagnostics.mean_weight == pytest.approx(0.1)
    assert any(w.startswith("the mean weight is 0.1, not 1") for w in report.warnings)


def test_a_file_policy_equal_to_logging_estimates_the_logging_value(sparse, tmp_path):
    _, log = sparse
    items = [f"item{i:02d}" for i in range(80)]
    uniform = pd.DataFrame(
        [(slot, item, 1 / 80) for slot in log.slots for item in items],
        columns=["slot", "element", "probability"],
    )
    uniform.to_csv(tmp_path / "uniform.csv", index=False)
    report = evaluate(log, Options(policy=tmp_path / "uniform.csv"))
    logging_value = report.estimates["logging_policy"].value
    assert report.diagnostics.max_weight == pytest.approx(1)
    assert report.estimates["ips"].value == pytest.approx(logging_value)
    assert report.estimates["snips"].value == pytest.approx(logging_value)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.assign(probability=f.probability * 0.9), "sum to 0.9, not 1"),
        (lambda f: f.replace({"element": {"item07": "item99"}}), "'item99' of slot 'pos1' never"),
        (lambda f: f[f.slot != "pos3"], "no rows for {'slot': 'pos3'}"),
        (lambda f: f.assign(**{"ctx:device": "mobile"}), "no rows for {'ctx:device': 'desktop'"),
    ],
)
def test_a_policy_file_that_does_not_fit_the_log_says_why(sparse, tmp_path, edit, message):
    _, log = sparse
    frame = pd.DataFrame(
        [(s, f"item{i:02d}", 1 / 80) for s in log.slots for i in range(80)],
        columns=["slot", "element", "probability"],
    )
    edit(frame).to_csv(tmp_path / "policy.csv", index=False)
    with pytest.raises(LogError, match=message.replace("{", r"\{").replace("(", r"\(")):
        evaluate(log, Options(policy=tmp_path / "policy.csv"))


@pytest.mark.parametrize("policy", ["thompson", "greedy"])
def test_every_interval_covers_the_truth_in_sparse_worlds(policy, study):
    found = coverage(200, 10_000, Options(policy=policy))
    print(found)
    assert set(found["coverage"]) == set(ESTIMATORS)
    for name, share in found["coverage"].items():
        assert share >= 0.9, name


def test_the_posterior_policy_beats_uniform_logging_and_is_ranked_above_it(study):
    found = ranking(20, 200_000)
    print(found)
    assert found["true_value_ratio_min"] >= 1.15
    for name, share in found["ranked_above_logging"].items():
        assert share >= 0.9, name


@pytest.mark.parametrize("policy", ["thompson", "greedy", "generator"])
def test_dense_synthetic_estimates_cover_the_true_value(policy):
    summary = of_synthetic(20_000, Options(policy=policy))
    truth = summary.true_value
    for name in ("snips", "dr", "sndr"):
        estimate = summary.report.estimates[name]
        assert estimate.low <= truth <= estimate.high, name
    assert summary.report.estimates["dr"].low > summary.report.estimates["logging_policy"].high
