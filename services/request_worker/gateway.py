"""The request worker's calls to Triton: each under its deadline and its model's circuit
breaker, failures returned as reasons (never raised), timings recorded."""

from __future__ import annotations

import time
from collections.abc import Callable

from services.request_worker.breaker import Breaker
from services.request_worker.policy import Choice
from shared.combination_client import CombinationClient
from shared.copy_client import CopyClient
from shared.copy_contract import CopyBrief
from shared.posteriors import AdPosterior
from shared.settings import RequestSettings

Observe = Callable[[str, float], None]  # (model, seconds) of each call that was made


class Gateway:
    """The combination generator and the copy generator, behind breakers."""

    def __init__(
        self,
        combos: CombinationClient,
        copy: CopyClient,
        settings: RequestSettings,
        observe: Observe = lambda model, seconds: None,
    ) -> None:
        self.combos, self.copy, self._observe = combos, copy, observe
        self.breakers = {
            name: Breaker(settings.breaker_failures, settings.breaker_reset_s)
            for name in ("generator", "copy")
        }

    async def propose(
        self, ad: AdPosterior, seed: int, timeout_s: float
    ) -> tuple[Choice | None, str]:
        """The generator's draw for ``ad`` and the model version, or None and why not."""
        breaker = self.breakers["generator"]
        if not breaker.allow():
            return None, "generator: breaker open"
        started = time.perf_counter()
        try:
            proposed = await self.combos.propose([ad], k=1, seed=seed, timeout_s=timeout_s)
        except ValueError as exc:  # this ad does not fit the served shape: not the model's fault
            return None, f"generator: {exc}"
        except Exception as exc:  # unreachable, too slow, or a model error: fall back
            breaker.failed()
            return None, f"generator: {type(exc).__name__}: {str(exc)[:200]}"
        finally:
            self._observe("combination_generator", time.perf_counter() - started)
        breaker.succeeded()
        if not proposed.proposals[0]:
            return None, "generator: no proposal"
        first = proposed.proposals[0][0]
        return Choice(dict(first.elements), first.probability), proposed.version

    async def write(
        self, briefs: list[CopyBrief], variants: int, seeds: list[int], timeout_s: float
    ) -> list[list[str]] | str:
        """Finished copy variants per brief, or why there are none."""
        breaker = self.breakers["copy"]
        if not breaker.allow():
            return "copy: breaker open"
        started = time.perf_counter()
        try:
            written = await self.copy.write(briefs, variants, seeds=seeds, timeout_s=timeout_s)
        except Exception as exc:  # as above: the caller falls back
            breaker.failed()
            return f"copy: {type(exc).__name__}: {str(exc)[:200]}"
        finally:
            self._observe("copy_generator", time.perf_counter() - started)
        breaker.succeeded()
        return [w.texts for w in written]
