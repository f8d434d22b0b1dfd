"""Why a step of the request path fell back, as a value: a stable code and a short message.

The code and message are what consumers see (a recommendation's ``reason``, a dead
letter's headers) and what metrics count; the exception behind them is logged by the
worker, never published (it can quote addresses, keys or data). ``transient`` says whether
waiting can mend it: a refused password cannot, and turns readiness red.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import redis.exceptions

from adcraft.shared.adapters.triton_client import TritonError


@dataclass(frozen=True)
class Failure:
    """A fallback's cause (see the module docstring).

    >>> str(Failure("redis_timeout", "Redis did not answer in time"))
    'redis_timeout: Redis did not answer in time'
    """

    code: str
    message: str
    transient: bool = True

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


PAST_DEADLINE = Failure("deadline_passed", "the request arrived after its deadline")
REDIS_TIMEOUT = Failure("redis_timeout", "Redis did not answer in time")
REDIS_BREAKER = Failure("redis_breaker_open", "Redis failed repeatedly; retried shortly")
GENERATOR_BREAKER = Failure("generator_breaker_open", "the generator failed repeatedly")
COPY_BREAKER = Failure("copy_breaker_open", "the copy model failed repeatedly")
NO_PROPOSAL = Failure("generator_no_proposal", "the generator proposed nothing")
ALL_DROPPED = Failure("copy_all_dropped", "post-processing dropped every variant")
_AUTH = ("NOAUTH", "WRONGPASS", "NOPERM")


def of_redis(exc: BaseException) -> Failure:
    """The failure a Redis call raised.

    >>> of_redis(redis.exceptions.AuthenticationError("invalid password"))
    Failure(code='redis_auth', message='Redis refused our credentials', transient=False)
    >>> of_redis(asyncio.TimeoutError()).code
    'redis_timeout'
    """
    if isinstance(exc, redis.exceptions.AuthenticationError | redis.exceptions.AuthorizationError):
        return Failure("redis_auth", "Redis refused our credentials", transient=False)
    if isinstance(exc, redis.exceptions.ResponseError) and str(exc).startswith(_AUTH):
        return Failure("redis_auth", "Redis refused our credentials", transient=False)
    if isinstance(exc, TimeoutError | asyncio.TimeoutError | redis.exceptions.TimeoutError):
        return REDIS_TIMEOUT
    if isinstance(exc, redis.exceptions.ConnectionError | OSError):
        return Failure("redis_unavailable", "Redis is out of reach")
    return Failure("redis_error", "Redis answered with an error")


def of_triton(model: str, exc: BaseException) -> Failure:
    """The failure a call of ``model`` (``generator`` or ``copy``) raised; ``*_rejected``
    means the model refused this input (not the server's fault: no breaker counts it).

    >>> of_triton("generator", TritonError("x: non-finite input", "StatusCode.INVALID_ARGUMENT"))
    Failure(code='generator_rejected', message='the generator refused the input', transient=True)
    """
    status = exc.status if isinstance(exc, TritonError) else ""
    if isinstance(exc, TimeoutError | asyncio.TimeoutError) or "DEADLINE_EXCEEDED" in status:
        return Failure(f"{model}_timeout", f"the {model} did not answer in time")
    if "INVALID_ARG" in status:
        return Failure(f"{model}_rejected", f"the {model} refused the input")
    if "UNAVAILABLE" in status or isinstance(exc, OSError):
        return Failure(f"{model}_unavailable", f"the {model} is out of reach")
    return Failure(f"{model}_error", f"the {model} failed")
