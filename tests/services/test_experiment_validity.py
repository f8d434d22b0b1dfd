"""The readout's statistics hold on seeded simulated experiments: valid under peeking,
powerful enough, honest about clustered users, and alarmed by a broken split."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from adcraft.services.cli import app
from adcraft.services.experiments import estimates, sequential, simulate


def _figures(*args: str) -> dict:
    result = CliRunner().invoke(app, ["experiment", *args, "--json"])
    assert result.exit_code == 0, result.output
    return orjson.loads(result.output.splitlines()[-1])


def test_the_user_level_variance_grows_with_how_much_users_differ() -> None:
    rng = np.random.default_rng(0)
    alike = simulate.World(concentration=1_000.0, impressions=10.0).users(rng, 5_000, 0.0)
    apart = simulate.World(concentration=1.0, impressions=10.0).users(rng, 5_000, 0.0)
    assert estimates.ratio(*apart).variance > 3 * estimates.ratio(*alike).variance
    # Counting impressions as independent hides it: nearly the same either way.
    naive = estimates.per_impression(*apart).variance / estimates.per_impression(*alike).variance
    assert 0.8 < naive < 1.25


def test_the_confidence_sequence_is_wider_than_a_fixed_look_and_shrinks_with_data() -> None:
    halves = sequential.half_width(np.array([1e-2, 1e-3, 1e-4]), 0.05, 0.1)
    assert np.all(np.diff(halves) < 0)
    assert np.all(halves > estimates.Z95 * np.sqrt([1e-2, 1e-3, 1e-4]))
    low, high = sequential.always_valid(0.05, 1e-4, 0.05, 0.1)
    assert (low > 0) == (sequential.always_valid_p(0.05, 1e-4, 0.1) < 0.05)


@pytest.mark.usefixtures("study")
def test_peeking_after_every_batch_keeps_false_positives_at_alpha() -> None:
    figures = _figures("aa", "--runs", "200")
    assert figures["false_positive_rate"] <= 0.06
    assert figures["naive_false_positive_rate"] > 2 * 0.05  # what peeking does to a z-test


@pytest.mark.usefixtures("study")
def test_a_true_ten_percent_lift_is_found_with_power() -> None:
    figures = _figures("power", "--lift", "0.10")
    assert figures["power"] >= 0.8
    assert 0 < figures["users"] <= figures["max_users"]


@pytest.mark.usefixtures("study")
def test_the_lift_interval_covers_the_truth_when_users_cluster() -> None:
    figures = _figures("coverage", "--runs", "200")
    assert figures["always_valid_coverage"] >= 0.9
    assert figures["user_level_coverage"] >= 0.9
    assert figures["per_impression_coverage"] < 0.85  # impressions as independent: too narrow


@pytest.mark.usefixtures("study")
def test_a_52_48_split_is_flagged_and_a_fair_one_is_not() -> None:
    figures = _figures("srm", "--runs", "200", "--users", "50000")
    assert figures["flagged_52_48"] == 1.0
    assert figures["flagged_50_50"] <= 0.02
