"""One creative request → one outcome: a recommendation, or a dead letter with its reason.

The steps follow ../DESIGN (the loop, one request): the ad's posterior and cached copy in
one Redis round trip, the user's experiment arm, the combination generator (or Thompson
sampling in the worker, or the catalogue's default: the arm's policy), the copy for the
chosen style (the pools, or templates where the arm says so), the recommendation. Each step has
its fallback, so every valid request is answered, by its deadline where that is possible;
the answer names the path that produced it, and a fallback's cause as a code (see
:mod:`~adcraft.services.request_worker.failures`).

A request has one answer: its bytes are kept in Redis a while past its deadline, and a
redelivered request (at-least-once) is answered with them again. Nothing here knows the
stream runtime: the faust app (``app.py``) calls :meth:`Responder.answer` and publishes
what it returns.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from adcraft.services.experiments.assignment import arm_of, unit_hash
from adcraft.services.request_worker import copy_choice, failures
from adcraft.services.request_worker.breaker import Breaker
from adcraft.services.request_worker.failures import Failure
from adcraft.services.request_worker.gateway import Trouble
from adcraft.services.request_worker.parts import Parts
from adcraft.services.request_worker.policy import Choice, candidates, contributions, thompson
from adcraft.services.request_worker.store import Snapshot
from adcraft.shared.contract import codec, copy_pool
from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.contract.events import (
    COPY_SLOT,
    AdListed,
    CreativeRequested,
    RecommendationPublished,
)
from adcraft.shared.copy_rules.postprocess import CopyRules
from adcraft.shared.copy_rules.screen import CopyScreen
from adcraft.shared.runtime import logs
from adcraft.shared.runtime.settings import Settings

MODEL, THOMPSON, DEFAULT = "model", "thompson", "default"
Refill = tuple[str, str, str]  # ad, segment, copy style
TEMPLATES_KEPT = 10_000
BROKEN_LOGGED = 10_000  # (ad, segment)s whose broken posterior was logged, at most
_read_request = codec.reader(CreativeRequested)  # the msgspec fast path, same acceptance
_read_answer = codec.reader(RecommendationPublished)
log = logging.getLogger("adcraft.requests")


@dataclass(frozen=True)
class Answer:
    """A recommendation to publish, as its event and its bytes (or why the request is
    dead-lettered: ``kind`` and ``reason``), and the copy caches the copy agent should
    refill; ``replayed`` when it is the answer already given to this request."""

    recommendation: RecommendationPublished | None = None
    encoded: bytes = b""
    kind: str = ""
    reason: str = ""
    refills: list[Refill] = field(default_factory=list)
    request: CreativeRequested | None = None
    arrived_late: bool = False
    replayed: bool = False


@dataclass(frozen=True)
class _Copy:
    text: str = ""
    variant: str = ""
    source: str = "none"


class Responder:
    """Answers requests against the catalogue, Redis and Triton."""

    def __init__(
        self,
        settings: Settings,
        parts: Parts,
        clock: Callable[[], float] = time.time,
        trouble: Trouble = lambda failure, exc: None,
    ) -> None:
        self.settings, self.config = settings, settings.requests
        self.experiment, self.shares = settings.experiment, settings.experiment.shares()
        self.listings, self.store, self.gateway, self.metrics = parts
        self.redis = Breaker(self.config.breaker_failures, self.config.breaker_reset_s)
        self._trouble = trouble
        self._broken: set[tuple[str, str]] = set()
        self.prior_sd = math.sqrt(2 * settings.rewards.prior_variance)
        self.rules = CopyRules.from_settings(settings.copywriter)
        self.screen = CopyScreen.from_settings(settings.copywriter)
        self._clock = clock
        self._templates: dict[CopyBrief, _Copy] = {}

    def _now_ms(self) -> float:
        return self._clock() * 1000

    async def answer(self, raw: bytes | None) -> Answer:
        """The outcome of one request message."""
        try:
            request = _read_request(raw)
        except codec.DecodeError as exc:
            return Answer(kind="decode", reason=exc.reason)
        listing = self.listings.get(request.ad_id)
        if listing is None:
            return Answer(kind="unknown_ad", reason=f"unknown ad {request.ad_id!r}")
        arm = arm_of(request.user_id, self.shares, self.experiment.name)
        # A clock ahead of ours must not stretch the deadline past what the sender asked.
        sent_ms = min(request.ts_ms, self._now_ms())
        deadline_ms = sent_ms + request.deadline_ms - self.config.deadline_margin_ms
        if self._now_ms() >= deadline_ms:
            self.metrics.deadline_misses.labels("arrival").inc()
            # Kept unless the request was answered before: then that answer, replayed.
            late = self._default(request, listing, arm, failures.PAST_DEADLINE)
            return replace(await self._keep(late), arrived_late=True)
        snapshot = await self._read(request, listing, deadline_ms)
        if isinstance(snapshot, Failure):
            return await self._keep_default(request, listing, arm, snapshot)
        if snapshot.answered is not None:
            return self._replay(snapshot.answered, request)
        if snapshot.broken is not None:
            self._refused(request, snapshot.broken)
        seed = int(unit_hash("seed", request.request_id) * 2**62)
        ad = candidates(listing, snapshot.posterior, request.segment, self.prior_sd)
        choice, path, reason, versions = None, MODEL, "", {"reward": ad.model_version}
        policy = self.experiment.arms[arm]
        if policy.policy == "default":
            choice = Choice(listing.default_creative(), 1.0)
        elif policy.policy == "generator":
            budget = min(self._left_s(deadline_ms), self.settings.triton.timeout_s)
            proposed = await self.gateway.propose(ad, seed, budget)
            if isinstance(proposed, Failure):
                path, reason = THOMPSON, str(proposed)
            else:
                choice, versions["generator"] = proposed
        if choice is None:
            choice = thompson(ad, np.random.default_rng(seed), self.config.thompson_draws)
        copy, refills = await self._copy(request, listing, arm, choice, snapshot, deadline_ms, seed)
        explanation = contributions(ad, choice.elements)
        made = self._recommendation(request, choice, arm, path, reason, copy, explanation, versions)
        return await self._keep(replace(made, refills=refills))

    async def _read(
        self, request: CreativeRequested, listing: AdListed, deadline_ms: float
    ) -> Snapshot | Failure:
        """The ad's state from Redis, or why it could not be read."""
        if not self.redis.allow():
            return failures.REDIS_BREAKER
        styles = listing.slots.get(COPY_SLOT, [])
        try:
            snapshot = await asyncio.wait_for(
                self.store.read(request.ad_id, request.segment, styles, request.request_id),
                self._left_s(deadline_ms),
            )
        except TimeoutError as exc:  # the request's time ran out, not Redis's own
            return self._redis_failed(exc, counted=False)
        except Exception as exc:  # down, too slow, or refused: the catalogue's default
            return self._redis_failed(exc)
        self.redis.succeeded()
        return snapshot

    async def _keep(self, answer: Answer) -> Answer:
        """``answer``, kept in Redis as the request's one answer; the one kept before it
        if a redelivery of the request was answered first. Not kept when Redis fails. It
        may take Redis's own deadline, not the request's: one answer per request comes
        before the latency of a request whose state Redis just served."""
        request = answer.request
        if request is None:
            return answer
        if not self.redis.allow():
            self.metrics.unkept.inc()
            return answer
        keep_s = request.deadline_ms / 1000 + self.config.answers_kept_s
        try:
            kept = await asyncio.wait_for(
                self.store.answer(request.ad_id, request.request_id, answer.encoded, keep_s),
                self.settings.redis.socket_timeout_s,
            )
        except Exception as exc:
            self._redis_failed(exc)
            self.metrics.unkept.inc()
            return answer
        self.redis.succeeded()
        return answer if kept == answer.encoded else self._replay(kept, request)

    async def _keep_default(
        self, request: CreativeRequested, listing: AdListed, arm: str, failure: Failure
    ) -> Answer:
        """The catalogue's default for a request whose state Redis did not serve: kept when
        Redis was only slow (a redelivery must get it again), not when it refused or is out
        of reach (the keep would fail too)."""
        default = self._default(request, listing, arm, failure)
        if failure == failures.REDIS_TIMEOUT:
            return await self._keep(default)
        self.metrics.unkept.inc()
        return default

    def _replay(self, encoded: bytes, request: CreativeRequested) -> Answer:
        """The answer already given to ``request``, published again byte for byte."""
        self.metrics.replays.inc()
        given = _read_answer(encoded)
        return Answer(given, encoded, request=request, arrived_late=True, replayed=True)

    def _redis_failed(self, exc: BaseException, counted: bool = True) -> Failure:
        """The failure ``exc`` is; ``counted`` toward the breaker unless only the request's
        own deadline ran out (a busy worker is no sign of a sick Redis, and an open breaker
        keeps no answer, so a redelivery would be answered anew)."""
        if counted:
            self.redis.failed()
        failure = failures.of_redis(exc)
        self._trouble(failure, exc)
        return failure

    def _refused(self, request: CreativeRequested, problem: str) -> None:
        """A stored posterior read as the prior: counted each time, logged once."""
        self.metrics.broken_posteriors.inc()
        key = (request.ad_id, request.segment)
        if key not in self._broken:
            if len(self._broken) >= BROKEN_LOGGED:
                self._broken.clear()
            self._broken.add(key)
            logs.record(
                log,
                logging.WARNING,
                "posterior_refused",
                ad=request.ad_id,
                segment=request.segment,
                problem=problem,
            )

    def _left_s(self, deadline_ms: float) -> float:
        return max(deadline_ms - self._now_ms(), 1.0) / 1000

    async def _copy(
        self,
        request: CreativeRequested,
        listing: AdListed,
        arm: str,
        choice: Choice,
        snapshot: Snapshot,
        deadline_ms: float,
        seed: int,
    ) -> tuple[_Copy, list[Refill]]:
        """The copy of the chosen style: the template for an arm that serves templates;
        else fresh (``copy_mode=fresh`` with room left), a pooled variant, or the template;
        a pool that is not a hit asks to be written."""
        style = choice.elements.get(COPY_SLOT)
        brief = None if style is None else copy_choice.brief(listing, request.segment, style)
        if style is None or brief is None:  # no copy slot, or no fact a copy may name
            return _Copy(), []
        if self.experiment.arms[arm].copy_source == "template":
            return self._template(brief), []
        pool, decisions = snapshot.pools.get(style, (None, {}))
        review_required = self.settings.copywriter.review_required
        cached, result = copy_choice.pooled(
            (pool, decisions), brief, review_required, self.config.copy_cache_min
        )
        self.metrics.copy_cache.labels(result).inc()
        refills = [] if result == "hit" else [(request.ad_id, request.segment, style)]
        left_ms = deadline_ms - self._now_ms()
        if self.config.copy_mode == "fresh" and left_ms >= self.config.fresh_min_ms:
            # One variant: the model writes several candidates and returns the best it kept.
            written = await self.gateway.write([brief], 1, [seed], left_ms / 1000)
            if not isinstance(written, Failure) and written[0].texts:
                text = written[0].texts[0]
                variant = copy_choice.variant_id(text)
                if copy_pool.allowed(variant, decisions, review_required):  # vetoes hold
                    return _Copy(text, variant, "fresh"), refills
        if cached:
            variant, text = copy_choice.pick(cached, request.request_id)
            return _Copy(text, variant, "pool"), refills
        return self._template(brief), refills

    def _template(self, brief: CopyBrief) -> _Copy:
        """The template copy of ``brief`` (remembered: the same brief, the same text)."""
        if brief not in self._templates:
            if len(self._templates) >= TEMPLATES_KEPT:
                self._templates.clear()
            text = copy_choice.template(brief, self.rules, self.screen)
            # No template survives the screen (an offensive product name): no copy at all.
            made = _Copy(text, copy_choice.variant_id(text), "template") if text else _Copy()
            self._templates[brief] = made
        return self._templates[brief]

    def _default(
        self, request: CreativeRequested, listing: AdListed, arm: str, why: Failure
    ) -> Answer:
        """The catalogue's default creative (no I/O): Redis is out of reach or the deadline
        has passed."""
        choice = Choice(listing.default_creative(), 1.0)
        copy = _Copy()
        style = choice.elements.get(COPY_SLOT)
        if style and (brief := copy_choice.brief(listing, request.segment, style)):
            copy = self._template(brief)
        return self._recommendation(request, choice, arm, DEFAULT, str(why), copy, {}, {})

    def _recommendation(
        self,
        request: CreativeRequested,
        choice: Choice,
        arm: str,
        path: str,
        reason: str,
        copy: _Copy,
        explanation: dict[str, float],
        versions: dict[str, str],
    ) -> Answer:
        copied = {COPY_SLOT: copy.text} if copy.text else {}
        recommendation = RecommendationPublished(
            event_id=request.request_id,
            ts_ms=int(self._now_ms()),
            ad_id=request.ad_id,
            request_id=request.request_id,
            user_id=request.user_id,
            segment=request.segment,
            elements=choice.elements,
            copy_text=copied,
            copy_variant={COPY_SLOT: copy.variant} if copy.text else {},
            copy_source=copy.source,
            # Exact, however small; only a product that underflowed to 0 is raised to the
            # smallest normal float (the contract needs > 0).
            propensity=min(max(choice.propensity, sys.float_info.min), 1.0),
            experiment=self.experiment.name,
            arm=arm,
            path=path,
            reason=reason[:256],
            contributions=explanation,
            model_versions=versions,
        )
        return Answer(recommendation, codec.encode(recommendation), request=request)
