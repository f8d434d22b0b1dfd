"""Train the reward model on the first part of a log, evaluate a policy on the rest."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from services.offline_eval import estimators
from services.offline_eval.logged import Logged
from services.offline_eval.policy import MAX_COMBINATIONS, Combination, PolicyName, TargetPolicy
from services.reward_updater.reward_model import ElementRewardModel, Example


def catalog_of(logged: Sequence[Logged]) -> dict[str, dict[str, list[str]]]:
    """Every element seen per ad and slot."""
    catalog: dict[str, dict[str, set[str]]] = {}
    for row in logged:
        for slot, element in row.elements:
            catalog.setdefault(row.ad_id, {}).setdefault(slot, set()).add(element)
    return {ad: {slot: sorted(els) for slot, els in slots.items()} for ad, slots in catalog.items()}


class GreedyPolicy:
    """ε-greedy over whole combinations, ranked by the reward model (pairs included)."""

    name = "greedy"

    def __init__(self, model: ElementRewardModel, epsilon: float) -> None:
        self.model = model
        self.epsilon = epsilon
        self._cache: dict[tuple[str, str], tuple[dict, tuple]] = {}

    @property
    def description(self) -> str:
        """What the report calls it."""
        return f"{self.epsilon}-greedy over combinations"

    def predictions(self, ad: str, segment: str) -> tuple[dict, tuple]:
        """Predicted reward of every combination of ``ad``, and the best one."""
        if (ad, segment) not in self._cache:
            slots = self.model.catalog[ad]
            if np.prod([len(els) for els in slots.values()]) > MAX_COMBINATIONS:
                raise ValueError(f"ad {ad!r} has more than {MAX_COMBINATIONS} combinations")
            names = sorted(slots)
            predicted = {
                combo: self.model.predict(ad, segment, combo)
                for combo in (
                    tuple(zip(names, chosen, strict=True))
                    for chosen in itertools.product(*(slots[n] for n in names))
                )
            }
            self._cache[ad, segment] = (predicted, max(predicted, key=predicted.__getitem__))
        return self._cache[ad, segment]

    def value(self, rewards: Mapping[Combination, float], best: Combination) -> float:
        """Expected reward when each combination earns ``rewards`` and ``best`` is the one
        this policy exploits: (1 − ε)·r(best) + ε·mean(r)."""
        mean = float(np.mean(list(rewards.values())))
        return (1 - self.epsilon) * rewards[best] + self.epsilon * mean

    def expected(self, ad: str, segment: str, reward: Callable[[Combination], float]) -> float:
        """:meth:`value` of ``reward`` over every combination of ``ad``."""
        predicted, best = self.predictions(ad, segment)
        return self.value({combination: reward(combination) for combination in predicted}, best)

    def probability(self, row: Logged) -> float:
        """π(logged combination | context)."""
        predicted, best = self.predictions(row.ad_id, row.segment)
        return (1 - self.epsilon) * (row.elements == best) + self.epsilon / len(predicted)

    def probabilities(self, rows: Sequence[Logged]) -> np.ndarray:
        """:meth:`probability` of each row."""
        return np.array([self.probability(row) for row in rows])


def train(logged: Sequence[Logged], catalog: dict, batch: int = 2_000) -> ElementRewardModel:
    """A reward model fitted to ``logged`` (reward > 0 is a click)."""
    model = ElementRewardModel(catalog)
    examples = [
        Example(0, "click", str(i), (r.ad_id, r.segment, r.elements), r.reward > 0)
        for i, r in enumerate(logged)
    ]
    for start in range(0, len(examples), batch):
        model.learn(examples[start : start + batch])
    return model


@dataclass
class Report:
    """Rows trained and evaluated on, the estimates, the evaluated policy, its mean
    probability of the logged combinations, and the effective sample size (Σw)²/Σw² of
    its importance weights."""

    rows_train: int
    rows_evaluated: int
    estimates: dict[str, estimators.Estimate]
    policy: TargetPolicy
    mean_policy_propensity: float
    effective_sample_size: float


def evaluate(
    logged: Sequence[Logged],
    train_fraction: float = 0.5,
    epsilon: float = 0.1,
    samples: int = 200,
    policy: PolicyName = "greedy",
) -> Report:
    """The logging policy's observed value and ``policy``'s by IPS, SNIPS and DR: the
    ``epsilon``-greedy policy, or the exported combination generator."""
    split = int(len(logged) * train_fraction)
    held_out = logged[split:]
    if split == 0 or not held_out:
        raise ValueError("need rows both to train and to evaluate on")
    model = train(logged[:split], catalog_of(logged))
    positives = [r.reward for r in logged[:split] if r.reward > 0]
    scale = float(np.mean(positives)) if positives else 1.0
    target = _target(policy, model, epsilon)
    reward = np.array([r.reward for r in held_out])
    probability = target.probabilities(held_out)
    weight = probability / np.array([r.propensity for r in held_out])
    model_value: dict[tuple[str, str], float] = {}
    logged_pred, policy_pred = [], []
    for row in held_out:
        ad, segment = row.ad_id, row.segment
        if (ad, segment) not in model_value:
            predict = functools.partial(model.predict, ad, segment)
            model_value[ad, segment] = target.expected(ad, segment, predict)
        logged_pred.append(model.predict(ad, segment, row.elements) * scale)
        policy_pred.append(model_value[ad, segment] * scale)
    arrays = (reward, weight, np.array(logged_pred), np.array(policy_pred))
    estimates = {
        "logging_policy": estimators.bootstrap(lambda r: float(np.mean(r)), (reward,), samples),
        "ips": estimators.bootstrap(estimators.ips, arrays[:2], samples),
        "snips": estimators.bootstrap(estimators.snips, arrays[:2], samples),
        "dr": estimators.bootstrap(estimators.doubly_robust, arrays, samples),
    }
    ess = float(weight.sum() ** 2 / np.sum(weight**2)) if weight.any() else 0.0
    return Report(split, len(held_out), estimates, target, float(probability.mean()), ess)


def _target(name: PolicyName, model: ElementRewardModel, epsilon: float) -> TargetPolicy:
    """The policy called ``name``; the generator's weights are the exported ones (torch is
    imported only for it)."""
    if name == "greedy":
        return GreedyPolicy(model, epsilon)
    from services.combinations import export
    from services.offline_eval.generator_policy import GeneratorPolicy

    generator, version = export.load()
    return GeneratorPolicy(model, generator, version)
