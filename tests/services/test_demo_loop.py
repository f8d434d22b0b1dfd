"""The loop demo: its view from made-up answers, and one short run against a real stack."""

from __future__ import annotations

import math
from collections.abc import Iterator

import orjson
import pytest

from adcraft.services.demo.loop import DEMO_ARMS, LoopDemo
from adcraft.services.demo.loop_view import (
    LoopPoint,
    best_share,
    model_copy_share,
    p99,
    render,
)
from adcraft.services.demo.plot import plot_loop
from adcraft.services.simulator.ad_server import Served
from adcraft.services.stack import Stack
from adcraft.shared.runtime.experiment_settings import ExperimentSettings
from adcraft.shared.runtime.settings import Settings
from tests.support.stacks import SERVING, running, with_topics

STARTED, NOW = 1_000.0, 1_010.0
EXPERIMENT = ExperimentSettings()  # generator 90 %, thompson 10 % (the control)


def _served(at: float, ms: float = 10.0, path: str = "model", best: bool = False, **more) -> Served:
    text, source = more.get("text", ""), more.get("source", "none")
    arm, user, clicked = more.get("arm", "generator"), more.get("user", "u1"), more.get("clicked")
    return Served(at, ms, ms / 2, path, "", arm, best, source, text, user, bool(clicked))


def test_the_last_second_the_last_five_and_since_the_start_are_told_apart():
    served = [
        _served(STARTED - 0.5, best=True),  # before the start: not counted
        *(_served(STARTED + 2 + i / 10, ms=5.0, path="default") for i in range(10)),
        *(_served(NOW - 3 + i / 10, arm="thompson", best=True) for i in range(3)),
        *(_served(NOW - 2 + i / 10, path="thompson", best=True) for i in range(2)),
        *(_served(NOW - 0.9 + i / 100, ms=float(i + 1), best=i < 10) for i in range(80)),
        _served(NOW, best=True),  # at "now": the next view's
    ]
    text, point = render(served, NOW, STARTED, EXPERIMENT)
    assert point == LoopPoint(
        elapsed=10.0,
        per_s=80,
        p99_ms=pytest.approx(p99([float(i + 1) for i in range(80)])),
        best_recent=pytest.approx(15 / 85),
        best_total=pytest.approx(15 / 95),
    )
    header, rate, arms, ctr, lift, best, model_copy, copy = text.splitlines()
    assert header.startswith("t= 10.0s")
    assert "80 answers/s" in rate and "p99   79.2 ms" in rate
    # 92 generator answers, 12 of them fell back (10 to the default, 2 to Thompson).
    assert arms.endswith("generator  97% (fell back 12)  thompson   3% (fell back 0)")
    assert ctr.split()[3:] == ["generator", "n/a", "thompson", "n/a"]  # one user each
    assert lift.startswith("  lift vs thompso ") and "generator n/a" in lift
    assert best.split()[2] == "18%" and "16% of 95 since the start" in best
    assert " 0% of the answers" in model_copy and copy.endswith("(none yet)")  # none has copy


def test_model_copy_is_the_share_of_all_answers_carrying_a_pools_or_fresh_copy():
    served = [
        _served(1, text="A", source="pool"),
        _served(2, text="B", source="fresh"),
        _served(3, text="C", source="template"),
        _served(4),  # no copy: counted, as an answer without model copy
        _served(5, text="D", source="template", arm="control"),  # templates by design
    ]
    assert model_copy_share(served) == pytest.approx(2 / 5)
    assert math.isnan(model_copy_share([]))
    shares = {name: arm.share for name, arm in DEMO_ARMS.items()}
    assert shares["control"] / sum(shares.values()) == pytest.approx(0.1)  # a holdout


def test_the_view_reads_out_each_arm_with_users_as_the_unit():
    # Thompson users click 0 or 2 of 10 answers, generator users 1 or 3: a lift of +100 %.
    served = [
        _served(NOW - 5, arm=arm, user=f"{arm}-{u}", clicked=k < clicks + 2 * (u % 2))
        for arm, clicks in (("thompson", 0), ("generator", 1))
        for u in range(400)
        for k in range(10)
    ]
    _, _, arms, ctr, lift, *_ = render(served, NOW, STARTED, EXPERIMENT)[0].splitlines()
    assert "generator  50% (fell back 0)" in arms
    assert ctr.split()[3:] == ["generator", "20.0%", "thompson", "10.0%"]
    generator, lift, low, high = lift.split()[3:7]
    assert (generator, lift) == ("generator", "+100%")
    assert 0 < int(low.strip("[+%,")) < 100 < int(high.strip("+%]"))


def test_nothing_served_yet_reads_as_nothing_not_as_zero_latency():
    text, point = render([], NOW, STARTED, EXPERIMENT)
    assert point.per_s == 0
    assert math.isnan(point.p99_ms) and math.isnan(point.best_recent)
    assert math.isnan(best_share([])) and math.isnan(p99([]))
    assert "CTR per arm     generator n/a" in text
    assert "nan ms" in text and text.endswith("(none yet)")


def test_the_latest_copy_is_shown_on_one_line_with_its_source():
    served = [
        _served(NOW - 2, text="Old copy", source="pool"),
        _served(NOW - 0.5, text="New\ncopy " + "x" * 100, source="template"),
        _served(NOW - 0.1),  # no copy: not the one shown
    ]
    copy = render(served, NOW, STARTED, EXPERIMENT)[0].splitlines()[-1]
    assert copy.startswith("  copy (template)") and "New copy xx" in copy
    assert copy.endswith("…”") and len(copy) < 100


def test_the_loop_plot_is_a_png(tmp_path):
    history = [LoopPoint(1.0, 50, 40.0, 0.1, 0.1), LoopPoint(2.0, 50, math.nan, 0.3, 0.2)]
    out = plot_loop(history, tmp_path / "plots" / "loop.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    yield from running(
        tmp_path_factory.mktemp("loop"),
        SERVING,
        models=["combination_generator", "copy_generator"],
        model_env=Settings().copywriter.environment(),
    )


def test_a_short_loop_answers_every_request_and_plots(stack, tmp_path):
    job = LoopDemo(with_topics(stack), tmp_path, rate=50, seconds=12, fill_s=0)
    progress, *views = list(job.run())  # no wait for the pools here: one progress line
    assert progress.startswith("copy pools written ahead of demand") and "/18" in progress
    assert len(views) >= 10 and len(views) == len(job.history)
    assert all(view.startswith("t=") and "answers/s" in view for view in views)
    assert len(job.tally.sent) >= 400
    assert job.tally.served.keys() == job.tally.sent.keys()
    assert job.tally.duplicates == 0
    assert {s.path for s in job.tally.served.values()} <= {"model", "thompson", "default"}
    assert job.history[-1].per_s > 0 and job.history[-1].p99_ms < 1_000
    assert (tmp_path / "logs" / "request-worker.log").exists()
    assert plot_loop(job.history, tmp_path / "loop.png").stat().st_size > 0
    assert {s.arm for s in job.tally.served.values()} == {"control", "thompson", "generator"}
    control = [s for s in job.tally.served.values() if s.arm == "control"]
    assert {s.copy_source for s in control} <= {"template", "none"}  # its arm's copy source
    assert all("CTR per arm" in view and "lift vs control" in view for view in views)
    page, readout = job.report(tmp_path / "experiment.html")
    assert "<svg" in page.read_text()
    written = orjson.loads(page.with_suffix(".json").read_bytes())
    assert written == orjson.loads(orjson.dumps(readout))  # the readout, as JSON beside it
    arms = {row["arm"]: row for row in readout["arms"]}
    shown = sum(s.path != "default" or s.arm == "control" for s in job.tally.served.values())
    assert sum(row["impressions"] for row in arms.values()) >= 0.9 * shown
