"""What ``adcraft evaluate`` reports: a log, or the synthetic world beside its known truth,
evaluated and summed up as printed lines and one JSON object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.offline_eval import logged
from services.offline_eval.evaluate import Report, evaluate
from services.offline_eval.policy import Combination, PolicyName
from services.simulator.logged import logged_feedback
from services.simulator.world import SyntheticWorld


@dataclass(frozen=True)
class Summary:
    """An evaluation of a policy and, on synthetic data, its true value."""

    report: Report
    true_value: float | None = None

    def lines(self) -> list[str]:
        """The table ``adcraft evaluate`` prints."""
        report = self.report
        lines = [
            f"trained on {report.rows_train} rows, evaluated on {report.rows_evaluated}; "
            f"target: {report.policy.description}"
        ]
        if self.true_value is not None:
            lines.append(f"{'true value (synthetic)':<24} {round(self.true_value, 5):.5f}")
        lines += [
            f"{name:<24} {est.value:.5f}  95% CI [{est.low:.5f}, {est.high:.5f}]"
            for name, est in report.estimates.items()
        ]
        lines += [
            f"{'mean policy propensity':<24} {report.mean_policy_propensity:.5f}",
            f"{'effective sample size':<24} {report.effective_sample_size:.1f}",
        ]
        return lines

    def figures(self) -> dict[str, object]:
        """The same figures as one JSON-ready object, rounded to five places (the effective
        sample size to one)."""
        report = self.report
        figures: dict[str, object] = {
            "policy": report.policy.name,
            "rows_evaluated": report.rows_evaluated,
        }
        if self.true_value is not None:
            figures["true_policy_value"] = round(self.true_value, 5)
        for name, est in report.estimates.items():
            figures[name] = {
                "value": round(est.value, 5),
                "low": round(est.low, 5),
                "high": round(est.high, 5),
            }
        figures["mean_policy_propensity"] = round(report.mean_policy_propensity, 5)
        figures["effective_sample_size"] = round(report.effective_sample_size, 1)
        return figures


def of_log(
    path: Path, train_fraction: float, epsilon: float, samples: int, policy: PolicyName
) -> Summary:
    """Evaluate ``policy`` on the logged feedback in ``path`` (CSV or Parquet, see
    :mod:`.logged`)."""
    rows = logged.rows(logged.read(path))
    return Summary(evaluate(rows, train_fraction, epsilon, samples, policy))


def of_synthetic(
    impressions: int, train_fraction: float, epsilon: float, samples: int, policy: PolicyName
) -> Summary:
    """Log ``impressions`` of the synthetic world, evaluate ``policy``, and add its true value
    over the held-out contexts."""
    world = SyntheticWorld.create(ads=2)
    rows = logged.rows(logged_feedback(world, impressions))
    report = evaluate(rows, train_fraction, epsilon, samples, policy)
    truth = [
        report.policy.expected(r.ad_id, r.segment, _click_probability(world, r.ad_id, r.segment))
        for r in rows[report.rows_train :]
    ]
    return Summary(report, float(np.mean(truth)))


def _click_probability(
    world: SyntheticWorld, ad: str, segment: str
) -> Callable[[Combination], float]:
    """The world's true click probability of a combination of ``ad`` shown to ``segment``."""
    return lambda combination: world.click_probability(ad, segment, dict(combination))
