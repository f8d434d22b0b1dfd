"""One creative request → one outcome: a recommendation, or a dead letter with its reason.

The steps follow ../DESIGN (the loop, one request): the ad's posterior and cached copy in
one Redis round trip, the user's experiment arm, the combination generator (or Thompson
sampling in the worker), the copy for the chosen style, the recommendation. Each step has
its fallback, so every valid request is answered, by its deadline where that is possible;
the answer names the path that produced it. Nothing here knows the stream runtime: the
faust app (``app.py``) calls :meth:`Responder.answer` and publishes what it returns.
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from services.copywriter.postprocess import CopyRules
from services.copywriter.screen import CopyScreen
from services.experiments.assignment import arm_of, unit_hash
from services.request_worker import copy_choice
from services.request_worker.breaker import Breaker
from services.request_worker.gateway import Gateway
from services.request_worker.metrics import RequestMetrics
from services.request_worker.policy import Choice, candidates, contributions, thompson
from services.request_worker.store import RequestStore, Snapshot
from shared import codec
from shared.catalog_feed import Listings
from shared.copy_contract import CopyBrief
from shared.events import COPY_SLOT, AdListed, CreativeRequested, RecommendationPublished
from shared.settings import Settings

MODEL, THOMPSON, DEFAULT = "model", "thompson", "default"
Refill = tuple[str, str, str]  # ad, segment, copy style
TEMPLATES_KEPT = 10_000
_read_request = codec.reader(CreativeRequested)  # the msgspec fast path, same acceptance


@dataclass(frozen=True)
class Answer:
    """A recommendation to publish (or why the request is dead-lettered: ``kind`` and
    ``reason``), and the copy caches the copy agent should refill."""

    recommendation: RecommendationPublished | None = None
    kind: str = ""
    reason: str = ""
    refills: list[Refill] = field(default_factory=list)
    request: CreativeRequested | None = None
    arrived_late: bool = False


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
        listings: Listings,
        store: RequestStore,
        gateway: Gateway,
        metrics: RequestMetrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings, self.config = settings, settings.requests
        self.listings, self.store, self.gateway, self.metrics = listings, store, gateway, metrics
        self.redis = Breaker(self.config.breaker_failures, self.config.breaker_reset_s)
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
        arm = arm_of(request.user_id, self.config.arms, self.config.salt)
        # A clock ahead of ours must not stretch the deadline past what the sender asked.
        sent_ms = min(request.ts_ms, self._now_ms())
        deadline_ms = sent_ms + request.deadline_ms - self.config.deadline_margin_ms
        if self._now_ms() >= deadline_ms:
            self.metrics.deadline_misses.labels("arrival").inc()
            late = self._default(request, listing, arm, "past deadline on arrival")
            return replace(late, arrived_late=True)
        snapshot = await self._read(request, listing, deadline_ms)
        if isinstance(snapshot, str):
            return self._default(request, listing, arm, snapshot)
        seed = int(unit_hash("seed", request.request_id) * 2**62)
        ad = candidates(listing, snapshot.posterior, request.segment, self.prior_sd)
        choice, path, reason, versions = None, MODEL, "", {"reward": ad.model_version}
        if arm == "generator":
            budget = min(self._left_s(deadline_ms), self.settings.triton.timeout_s)
            choice, said = await self.gateway.propose(ad, seed, budget)
            if choice is None:
                path, reason = THOMPSON, said
            else:
                versions["generator"] = said
        if choice is None:
            choice = thompson(ad, np.random.default_rng(seed), self.config.thompson_draws)
        copy, refills = await self._copy(request, listing, choice, snapshot, deadline_ms, seed)
        explanation = contributions(ad, choice.elements)
        return Answer(
            self._recommendation(request, choice, arm, path, reason, copy, explanation, versions),
            refills=refills,
            request=request,
        )

    async def _read(
        self, request: CreativeRequested, listing: AdListed, deadline_ms: float
    ) -> Snapshot | str:
        """The ad's state from Redis, or why it could not be read."""
        if not self.redis.allow():
            return "redis: breaker open"
        try:
            snapshot = await asyncio.wait_for(
                self.store.read(request.ad_id, request.segment, listing.slots.get(COPY_SLOT, [])),
                self._left_s(deadline_ms),
            )
        except Exception as exc:  # down, too slow, or refused: the catalogue's default
            self.redis.failed()
            return f"redis: {type(exc).__name__}: {str(exc)[:200]}"
        self.redis.succeeded()
        return snapshot

    def _left_s(self, deadline_ms: float) -> float:
        return max(deadline_ms - self._now_ms(), 1.0) / 1000

    async def _copy(
        self,
        request: CreativeRequested,
        listing: AdListed,
        choice: Choice,
        snapshot: Snapshot,
        deadline_ms: float,
        seed: int,
    ) -> tuple[_Copy, list[Refill]]:
        """The copy of the chosen style: fresh (``copy_mode=fresh`` with room left), a
        cached variant, or the template; a missing or thin cache asks for a refill."""
        style = choice.elements.get(COPY_SLOT)
        if style is None:
            return _Copy(), []
        cached = snapshot.copy.get(style, [])
        result = (
            "hit" if len(cached) >= self.config.copy_cache_min else "thin" if cached else "miss"
        )
        self.metrics.copy_cache.labels(result).inc()
        refills = [] if result == "hit" else [(request.ad_id, request.segment, style)]
        brief = copy_choice.brief(listing, request.segment, style)
        left_ms = deadline_ms - self._now_ms()
        if self.config.copy_mode == "fresh" and left_ms >= self.config.fresh_min_ms:
            # Several variants, the first that post-processing kept served: one can be dropped.
            written = await self.gateway.write(
                [brief], self.config.copy_variants, [seed], left_ms / 1000
            )
            if not isinstance(written, str) and written[0]:
                text = written[0][0]
                return _Copy(text, copy_choice.variant_id(text), "fresh"), refills
        if cached:
            variant, text = copy_choice.pick(cached, request.request_id)
            return _Copy(text, variant, "cache"), refills
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
        self, request: CreativeRequested, listing: AdListed, arm: str, reason: str
    ) -> Answer:
        """The catalogue's default creative (no I/O): Redis is out of reach or the deadline
        has passed."""
        choice = Choice(listing.default_creative(), 1.0)
        copy = _Copy()
        if style := choice.elements.get(COPY_SLOT):
            copy = self._template(copy_choice.brief(listing, request.segment, style))
        return Answer(
            self._recommendation(request, choice, arm, DEFAULT, reason, copy, {}, {}),
            request=request,
        )

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
    ) -> RecommendationPublished:
        copied = {COPY_SLOT: copy.text} if copy.text else {}
        return RecommendationPublished(
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
            arm=arm,
            path=path,
            reason=reason[:256],
            contributions=explanation,
            model_versions=versions,
        )
