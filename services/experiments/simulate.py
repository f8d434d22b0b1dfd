"""Seeded simulated experiments: is the readout valid under peeking, and how much power?

Users arrive in batches, each with a click propensity of their own (Beta distributed: a
few users click a lot) and several impressions; a treated arm multiplies every user's
propensity by ``1 + lift``, so the true relative CTR lift is exactly ``lift``. After every
batch the readout looks: the always-valid interval (:mod:`.sequential`) on the user-level
lift (:mod:`.estimates`), and, for contrast, the fixed-horizon 95 % interval a naive
dashboard would show at each refresh.

>>> aa = peeking(World(), lift=0.0, runs=20, users=2_000, batch=200, alpha=0.05, tau=0.1)
>>> aa.runs, 0 <= aa.always_valid <= aa.naive <= 1
(20, True)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from adcraft.services.experiments import readout
from adcraft.services.experiments.checks import srm
from adcraft.services.experiments.estimates import Z95, per_impression, ratio, relative
from adcraft.services.experiments.estimates import lift as relative_lift
from adcraft.services.experiments.export import COLUMNS
from adcraft.services.experiments.sequential import half_width


class World(NamedTuple):
    """Simulated users: mean click propensity, its spread, impressions per user."""

    ctr: float = 0.05
    concentration: float = 20.0  # Beta(a, b) with a + b = concentration: lower, users differ more
    impressions: float = 4.0  # mean impressions per user (at least one)

    def users(self, rng: np.random.Generator, n: int, lift: float) -> tuple[np.ndarray, np.ndarray]:
        """Per-user clicks and impressions of ``n`` users in an arm with ``lift``."""
        a, b = self.ctr * self.concentration, (1 - self.ctr) * self.concentration
        shown = 1 + rng.poisson(self.impressions - 1, n)
        propensity = np.minimum(rng.beta(a, b, n) * (1 + lift), 1.0)
        return rng.binomial(shown, propensity).astype(float), shown.astype(float)


class Peeking(NamedTuple):
    """How often a run's interval excluded zero at some look, by kind of interval."""

    runs: int
    always_valid: float
    naive: float
    detected_at: np.ndarray  # users (both arms) at the first always-valid detection, or inf


def cumulative_lifts(
    treated: tuple[np.ndarray, np.ndarray], control: tuple[np.ndarray, np.ndarray], batch: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lift, its delta-method variance and the users at each look (every ``batch``
    users per arm), from running sums: one pass, however many looks."""
    t, c = _running_ratio(*treated, batch), _running_ratio(*control, batch)
    value, variance = relative(t[0], t[1], c[0], c[1])
    users = 2 * batch * np.arange(1, len(value) + 1)
    return value, variance, users


def _running_ratio(clicks: np.ndarray, shown: np.ndarray, batch: int) -> tuple[np.ndarray, ...]:
    ends = np.arange(batch, len(shown) + 1, batch) - 1
    sums = [np.cumsum(s)[ends] for s in (clicks, shown, clicks**2, shown**2, clicks * shown)]
    x, y, xx, yy, xy = sums
    n = ends + 1.0
    r = x / y
    residual = (xx - 2 * r * xy + r**2 * yy) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = residual / (n * (y / n) ** 2)
    return r, variance


def peeking(
    world: World, lift: float, runs: int, users: int, batch: int, alpha: float, tau: float
) -> Peeking:
    """``runs`` seeded experiments of ``users`` per arm, looked at after every batch."""
    always, naive, detected = 0, 0, np.full(runs, np.inf)
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        treated, control = world.users(rng, users, lift), world.users(rng, users, 0.0)
        value, variance, seen = cumulative_lifts(treated, control, batch)
        ok = np.isfinite(variance) & (variance > 0)
        value, variance, seen = value[ok], variance[ok], seen[ok]
        excluded = np.abs(value) > half_width(variance, alpha, tau)
        always += bool(excluded.any())
        naive += bool((np.abs(value) > Z95 * np.sqrt(variance)).any())
        if excluded.any():
            detected[seed] = seen[np.argmax(excluded)]
    return Peeking(runs, always / runs, naive / runs, detected)


def users_needed(detected_at: np.ndarray, share: float) -> float | None:
    """The fewest users by which ``share`` of the runs had detected the effect, or None.

    >>> users_needed(np.array([100.0, 300.0, np.inf, 200.0]), 0.75)
    300.0
    >>> users_needed(np.array([100.0, np.inf]), 0.75) is None
    True
    """
    ordered = np.sort(detected_at)
    needed = float(ordered[max(0, int(np.ceil(share * len(ordered))) - 1)])
    return needed if np.isfinite(needed) else None


class Coverage(NamedTuple):
    """How often each kind of lift interval covered the true lift, at one final look."""

    runs: int
    always_valid: float
    user_level: float
    per_impression: float


def coverage(
    world: World, lift: float, runs: int, users: int, alpha: float, tau: float
) -> Coverage:
    """``runs`` seeded experiments read once at the end: does each interval cover ``lift``?
    The first is the report's own (:func:`~.readout.lift_row` on per-user sums)."""
    hits = np.zeros(3)
    for seed in range(runs):
        rng = np.random.default_rng(10_000 + seed)
        treated, control = world.users(rng, users, lift), world.users(rng, users, 0.0)
        reported = readout.lift_row(_per_user(*treated), _per_user(*control), "ctr", alpha, tau)
        user = relative_lift(ratio(*treated), ratio(*control))
        naive = relative_lift(per_impression(*treated), per_impression(*control))
        hits += [
            reported["low"] <= lift <= reported["high"],
            abs(user.value - lift) <= Z95 * user.variance**0.5,
            abs(naive.value - lift) <= Z95 * naive.variance**0.5,
        ]
    return Coverage(runs, *(float(h) / runs for h in hits))


def _per_user(clicks: np.ndarray, shown: np.ndarray) -> pd.DataFrame:
    zeros = np.zeros(len(shown))
    return pd.DataFrame(
        {"impressions": shown, "clicks": clicks, "conversions": zeros, "value": zeros}
    )


def srm_flag_rate(share: float, users: int, runs: int) -> float:
    """How often a split of ``users`` drawn with ``share`` in arm one is flagged against
    a configured 50/50."""
    flagged = 0
    for seed in range(runs):
        first = np.random.default_rng(20_000 + seed).binomial(users, share)
        flagged += srm(np.array([first, users - first]), np.array([0.5, 0.5])).flagged
    return flagged / runs


def export(
    world: World, lifts: dict[str, float], users: int, seed: int, experiment: str = "sim"
) -> pd.DataFrame:
    """A simulated experiment as an export table (see :mod:`.export`): ``users`` per arm,
    each arm's propensities lifted by ``lifts[arm]``, two segments, two copy variants,
    clicks and some conversions."""
    rng = np.random.default_rng(seed)
    rows = []
    for arm, lift in lifts.items():
        clicks, shown = world.users(rng, users, lift)
        for user in range(users):
            segment = "young" if user % 2 else "adult"
            for k in range(int(shown[user])):
                request = f"{arm}-{user}-{k}"
                variant = f"v{rng.integers(2)}"
                ts = int(rng.integers(0, 3_600_000))
                rows.append(
                    (
                        "impression",
                        f"i-{request}",
                        request,
                        f"u-{arm}-{user}",
                        ts,
                        experiment,
                        arm,
                        "model",
                        segment,
                        f'{{"copy":"{variant}"}}',
                        '{"title":"t1"}',
                        0.0,
                    )
                )
                if k < clicks[user]:
                    rows.append(_outcome("click", request, f"u-{arm}-{user}", ts + 500, 0.0))
                    if rng.random() < 0.1:
                        who = f"u-{arm}-{user}"
                        rows.append(_outcome("conversion", request, who, ts + 9_000, 30.0))
    return pd.DataFrame(rows, columns=COLUMNS)


def _outcome(kind: str, request: str, user: str, ts: int, value: float) -> tuple:
    """A click's or conversion's export row: no experiment fields of its own."""
    return (kind, f"{kind[0]}-{request}", request, user, ts, *[""] * 6, value)
