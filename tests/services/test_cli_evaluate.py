"""``adcraft evaluate`` as a user calls it: a log, a policy file or a synthetic world in,
a table and JSON out; a log it cannot use is one line on stderr and exit 2."""

import orjson
import pandas as pd
import pytest
from typer.testing import CliRunner

from adcraft.services.cli import app
from adcraft.services.offline_eval.estimators import ESTIMATORS
from adcraft.services.simulator.logged import logged_feedback
from adcraft.services.simulator.sparse import SparseWorld
from adcraft.services.simulator.world import SyntheticWorld


@pytest.fixture(scope="module")
def slate_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("logs") / "slates.csv"
    SparseWorld.create(seed=1).log(20_000, seed=1).to_csv(path, index=False)
    return path


def _run(*args):
    return CliRunner().invoke(app, ["evaluate", *map(str, args)])


def test_a_slate_log_prints_its_table_and_the_same_figures_as_json(slate_log):
    result = _run(slate_log, "--json")
    assert result.exit_code == 0, result.output
    *lines, last = result.stdout.strip().splitlines()
    figures = orjson.loads(last)
    assert lines[0] == (
        "trained on 10000 rows, evaluated on 10000 (3 slots, per-slot rewards); "
        "target: Thompson sampling on the shrunk posterior (1000 draws per context)"
    )
    assert figures["policy"] == "thompson" and figures["per_slot_rewards"] is True
    rows = {line.split()[0]: line.split() for line in lines[2:7]}
    for name in ESTIMATORS:
        assert float(rows[name][1]) == pytest.approx(figures[name]["value"], abs=6e-6), name
    assert set(figures["per_slot"]) == {"pos1", "pos2", "pos3"}
    assert sum(figures["per_slot"][s]["ips"]["value"] for s in figures["per_slot"]) == (
        pytest.approx(figures["ips"]["value"], abs=1e-5)
    )
    diagnostics = figures["diagnostics"]
    assert diagnostics["units"] == 30_000 and 0 < diagnostics["matched"] <= 30_000
    assert diagnostics["mean_weight"] == pytest.approx(1, abs=0.1)
    assert f"{diagnostics['matched']} of 30000" in result.stdout
    calibration = figures["calibration"]
    assert sum(n for *_, n in calibration["reliability"]) == 30_000
    assert f"{calibration['log_loss']:.5f}" in result.stdout


@pytest.mark.parametrize("policy", ["greedy", "generator"])
def test_adcraft_policies_are_named_in_table_and_json(slate_log, policy):
    result = _run(slate_log, "--policy", policy, "--json")
    assert result.exit_code == 0, result.output
    first, *_, last = result.stdout.strip().splitlines()
    assert orjson.loads(last)["policy"] == policy
    assert {"greedy": "0.1-greedy", "generator": "generator v"}[policy] in first


def test_a_policy_file_is_evaluated(slate_log, tmp_path):
    favourites = {"pos1": "item00", "pos2": "item01", "pos3": "item02"}
    frame = pd.DataFrame(
        [
            (slot, item, 0.5 if item == favourite else 0.5 / 79)
            for slot, favourite in favourites.items()
            for item in (f"item{i:02d}" for i in range(80))
        ],
        columns=["slot", "element", "probability"],
    )
    frame.to_csv(tmp_path / "policy.csv", index=False)
    result = _run(slate_log, "--policy-file", tmp_path / "policy.csv", "--json")
    assert result.exit_code == 0, result.output
    assert "target: the policy in policy.csv" in result.stdout
    assert orjson.loads(result.stdout.splitlines()[-1])["diagnostics"]["max_weight"] == 40


def test_the_synthetic_world_adds_its_true_value():
    result = _run("--synthetic", "2000")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].startswith("true value (synthetic)   0.")


def test_synthetic_sparse_reports_coverage_per_estimator():
    result = _run(
        "--synthetic-sparse", "--seeds", "4", "--rows", "4000", "--ranking-seeds", "1",
        "--ranking-rows", "20000", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = orjson.loads(result.stdout.splitlines()[-1])
    assert set(figures["coverage"]) == set(ESTIMATORS)
    assert all(0 <= share <= 1 for share in figures["coverage"].values())
    assert figures["ranking"]["rows"] == 20_000
    assert "coverage of 95% intervals over 4 sparse worlds of 4000 rows" in result.stdout


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("slot:pos2", "", "row 3, column slot:pos2: empty"),
        ("propensity:pos1", "0", "row 3, column propensity:pos1: 0.0 is not in (0, 1]"),
        ("propensity:pos3", "1.2", "row 3, column propensity:pos3: 1.2 is not in (0, 1]"),
        ("reward:pos1", "yes", "row 3, column reward:pos1: 'yes' is not a number"),
    ],
)
def test_a_malformed_log_is_one_line_on_stderr_and_exit_2(tmp_path, column, value, message):
    frame = SparseWorld.create().log(10, seed=2).astype(str)
    frame.loc[2, column] = value
    frame.to_csv(tmp_path / "bad.csv", index=False)
    result = _run(tmp_path / "bad.csv")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"cannot evaluate: {message}"]


def test_a_log_without_slots_or_a_missing_file_is_one_line(tmp_path):
    frame = logged_feedback(SyntheticWorld.create(ads=1), 50).drop(columns="slot:title")
    frame.drop(columns=[c for c in frame if c.startswith("slot:")]).to_csv(
        tmp_path / "noslots.csv", index=False
    )
    for path, message in [
        (tmp_path / "noslots.csv", "no slot:<name> columns"),
        (tmp_path / "absent.csv", "no such file"),
    ]:
        result = _run(path)
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
        assert message in result.stderr


def test_one_source_is_required():
    result = _run()
    assert result.exit_code == 2
    assert "give a PATH, --synthetic N or --synthetic-sparse" in result.output


def _sparse(rows=200, seed=2):
    return SparseWorld.create().log(rows, seed=seed)


def _csv(frame, path):
    frame.to_csv(path, index=False)
    return [path]


def _nested(tmp_path):
    frame = _sparse()
    frame["slot:pos1"] = [[item] for item in frame["slot:pos1"]]
    frame.to_parquet(tmp_path / "nested.parquet")
    return [tmp_path / "nested.parquet"]


def _truncated(tmp_path):
    _sparse().to_parquet(tmp_path / "whole.parquet")
    data = (tmp_path / "whole.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2] + data[-8:])
    return [tmp_path / "cut.parquet"]


def _policy(tmp_path, rows):
    _csv(_sparse(), tmp_path / "log.csv")
    frame = pd.DataFrame(rows, columns=["slot", "element", "probability"])
    return [tmp_path / "log.csv", "--policy-file", *_csv(frame, tmp_path / "policy.csv")]


UNIFORM = [(s, f"item{i:02d}", 1 / 80) for s in ("pos1", "pos2", "pos3") for i in range(80)]
BROKEN = {
    "directory": (lambda t: [t], "cannot read"),
    "truncated parquet": (_truncated, "cannot read"),
    "nested parquet": (_nested, "columns ['slot:pos1'] hold lists or records"),
    "subnormal propensity": (
        lambda t: _csv(_sparse().assign(**{"propensity:pos2": 5e-324}), t / "l.csv"),
        "row 1, column propensity:pos2: 5e-324 is too small to divide by",
    ),
    "column twice": (
        lambda t: [t / "l.csv"] if (t / "l.csv").write_text("slot:a,slot:a\nx,y\n") else [],
        "column 'slot:a' appears twice",
    ),
    "reward without its slot": (
        lambda t: _csv(_sparse().drop(columns="slot:pos3"), t / "l.csv"),
        "column reward:pos3 has no slot:pos3 column",
    ),
    "semicolons": (
        lambda t: (
            [t / "l.csv"] if _sparse().to_csv(t / "l.csv", sep=";", index=False) is None else []
        ),
        "has one column",
    ),
    "NULL element": (
        lambda t: _csv(_sparse().astype(str).assign(**{"slot:pos1": "NULL"}), t / "l.csv"),
        "row 1, column slot:pos1: empty",
    ),
    "train fraction 2": (
        lambda t: [*_csv(_sparse(), t / "l.csv"), "--train-fraction", "2"],
        "train fraction must lie in (0, 1)",
    ),
    "train fraction nan": (
        lambda t: [*_csv(_sparse(), t / "l.csv"), "--train-fraction", "nan"],
        "train fraction must lie in (0, 1)",
    ),
    "epsilon -1": (
        lambda t: [*_csv(_sparse(), t / "l.csv"), "--policy", "greedy", "--epsilon", "-1"],
        "epsilon must lie in [0, 1]",
    ),
    "draws 0": (
        lambda t: [*_csv(_sparse(), t / "l.csv"), "--draws", "0"],
        "draws must lie in [1, 100000]",
    ),
    "policy slot the log lacks": (
        lambda t: _policy(t, [*UNIFORM, ("pos9", "item00", 1.0)]),
        "policy.csv: row 241: slot 'pos9' is not one of the log's",
    ),
    "policy row twice": (
        lambda t: _policy(t, [*UNIFORM, UNIFORM[0]]),
        "policy.csv: row 241: a second row for element 'item00'",
    ),
    "policy probability 1.5": (
        lambda t: _policy(t, [("pos1", "item00", 1.5), *UNIFORM[1:]]),
        "policy.csv: row 1, column probability: 1.5 is not in [0, 1]",
    ),
}


@pytest.mark.parametrize("case", BROKEN)
def test_whatever_is_wrong_is_one_named_line_and_exit_2(tmp_path, case):
    build, message = BROKEN[case]
    result = _run(*build(tmp_path))
    assert (result.exit_code, result.stdout) == (2, ""), result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("cannot evaluate: ") and message in line, line


def test_seeds_and_policy_choices_are_usage_errors():
    assert _run("--synthetic-sparse", "--seeds", "0").exit_code == 2
    both = _run("x.csv", "--policy", "greedy", "--policy-file", "p.csv")
    assert both.exit_code == 2 and "not both" in both.output


def test_huge_weights_stay_finite(tmp_path):
    frame = _sparse(2_000).assign(**{"propensity:pos1": 1e-300})
    result = _run(*_csv(frame, tmp_path / "l.csv"), "--policy", "greedy", "--json")
    assert result.exit_code == 0, result.output
    figures = orjson.loads(result.stdout.splitlines()[-1])
    for name in ESTIMATORS:
        assert 0 <= figures[name]["low"] <= figures[name]["value"] <= figures[name]["high"] <= 3
    assert any("mean weight" in w for w in figures["warnings"])


def test_long_logs_split_in_file_order_and_keep_their_index_context(tmp_path):
    wide = _sparse(400)
    long = pd.concat(
        pd.DataFrame({
            "impression_id": [f"i{i}" for i in range(len(wide))],  # "i10" sorts before "i2"
            "ctx:device": wide["ctx:device"], "slot": slot, "element": wide[f"slot:{slot}"],
            "reward": wide[f"reward:{slot}"], "propensity": wide[f"propensity:{slot}"],
        })
        for slot in ("pos1", "pos2", "pos3")
    )  # fmt: skip
    long = long.sort_values("impression_id", key=lambda i: i.str[1:].astype(int), kind="stable")
    long.set_index("ctx:device").to_parquet(tmp_path / "long.parquet")
    outputs = [_run(p, "--json").stdout.splitlines()[-1] for p in (
        *_csv(wide, tmp_path / "wide.csv"), tmp_path / "long.parquet")]  # fmt: skip
    assert outputs[0] == outputs[1]
    clash = long.reset_index().astype({"ctx:device": str})
    clash.loc[clash.index[5], "ctx:device"] = "tablet"
    result = _run(*_csv(clash, tmp_path / "clash.csv"))
    assert result.exit_code == 2 and "differs from its impression's first row" in result.stderr


def test_eval_copy_refuses_a_model_it_does_not_know_in_one_line():
    result = CliRunner().invoke(app, ["eval", "copy", "--model", "tuned"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "cannot evaluate: --model must be among base, shipped, no_diversity"
    )
