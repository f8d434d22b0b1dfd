"""The reward demo's live view and plot, from scores made up beside the world's truth."""

import numpy as np
import pytest

from adcraft.services.demo.plot import plot
from adcraft.services.demo.view import Snapshot, render
from adcraft.services.simulator.world import SyntheticWorld
from adcraft.shared.contract.events import ElementScored
from adcraft.shared.contract.segments import SEGMENTS

WORLD = SyntheticWorld.create(ads=2, seed=0)


def _scored(ad, segment, slot, element, score):
    return ElementScored(
        event_id=f"{ad}-{segment}-{slot}-{element}",
        ts_ms=0,
        ad_id=ad,
        segment=segment,
        slot=slot,
        element_id=element,
        score=score,
        uncertainty=0.01,
        observations=100,
        model_version="test",
    )


def _true_scores():
    """Every element scored at the click probability its true effect gives."""
    return {
        (ad, segment): {
            (slot, e): _scored(
                ad, segment, slot, e, 1 / (1 + np.exp(-WORLD.element_effect(ad, segment, slot, e)))
            )
            for slot, elements in slots.items()
            for e in elements
        }
        for ad, slots in WORLD.catalog.ads.items()
        for segment in SEGMENTS
    }


def test_learned_truth_reads_full_agreement_and_ranks_the_best_first():
    text, snapshot = render(WORLD, _true_scores(), 3.0)
    header, watching, *slots = text.splitlines()
    assert header == "t=  3.0s  Spearman(learned, true element effects) = 1.000"
    assert watching == "  ad0 / segment young, elements by learned score:"
    assert len(slots) == len(WORLD.catalog.ads["ad0"])
    for line in slots:
        first_shown = line.split()[1].split(":")[0]
        assert line.endswith(f"(truly best: {first_shown})")
    assert snapshot.elapsed == 3.0 and snapshot.rho == pytest.approx(1.0)
    assert set(snapshot.titles) == set(WORLD.catalog.ads["ad0"]["title"])


def test_nothing_learned_yet_is_a_header_only():
    empty = {(ad, segment): {} for ad in WORLD.catalog.ads for segment in SEGMENTS}
    text, snapshot = render(WORLD, empty, 1.0)
    assert text.splitlines()[0].endswith("= nan")
    assert len(text.splitlines()) == 2
    assert snapshot.titles == {}


def test_the_plot_is_a_png(tmp_path):
    history = [Snapshot(1.0, 0.2, {}), Snapshot(2.0, 0.8, {"t0": 0.1, "t1": 0.3})]
    out = plot(history, tmp_path / "plots" / "scores.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
