"""`adcraft experiment report --export FILE`: the readout of a simulated experiment, its
HTML in a real headless browser, and one clear line for every export it cannot read."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from adcraft.services.cli import app
from adcraft.services.experiments import export, simulate
from adcraft.shared.adapters import kafka
from adcraft.shared.contract import codec
from adcraft.shared.contract.events import ImpressionServed
from adcraft.shared.contract.topics import RewardTopics

ARMS = {
    "control": {"share": 1, "policy": "default", "copy_source": "template"},
    "thompson": {"share": 1, "policy": "thompson"},
    "generator": {"share": 1, "policy": "generator"},
}


@pytest.fixture
def experiment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADCRAFT_EXPERIMENT__NAME", "sim")
    monkeypatch.setenv("ADCRAFT_EXPERIMENT__CONTROL", "control")
    monkeypatch.setenv("ADCRAFT_EXPERIMENT__ARMS", orjson.dumps(ARMS).decode())


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    lifts = {"control": 0.0, "thompson": 0.15, "generator": 0.30}
    return simulate.export(simulate.World(), lifts, 4_000, seed=3, experiment="sim")


def _report(path: Path, *extra: str):
    return CliRunner().invoke(app, ["experiment", "report", "--export", str(path), *extra])


@pytest.mark.usefixtures("experiment")
def test_the_report_finds_the_arms_that_beat_the_control(events, tmp_path) -> None:
    path = tmp_path / "events.parquet"
    export.write(events, path)
    result = _report(path, "--html", str(tmp_path / "report.html"), "--json")
    assert result.exit_code == 0, result.output
    readout = orjson.loads(result.output.splitlines()[-1])
    assert not readout["srm"]["flagged"]
    ctr = {lift["arm"]: lift for lift in readout["lifts"] if lift["metric"] == "ctr"}
    assert ctr["generator"]["low"] > 0 and ctr["generator"]["significant"]
    assert ctr["generator"]["lift"] > ctr["thompson"]["lift"]
    arms = {row["arm"]: row for row in readout["arms"]}
    assert arms["control"]["users"] == 4_000 and arms["control"]["ctr_low"] < arms["control"]["ctr"]
    assert {row["segment"] for row in readout["segments"]} == {"adult", "young"}
    segments = readout["segments"]
    assert all(row["p_adjusted"] >= row["p_value"] for row in segments)
    # Significant exactly when the interval drawn leaves out zero (both at α / comparisons).
    assert all(row["significant"] == (row["low"] > 0 or row["high"] < 0) for row in segments)
    assert {row["variant"] for row in readout["variants"]} == {"v0", "v1"}
    assert "generator beats control" in result.output


@pytest.mark.usefixtures("experiment")
def test_the_html_report_renders_in_a_real_browser(events, tmp_path) -> None:
    path, page, shot = tmp_path / "e.csv", tmp_path / "report.html", tmp_path / "report.png"
    export.write(events, path)
    assert _report(path, "--html", str(page)).exit_code == 0
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium package is installed by `make setup`"
    browse = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run(
        [*browse, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=60
    ).stdout
    assert dom.count("<svg") == 3 and "generator beats control" in dom
    subprocess.run(
        [*browse, "--window-size=1100,1800", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=60,
        check=True,
    )
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (1800, 1100)
    assert pixels.std() > 20  # text, tables and plots, not a blank page


def _broken(events: pd.DataFrame, tmp_path: Path, change) -> str:
    frame = events.astype(str).copy()
    change(frame)
    path = tmp_path / "broken.csv"
    frame.to_csv(path, index=False)
    result = _report(path)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def _set(frame: pd.DataFrame, row: int, column: str, value: str) -> None:
    frame.loc[row, column] = value


@pytest.mark.usefixtures("experiment")
def test_an_export_it_cannot_read_gets_one_line_naming_row_and_column(events, tmp_path) -> None:
    clicks = events.index[events["kind"] == "click"]
    line = _broken(events, tmp_path, lambda f: _set(f, 5, "arm", "treatment-b"))
    assert "row 6, column 'arm'" in line and "treatment-b" in line
    line = _broken(events, tmp_path, lambda f: f.drop(columns=["value"], inplace=True))
    assert "column 'value'" in line and "missing" in line
    line = _broken(events, tmp_path, lambda f: _set(f, int(clicks[0]), "value", "lots"))
    assert f"row {clicks[0] + 1}, column 'value'" in line and "not a number" in line
    duplicate = lambda f: _set(f, 7, "event_id", f.loc[2, "event_id"])  # noqa: E731
    line = _broken(events, tmp_path, duplicate)
    assert "row 8, column 'event_id'" in line and "repeated" in line
    line = _broken(events, tmp_path, lambda f: _set(f, int(clicks[1]), "request_id", "r-gone"))
    assert f"row {clicks[1] + 1}, column 'request_id'" in line and "no impression" in line


@pytest.mark.usefixtures("experiment")
def test_an_export_without_the_experiment_says_so(events, tmp_path) -> None:
    other = events.assign(
        experiment=events["experiment"].where(events["kind"] != "impression", "old")
    )
    path = tmp_path / "other.parquet"
    export.write(other, path)
    result = _report(path)
    assert result.exit_code == 2
    assert "no impressions of experiment 'sim'" in result.output


@pytest.mark.usefixtures("experiment")
def test_topics_without_the_experiment_say_so(broker_stack, monkeypatch) -> None:
    """Over the real broker: impressions of another experiment and a v1 impression are no
    readout of this one."""
    settings = broker_stack.settings()
    for name, value in settings.environment().items():
        monkeypatch.setenv(name, value)
    prefix = f"report-{uuid.uuid4().hex[:8]}"
    shown = RewardTopics.prefixed(prefix).impressions
    kafka.ensure_topics(settings.kafka, [shown])
    producer = kafka.producer(settings.kafka)
    for experiment in ("other", ""):
        impression = ImpressionServed(
            event_id=f"i-{experiment}", ts_ms=1, ad_id="ad0", request_id=f"r-{experiment}",
            user_id="u1", elements={"title": "t1"}, propensity=1.0, experiment=experiment,
            arm="control" if experiment else "",
        )  # fmt: skip
        producer.produce(shown, key=impression.key(), value=codec.encode(impression))
    assert producer.flush(10) == 0
    result = CliRunner().invoke(app, ["experiment", "report", "--prefix", prefix])
    assert result.exit_code == 2, result.output
    assert "no impressions of experiment 'sim' in the topics" in result.output
    assert "'outside_experiments': 1" in result.output, result.stderr
