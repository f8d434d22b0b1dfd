"""What ``adcraft evaluate`` reports: a log, or the synthetic world beside its known truth,
evaluated and summed up as printed lines and one JSON object."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from adcraft.services.offline_eval import coverage, logged
from adcraft.services.offline_eval.estimators import Estimate
from adcraft.services.offline_eval.evaluate import Options, Report, evaluate
from adcraft.services.simulator.logged import logged_feedback
from adcraft.services.simulator.world import SyntheticWorld

TRUTH_DRAWS = 2_000  # slates per context behind the synthetic world's true value


@dataclass(frozen=True)
class Summary:
    """An evaluation of a policy and, on synthetic data, its true value."""

    report: Report
    slots: tuple[str, ...]
    true_value: float | None = None

    def lines(self) -> list[str]:
        """The table ``adcraft evaluate`` prints."""
        report, d = self.report, self.report.diagnostics
        rewards = "per-slot rewards" if report.per_slot else "whole-combination rewards"
        lines = [
            f"trained on {report.rows_train} rows, evaluated on {report.rows_evaluated} "
            f"({len(self.slots)} slots, {rewards}); target: {report.policy.description}"
        ]
        if self.true_value is not None:
            lines.append(f"{'true value (synthetic)':<24} {self.true_value:.5f}")
        lines.append(f"{'estimator':<24} {'value':>8}  95% interval")
        lines += [f"{name:<24} {_interval(est)}" for name, est in report.estimates.items()]
        if report.per_slot:
            lines.append(f"{'per slot':<24}" + "".join(f" {s:>9}" for s in self.slots))
            for name in report.estimates:
                values = [report.per_slot[s][name].value for s in self.slots]
                lines.append(f"{name:<24}" + "".join(f" {v:>9.5f}" for v in values))
        calibration = report.calibration
        lines += [
            f"{'matched units':<24} {d.matched} of {d.units}, {d.matched_clicks:g} clicks",
            f"{'effective sample size':<24} {d.effective_sample_size:.1f}",
            f"{'weights':<24} max {d.max_weight:.3g}, mean {d.mean_weight:.4f}",
            f"{'reward model log-loss':<24} {calibration.log_loss:.5f} "
            f"(constant {calibration.constant_log_loss:.5f}, held out)",
            f"{'reliability':<24} predicted -> observed (units)",
            *(f"{'':<24} {p:.5f} -> {o:.5f} ({n})" for p, o, n in calibration.table),
        ]
        return lines + [f"warning: {w}" for w in report.warnings]

    def figures(self) -> dict[str, object]:
        """The same figures as one JSON-ready object, rounded to six places."""
        report = self.report
        figures: dict[str, object] = {
            "policy": report.policy.name,
            "rows_train": report.rows_train,
            "rows_evaluated": report.rows_evaluated,
            "per_slot_rewards": bool(report.per_slot),
        }
        if self.true_value is not None:
            figures["true_policy_value"] = round(self.true_value, 6)
        figures |= {name: _rounded(est) for name, est in report.estimates.items()}
        figures["per_slot"] = {
            slot: {name: _rounded(est) for name, est in estimates.items()}
            for slot, estimates in report.per_slot.items()
        }
        figures["diagnostics"] = {k: round(v, 6) for k, v in asdict(report.diagnostics).items()}
        calibration = report.calibration
        figures["calibration"] = {
            "log_loss": round(calibration.log_loss, 6),
            "constant_log_loss": round(calibration.constant_log_loss, 6),
            "reliability": [[round(p, 6), round(o, 6), n] for p, o, n in calibration.table],
        }
        figures["warnings"] = report.warnings
        return figures


def of_log(path: Path, options: Options) -> Summary:
    """Evaluate on the logged feedback in ``path`` (CSV or Parquet, see :mod:`.logged`)."""
    log = logged.read(path)
    return Summary(evaluate(log, options), log.slots)


def of_synthetic(impressions: int, options: Options) -> Summary:
    """Log ``impressions`` of the synthetic world, evaluate, and add the policy's true value
    over the held-out contexts (its slates sampled, the world's click probability of each)."""
    world = SyntheticWorld.create(ads=2)
    log = logged.of_frame(logged_feedback(world, impressions))
    report = evaluate(log, options)
    held = log.rows(slice(report.rows_train, None))
    rng = np.random.default_rng(options.seed)
    value = np.zeros(len(log.contexts))
    for context in np.unique(held.context):
        ad, segment = log.contexts.loc[context, ["ad_id", "segment"]]
        slates = report.policy.sample(int(context), TRUTH_DRAWS, rng)
        names = [log.elements[s][slates[:, s]] for s in range(len(log.slots))]
        value[context] = np.mean(
            [
                world.click_probability(ad, segment, dict(zip(log.slots, chosen, strict=True)))
                for chosen in zip(*names, strict=True)
            ]
        )
    return Summary(report, log.slots, float(value[held.context].mean()))


def sparse_check(
    seeds: int, rows: int, ranking_seeds: int, ranking_rows: int, options: Options
) -> tuple[list[str], dict[str, object]]:
    """Coverage over ``seeds`` sparse worlds of ``rows`` rows and ranking over
    ``ranking_seeds`` of ``ranking_rows``, as lines and one JSON-ready object."""
    covered = coverage.coverage(seeds, rows, options)
    ranked = coverage.ranking(ranking_seeds, ranking_rows, options) if ranking_seeds else {}
    shares, widths = covered["coverage"], covered["mean_interval_width"]
    assert isinstance(shares, dict) and isinstance(widths, dict)
    lines = [
        f"coverage of 95% intervals over {seeds} sparse worlds of {rows} rows "
        "(80 items, 3 positions, click rates 0.1-1 %, uniform logging)",
        f"{'estimator':<24} {'coverage':>8} {'mean width':>11}",
        *(f"{name:<24} {share:>8.3f} {widths[name]:>11.5f}" for name, share in shares.items()),
    ]
    if ranked:
        above = ranked["ranked_above_logging"]
        assert isinstance(above, dict)
        lines += [
            f"ranking over {ranking_seeds} sparse worlds of {ranking_rows} rows: true value "
            f"{ranked['true_value_ratio_mean']:.3f}x the logging policy's "
            f"(lowest {ranked['true_value_ratio_min']:.3f}x)",
            *(f"{name:<24} ranks it above logging in {share:.3f}" for name, share in above.items()),
        ]
    return lines, covered | {"ranking": ranked}


def _interval(estimate: Estimate) -> str:
    return f"{estimate.value:>8.5f}  [{estimate.low:.5f}, {estimate.high:.5f}]"


def _rounded(estimate: Estimate) -> dict[str, float]:
    return {k: round(v, 6) for k, v in asdict(estimate).items()}
