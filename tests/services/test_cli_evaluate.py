"""``adcraft evaluate`` as a user calls it: a log or the synthetic world in, a table and JSON
out; a log it cannot use is one line on stderr and exit 2."""

import orjson
from typer.testing import CliRunner

from services.cli import app
from services.simulator.logged import logged_feedback
from services.simulator.world import SyntheticWorld


def _log(tmp_path, **extra):
    frame = logged_feedback(SyntheticWorld.create(ads=2, seed=3), 1_000, seed=5)
    path = tmp_path / "log.csv"
    frame.assign(**extra).to_csv(path, index=False)
    return path


def test_a_log_prints_its_table_and_the_same_figures_as_json(tmp_path):
    result = CliRunner().invoke(app, ["evaluate", str(_log(tmp_path)), "--samples", "20", "--json"])
    assert result.exit_code == 0, result.output
    *lines, last = result.stdout.strip().splitlines()
    figures = orjson.loads(last)
    assert lines[0] == (
        "trained on 500 rows, evaluated on 500; target: 0.1-greedy over combinations"
    )
    estimates = ["logging_policy", "ips", "snips", "dr"]
    diagnostics = ["mean_policy_propensity", "effective_sample_size"]
    assert list(figures) == ["policy", "rows_evaluated", *estimates, *diagnostics]
    assert figures["policy"] == "greedy"
    assert [line.split()[:2] for line in lines[1:5]] == [
        [name, f"{figures[name]['value']:.5f}"] for name in estimates
    ]
    assert [line.split()[-1] for line in lines[5:]] == [
        f"{figures['mean_policy_propensity']:.5f}",
        f"{figures['effective_sample_size']:.1f}",
    ]


def test_the_synthetic_world_adds_its_true_value(tmp_path):
    result = CliRunner().invoke(app, ["evaluate", "--synthetic", "1000", "--samples", "20"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].startswith("true value (synthetic)   0.")


def test_the_generator_policy_is_named_in_table_and_json():
    result = CliRunner().invoke(
        app,
        ["evaluate", "--synthetic", "1000", "--samples", "20", "--policy", "generator", "--json"],
    )
    assert result.exit_code == 0, result.output
    first, *_, last = result.stdout.strip().splitlines()
    assert "target: generator v" in first
    figures = orjson.loads(last)
    assert figures["policy"] == "generator"
    assert 0 < figures["mean_policy_propensity"] <= 1


def test_context_columns_are_one_line_on_stderr_and_exit_2(tmp_path):
    path = _log(tmp_path, **{"ctx:device": "mobile"})
    result = CliRunner().invoke(app, ["evaluate", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "cannot evaluate: unsupported context columns ['ctx:device']: the reward model "
        "personalises on ad_id and segment only; drop them or fold them into segment"
    ]


def test_path_or_synthetic_is_a_usage_error():
    result = CliRunner().invoke(app, ["evaluate"])
    assert result.exit_code == 2
    assert "give a PATH or --synthetic N" in result.output
