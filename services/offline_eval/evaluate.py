"""Fit the reward model on the first part of a log, evaluate a policy on the rest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adcraft.services.offline_eval import estimators, shrinkage
from adcraft.services.offline_eval.calibration import Calibration, calibration
from adcraft.services.offline_eval.estimators import Diagnostics, Estimate, Units
from adcraft.services.offline_eval.logged import Log
from adcraft.services.offline_eval.policies import GreedyPolicy, ThompsonPolicy
from adcraft.services.offline_eval.policy import PolicyName, TargetPolicy
from adcraft.services.offline_eval.shrinkage import ShrinkageModel

VALUE_DRAWS = 2_000
MAX_DRAWS = 100_000  # slates per context a sampled policy keeps


@dataclass(frozen=True)
class Options:
    """How to evaluate: the share of rows to train on, the target (an adcraft policy or a
    policy file), ε for the greedy policy, draws per context for sampled policies, the
    seed, and the training clicks a context needs for estimates of its own."""

    train_fraction: float = 0.5
    policy: PolicyName | Path = "thompson"
    epsilon: float = 0.1
    draws: int = 1_000
    seed: int = 0
    min_context_clicks: int = 100

    def __post_init__(self) -> None:
        checks = {
            "train fraction must lie in (0, 1)": 0 < self.train_fraction < 1,
            "epsilon must lie in [0, 1]": 0 <= self.epsilon <= 1,
            f"draws must lie in [1, {MAX_DRAWS}]": 1 <= self.draws <= MAX_DRAWS,
            "seed must be at least 0": self.seed >= 0,
            "min context clicks must be at least 1": self.min_context_clicks >= 1,
        }
        failed = [message for message, holds in checks.items() if not holds]
        if failed:
            raise ValueError("; ".join(failed))


@dataclass(frozen=True)
class Report:
    """Rows trained and evaluated on, the policy, the estimates (summed over slots), the
    same per slot for per-slot logs, their diagnostics and warnings, and the reward model's
    calibration."""

    rows_train: int
    rows_evaluated: int
    policy: TargetPolicy
    estimates: dict[str, Estimate]
    per_slot: dict[str, dict[str, Estimate]]
    diagnostics: Diagnostics
    warnings: list[str]
    calibration: Calibration


def evaluate(log: Log, options: Options = Options()) -> Report:
    """Train on the first ``train_fraction`` of ``log`` (in file order), estimate the
    target's value on the rest by every estimator."""
    split = int(len(log) * options.train_fraction)
    if split == 0 or split == len(log):
        raise ValueError("need rows both to train and to evaluate on")
    train, held = log.rows(slice(0, split)), log.rows(slice(split, None))
    model = shrinkage.fit(train, options.min_context_clicks)
    target = target_policy(model, log, options)
    units = units_of(held, model, target, options.seed)
    diagnostics = Diagnostics.of(units)
    per_slot = {}
    if log.per_slot:
        per_slot = {slot: estimators.estimates(units.column(u)) for u, slot in enumerate(log.slots)}
    constant = float(np.broadcast_to(train.reward, train.chosen.shape).mean())
    fitted = calibration(model.predict(held), held.reward, constant)
    return Report(
        split,
        len(held),
        target,
        estimators.estimates(units),
        per_slot,
        diagnostics,
        diagnostics.warnings() + fitted.warnings(),
        fitted,
    )


def target_policy(model: ShrinkageModel, log: Log, options: Options) -> TargetPolicy:
    """The target policy; torch is imported only for the generator."""
    if isinstance(options.policy, Path):
        from adcraft.services.offline_eval.policy_file import FilePolicy

        return FilePolicy(options.policy, log)
    if options.policy == "thompson":
        return ThompsonPolicy(model, log, options.draws, options.seed)
    if options.policy == "greedy":
        return GreedyPolicy(model, log, options.epsilon)
    from adcraft.services.combinations import export
    from adcraft.services.offline_eval.generator_policy import GeneratorPolicy

    generator, version = export.load()
    return GeneratorPolicy(model, log, generator, version, min(options.draws, 256), options.seed)


def units_of(held: Log, model: ShrinkageModel, target: TargetPolicy, seed: int) -> Units:
    """The target's weights and the model's predictions for every held-out unit, one
    policy lookup per context. For whole-combination rewards the model's value of the
    policy is its mean over ``VALUE_DRAWS`` slates the policy samples."""
    shape = held.reward.shape
    probability, policy_value = np.empty(shape), np.empty(shape)
    order = np.argsort(held.context, kind="stable")
    contexts, starts = np.unique(held.context[order], return_index=True)
    ads = held.context_ad
    for context, rows in zip(contexts.tolist(), np.split(order, starts[1:]), strict=True):
        chosen = held.chosen[rows]
        if held.per_slot:
            marginals = target.marginals(context)
            policy_value[rows] = model.value(context, marginals)
            probability[rows] = np.column_stack([m[chosen[:, s]] for s, m in enumerate(marginals)])
        else:
            slates = target.sample(context, VALUE_DRAWS, np.random.default_rng([seed, context]))
            policy_value[rows] = model.slate_value(context, int(ads[context]), slates)
            probability[rows, 0] = target.joint(context, chosen)
    return Units(probability / held.propensity, held.reward, model.predict(held), policy_value)
