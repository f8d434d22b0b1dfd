"""The one place a Redis client is made: AUTH, TLS and socket deadlines as configured."""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff

from adcraft.shared.runtime.connections import RedisSettings


def client(settings: RedisSettings) -> redis.Redis:
    """A Redis client for ``settings``."""
    return redis.Redis(**_options(settings))


def async_client(settings: RedisSettings) -> redis.asyncio.Redis:
    """The asyncio twin of :func:`client`, for the request path: it does not retry (redis-py
    retries ten times by default, refused credentials included), since that path has its
    own deadlines and breaker and a retry only spends the deadline."""
    return redis.asyncio.Redis(**_options(settings), retry=AsyncRetry(NoBackoff(), 0))


def _options(settings: RedisSettings) -> dict[str, Any]:
    return dict(
        host=settings.host,
        port=settings.port,
        db=settings.db,
        username=settings.username,
        password=settings.password.get_secret_value() if settings.password else None,
        socket_timeout=settings.socket_timeout_s,
        socket_connect_timeout=settings.socket_connect_timeout_s,
        ssl=settings.ssl,
        ssl_ca_certs=settings.ssl_ca_certs,
        ssl_certfile=settings.ssl_certfile,
        ssl_keyfile=settings.ssl_keyfile,
        # redis-py's default today; stated so that TLS never silently stops verifying the
        # server, whether against ssl_ca_certs or the system CAs.
        ssl_cert_reqs="required",
    )
