"""An experiment read out from its impressions and their outcomes (pure).

Per arm: users, impressions, clicks, CTR, conversions, CVR (conversions per click) and value
per impression, each with a 95 % interval from per-user sums (:mod:`.estimates`). Each
arm's lift over the control, per metric, with the always-valid interval and p-value of
:mod:`.sequential`, so the report may be read after every hour. The sample-ratio check
(:mod:`.checks`) comes first: when it flags, the lifts are not to be trusted. Lifts per
segment are tested as one family (Holm; their intervals at α / comparisons). CTR per copy
variant and per element are descriptive (one fixed look).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pandas as pd

from adcraft.services.experiments import checks, estimates, sequential
from adcraft.shared.runtime.experiment_settings import ExperimentSettings

METRICS = {
    "ctr": ("clicks", "impressions"),
    "cvr": ("conversions", "clicks"),
    "value_per_impression": ("value", "impressions"),
}
COUNTS = ("impressions", "clicks", "conversions", "value")
LOOKS = 24  # points of the lift-over-time curve


def per_user(impressions: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Sums per ``by`` and user: the unit of every interval."""
    return (
        impressions.assign(impressions=1)
        .groupby([*by, "user_id"], sort=False)[list(COUNTS)]
        .sum()
        .reset_index()
    )


def _estimate(users: pd.DataFrame, metric: str) -> estimates.Estimate:
    numerator, denominator = METRICS[metric]
    return estimates.ratio(users[numerator].to_numpy(float), users[denominator].to_numpy(float))


def _number(value: float) -> float | None:
    return round(float(value), 6) if np.isfinite(value) else None


def arm_table(users: pd.DataFrame, arms: list[str]) -> list[dict[str, Any]]:
    """Counts and metrics with intervals, per arm in ``arms`` order."""
    rows = []
    for arm in arms:
        mine = users[users["arm"] == arm]
        row: dict[str, Any] = {"arm": arm, "users": len(mine)}
        row |= {c: _number(mine[c].sum()) for c in COUNTS}
        for metric in METRICS:
            estimate = _estimate(mine, metric)
            low, high = estimate.interval()
            row |= {metric: _number(estimate.value)}
            row |= {f"{metric}_low": _number(low), f"{metric}_high": _number(high)}
        rows.append(row)
    return rows


def lift_row(
    treated: pd.DataFrame, control: pd.DataFrame, metric: str, alpha: float, tau: float
) -> dict[str, Any]:
    """One lift over the control with its always-valid interval and p-value."""
    lift = estimates.lift(_estimate(treated, metric), _estimate(control, metric))
    low, high = sequential.always_valid(lift.value, lift.variance, alpha, tau)
    low = max(low, -1.0)  # a rate cannot fall by more than all of it
    p_value = sequential.always_valid_p(lift.value, lift.variance, tau)
    return {
        "metric": metric,
        "lift": _number(lift.value),
        "low": _number(low),
        "high": _number(high),
        "p_value": _number(p_value),
        "significant": bool(np.isfinite(low) and (low > 0 or high < 0)),
    }


def read_out(impressions: pd.DataFrame, experiment: ExperimentSettings) -> dict[str, Any]:
    """The whole readout of ``experiment`` as one JSON-ready object."""
    shares, control = experiment.shares(), experiment.control
    alpha, tau = experiment.alpha, experiment.tau
    arms = list(shares)
    users = per_user(impressions, ["arm"])
    by_arm = {arm: users[users["arm"] == arm] for arm in arms}
    treated = [arm for arm in arms if arm != control]
    counts = np.array([len(by_arm[arm]) for arm in arms])
    ratio = checks.srm(counts, np.array([shares[arm] for arm in arms], dtype=float))
    return {
        "experiment": experiment.name,
        "control": control,
        "alpha": alpha,
        "tau": tau,
        "srm": {
            "users": dict(zip(arms, counts.tolist(), strict=True)),
            "shares": dict(shares),
            "p_value": _number(ratio.p_value),
            "flagged": ratio.flagged,
        },
        "arms": arm_table(users, arms),
        "lifts": [
            {"arm": arm} | lift_row(by_arm[arm], by_arm[control], metric, alpha, tau)
            for arm in treated
            for metric in METRICS
        ],
        "segments": segment_lifts(impressions, treated, control, alpha, tau),
        "over_time": lift_over_time(impressions, treated, control, alpha, tau),
        "variants": ctr_by(impressions, "copy_variants", "variant"),
        "elements": ctr_by(impressions, "elements", "element"),
    }


def segment_lifts(
    impressions: pd.DataFrame, treated: list[str], control: str, alpha: float, tau: float
) -> list[dict[str, Any]]:
    """CTR lift per segment and arm: one family of ``m``, each tested at α/m (Bonferroni), so
    a lift is significant exactly when its drawn interval leaves out zero; ``p_adjusted``
    is its always-valid p-value times ``m``."""
    users = per_user(impressions, ["segment", "arm"])
    pairs = [(s, arm) for s in sorted(users["segment"].unique()) for arm in treated]
    alpha_each = alpha / max(1, len(pairs))
    rows = []
    for segment, arm in pairs:
        here = users[users["segment"] == segment]
        row = lift_row(
            here[here["arm"] == arm], here[here["arm"] == control], "ctr", alpha_each, tau
        )
        p_value = 1.0 if row["p_value"] is None else row["p_value"]
        row["p_adjusted"] = min(1.0, p_value * len(pairs))
        rows.append({"segment": segment, "arm": arm} | row)
    return rows


def lift_over_time(
    impressions: pd.DataFrame, treated: list[str], control: str, alpha: float, tau: float
) -> list[dict[str, Any]]:
    """Each arm's CTR lift and its confidence sequence as it would have read at
    :data:`LOOKS` moments (impressions up to each moment, their clicks whenever they came)."""
    if impressions.empty:
        return []
    moments = np.unique(np.quantile(impressions["ts_ms"], np.linspace(0, 1, LOOKS + 1)[1:]))
    rows = []
    for moment in moments:
        users = per_user(impressions[impressions["ts_ms"] <= moment], ["arm"])
        control_users = users[users["arm"] == control]
        for arm in treated:
            row = lift_row(users[users["arm"] == arm], control_users, "ctr", alpha, tau)
            rows.append({"ts_ms": int(moment), "arm": arm} | row)
    return rows


def ctr_by(impressions: pd.DataFrame, column: str, name: str) -> list[dict[str, Any]]:
    """CTR per slot and id named in ``column`` (a JSON object per impression), with a
    user-level 95 % interval, most shown first."""
    named = impressions[column].map(lambda text: list(orjson.loads(text or "{}").items()))
    exploded = impressions.assign(pair=named).explode("pair").dropna(subset=["pair"])
    if exploded.empty:
        return []
    exploded["slot"] = exploded["pair"].map(lambda pair: pair[0])
    exploded[name] = exploded["pair"].map(lambda pair: pair[1])
    users = per_user(exploded.drop(columns=["pair"]), ["slot", name])
    rows = []
    for (slot, item), group in users.groupby(["slot", name], sort=False):
        estimate = _estimate(group, "ctr")
        low, high = estimate.interval()
        rows.append(
            {
                "slot": slot,
                name: item,
                "users": len(group),
                "impressions": int(group["impressions"].sum()),
                "clicks": int(group["clicks"].sum()),
                "ctr": _number(estimate.value),
                "low": _number(low),
                "high": _number(high),
            }
        )
    return sorted(rows, key=lambda row: -row["impressions"])


def running(
    served: list[tuple[str, str, bool]], experiment: ExperimentSettings
) -> list[dict[str, Any]]:
    """A live readout of (user id, arm, clicked) answers: per arm its impressions, CTR and
    CTR lift over the control with its always-valid interval (users as the unit)."""
    frame = pd.DataFrame(served, columns=["user_id", "arm", "clicks"]).astype({"clicks": float})
    for column in ("conversions", "value"):
        frame[column] = 0.0
    control, alpha, tau = experiment.control, experiment.alpha, experiment.tau
    users = per_user(frame, ["arm"])
    control_users = users[users["arm"] == control]
    rows = []
    for arm in experiment.arms:
        mine = users[users["arm"] == arm]
        row = {"arm": arm, "impressions": int(mine["impressions"].sum())}
        row["ctr"] = _number(_estimate(mine, "ctr").value)
        if arm != control:
            row |= lift_row(mine, control_users, "ctr", alpha, tau)
        rows.append(row)
    return rows
