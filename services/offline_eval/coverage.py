"""Do the estimators hold on sparse logs? Over seeded sparse worlds whose truth is known:
how often each interval covers the true value, and how often each estimator ranks the
learned policy above the logging policy."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from adcraft.services.offline_eval import logged
from adcraft.services.offline_eval.estimators import ESTIMATORS
from adcraft.services.offline_eval.evaluate import Options, Report, evaluate
from adcraft.services.offline_eval.logged import Log
from adcraft.services.offline_eval.policy import TargetPolicy
from adcraft.services.simulator.sparse import SparseWorld

DEFAULT = Options()


def run(seed: int, rows: int, options: Options) -> tuple[Report, dict[str, float]]:
    """Evaluate on a ``rows``-row log of world ``seed``; the true values of the policy and
    of the logging policy over the held-out rows."""
    world = SparseWorld.create(seed=seed)
    log = logged.of_frame(world.log(rows, seed=seed))
    report = evaluate(log, replace(options, seed=seed))
    held = log.rows(slice(report.rows_train, None))
    devices = log.contexts["ctx:device"].to_numpy()[held.context]
    truth = {
        "policy": policy_value(world, log, held, report.policy),
        "logging_policy": float(np.mean([world.logging_value(d) for d in devices])),
    }
    return report, truth


def policy_value(world: SparseWorld, log: Log, held: Log, policy: TargetPolicy) -> float:
    """The policy's true expected clicks per slate over ``held``'s contexts."""
    values = np.zeros(len(log.contexts))
    for context in np.unique(held.context):
        device = str(log.contexts.at[context, "ctx:device"])
        values[context] = sum(
            marginal @ world.rate(device, slot, log.elements[s])
            for s, (slot, marginal) in enumerate(
                zip(log.slots, policy.marginals(int(context)), strict=True)
            )
        )
    return float(values[held.context].mean())


def coverage(seeds: int, rows: int, options: Options = DEFAULT) -> dict[str, object]:
    """Per estimator, the share of ``seeds`` runs whose 95% interval covers the truth,
    and the interval's mean width."""
    covered = {name: 0 for name in ESTIMATORS}
    width = {name: 0.0 for name in ESTIMATORS}
    for seed in range(seeds):
        report, truth = run(seed, rows, options)
        for name, estimate in report.estimates.items():
            value = truth["logging_policy" if name == "logging_policy" else "policy"]
            covered[name] += estimate.low <= value <= estimate.high
            width[name] += (estimate.high - estimate.low) / seeds
    return {
        "seeds": seeds,
        "rows": rows,
        "coverage": {name: count / seeds for name, count in covered.items()},
        "mean_interval_width": {name: round(w, 6) for name, w in width.items()},
    }


def ranking(seeds: int, rows: int, options: Options = DEFAULT) -> dict[str, object]:
    """The policy's true value over the logging policy's, and per estimator the share of
    ``seeds`` runs in which it ranks the policy above the logging policy."""
    ratios = []
    above = {name: 0 for name in ESTIMATORS if name != "logging_policy"}
    for seed in range(seeds):
        report, truth = run(seed, rows, options)
        ratios.append(truth["policy"] / truth["logging_policy"])
        logging_estimate = report.estimates["logging_policy"].value
        for name in above:
            above[name] += report.estimates[name].value > logging_estimate
    return {
        "seeds": seeds,
        "rows": rows,
        "true_value_ratio_mean": float(np.mean(ratios)),
        "true_value_ratio_min": float(np.min(ratios)),
        "ranked_above_logging": {name: count / seeds for name, count in above.items()},
    }
