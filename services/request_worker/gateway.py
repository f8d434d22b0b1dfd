"""The request worker's calls to Triton: each under its deadline and its model's circuit
breaker, failures returned as :class:`~adcraft.services.request_worker.failures.Failure` values
(never raised), timings recorded. A model that refuses one request's input fails that
request only: no breaker counts it."""

from __future__ import annotations

import time
from collections.abc import Callable

from adcraft.services.request_worker import failures
from adcraft.services.request_worker.breaker import Breaker
from adcraft.services.request_worker.failures import Failure
from adcraft.services.request_worker.policy import Choice
from adcraft.shared.adapters.combination_client import CombinationClient
from adcraft.shared.adapters.copy_client import CopyClient, WrittenCopy
from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.contract.posteriors import AdPosterior
from adcraft.shared.runtime.settings import RequestSettings

Observe = Callable[[str, float], None]  # (model, seconds) of each call that was made
Trouble = Callable[[Failure, BaseException], None]  # a failure and what raised it


class Gateway:
    """The combination generator and the copy generator, behind breakers."""

    def __init__(
        self,
        combos: CombinationClient,
        copy: CopyClient,
        settings: RequestSettings,
        observe: Observe = lambda model, seconds: None,
        trouble: Trouble = lambda failure, exc: None,
    ) -> None:
        self.combos, self.copy, self._observe, self._trouble = combos, copy, observe, trouble
        self.breakers = {
            name: Breaker(settings.breaker_failures, settings.breaker_reset_s)
            for name in ("generator", "copy")
        }

    async def propose(
        self, ad: AdPosterior, seed: int, timeout_s: float
    ) -> tuple[Choice, str] | Failure:
        """The generator's draw for ``ad`` and the model version, or why there is none."""
        breaker = self.breakers["generator"]
        if not breaker.allow():
            return failures.GENERATOR_BREAKER
        started = time.perf_counter()
        try:
            proposed = await self.combos.propose([ad], k=1, seed=seed, timeout_s=timeout_s)
        except ValueError:  # this ad does not fit the served shape: not the model's fault
            return Failure("generator_shape", "the ad has more slots or candidates than served")
        except Exception as exc:  # unreachable, too slow, or a model error: fall back
            return self._failed("generator", exc)
        finally:
            self._observe("combination_generator", time.perf_counter() - started)
        breaker.succeeded()
        if not proposed.proposals[0]:
            return failures.NO_PROPOSAL
        first = proposed.proposals[0][0]
        return Choice(dict(first.elements), first.probability), proposed.version

    async def write(
        self,
        briefs: list[CopyBrief],
        variants: int,
        seeds: list[int],
        timeout_s: float,
        max_tokens: int = 40,
    ) -> list[WrittenCopy] | Failure:
        """Finished copy variants per brief (and the model version that wrote them), or why
        there are none."""
        breaker = self.breakers["copy"]
        if not breaker.allow():
            return failures.COPY_BREAKER
        started = time.perf_counter()
        try:
            written = await self.copy.write(briefs, variants, max_tokens, seeds, timeout_s)
        except Exception as exc:  # as above: the caller falls back
            return self._failed("copy", exc)
        finally:
            self._observe("copy_generator", time.perf_counter() - started)
        breaker.succeeded()
        return written

    def _failed(self, model: str, exc: Exception) -> Failure:
        failure = failures.of_triton(model, exc)
        if failure.code.endswith("_rejected"):  # the server answered: it is up
            self.breakers[model].succeeded()
        else:
            self.breakers[model].failed()
        self._trouble(failure, exc)
        return failure
