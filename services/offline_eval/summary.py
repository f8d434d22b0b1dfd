"""What ``adcraft evaluate`` reports: a log, or the synthetic world beside its known truth,
evaluated and summed up as printed lines and one JSON object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.offline_eval import logged
from services.offline_eval.evaluate import Report, evaluate
from services.simulator.logged import logged_feedback
from services.simulator.world import SyntheticWorld


@dataclass(frozen=True)
class Summary:
    """An evaluation of the ``epsilon``-greedy policy and, on synthetic data, its true value."""

    report: Report
    epsilon: float
    true_value: float | None = None

    def lines(self) -> list[str]:
        """The table ``adcraft evaluate`` prints."""
        report = self.report
        lines = [
            f"trained on {report.rows_train} rows, evaluated on {report.rows_evaluated}; "
            f"target: {self.epsilon}-greedy over combinations"
        ]
        if self.true_value is not None:
            lines.append(f"{'true value (synthetic)':<24} {round(self.true_value, 5):.5f}")
        lines += [
            f"{name:<24} {est.value:.5f}  95% CI [{est.low:.5f}, {est.high:.5f}]"
            for name, est in report.estimates.items()
        ]
        return lines

    def figures(self) -> dict[str, object]:
        """The same figures as one JSON-ready object, rounded to five places."""
        figures: dict[str, object] = {"rows_evaluated": self.report.rows_evaluated}
        if self.true_value is not None:
            figures["true_policy_value"] = round(self.true_value, 5)
        for name, est in self.report.estimates.items():
            figures[name] = {
                "value": round(est.value, 5),
                "low": round(est.low, 5),
                "high": round(est.high, 5),
            }
        return figures


def of_log(path: Path, train_fraction: float, epsilon: float, samples: int) -> Summary:
    """Evaluate the logged feedback in ``path`` (CSV or Parquet, see :mod:`.logged`)."""
    rows = logged.rows(logged.read(path))
    return Summary(evaluate(rows, train_fraction, epsilon, samples), epsilon)


def of_synthetic(impressions: int, train_fraction: float, epsilon: float, samples: int) -> Summary:
    """Log ``impressions`` of the synthetic world, evaluate, and add the learned policy's true
    value over the held-out contexts."""
    world = SyntheticWorld.create(ads=2)
    rows = logged.rows(logged_feedback(world, impressions))
    report = evaluate(rows, train_fraction, epsilon, samples)
    held_out = ((r.ad_id, r.segment) for r in rows[report.rows_train :])
    return Summary(report, epsilon, world.true_value(held_out, report.policy))
