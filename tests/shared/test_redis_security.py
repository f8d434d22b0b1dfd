"""Redis with AUTH and TLS, reached through Settings and ``redis_client.client``.

A real ``redis-server`` serves TLS only (``--port 0``), with a password and a server
certificate signed by a CA made here; it also requires a client certificate, so
``ssl_certfile``/``ssl_keyfile`` are exercised too.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from adcraft.services.stack.process import free_port, minimal_env, port_open
from adcraft.shared.adapters import redis_client
from adcraft.shared.runtime.settings import RedisSettings, Settings


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=30)


def _signed(ca: Path, name: str, usage: str, cn: str) -> tuple[Path, Path]:
    """A P-256 key and a certificate for it signed by ``ca``; returns (cert, key)."""
    folder = ca.parent
    key, csr, cert = folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.crt"
    ext = folder / f"{name}.ext"
    ext.write_text(f"subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage={usage}\n")
    _openssl(
        *("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
        *("-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={cn}"),
    )
    _openssl(
        *("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", folder / "ca.key"),
        *("-CAcreateserial", "-days", "1", "-out", cert, "-extfile", ext),
    )
    return cert, key


@dataclass
class TlsRedis:
    """A running TLS-only redis-server and what a client needs to reach it."""

    port: int
    password: str
    ca: Path
    client_cert: Path
    client_key: Path

    def settings(self, **overrides: object) -> RedisSettings:
        values: dict[str, object] = {
            "port": self.port,
            "password": self.password,
            "ssl": True,
            "ssl_ca_certs": str(self.ca),
            "ssl_certfile": str(self.client_cert),
            "ssl_keyfile": str(self.client_key),
            "socket_timeout_s": 2.0,
            "socket_connect_timeout_s": 2.0,
        }
        return RedisSettings.model_validate(values | overrides)


def _refused_client(settings: RedisSettings) -> redis.Redis:
    """A client that reports a refused connection at once (redis-py retries with backoff)."""
    client = redis_client.client(settings)
    client.set_retry(Retry(NoBackoff(), 0))
    return client


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedis]:
    folder = tmp_path_factory.mktemp("redis-tls")
    ca = folder / "ca.crt"
    _openssl(
        *("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
        *("-nodes", "-keyout", folder / "ca.key", "-out", ca, "-days", "1"),
        *("-subj", "/CN=adcraft test CA", "-addext", "basicConstraints=critical,CA:TRUE"),
        *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
    )
    server_cert, server_key = _signed(ca, "server", "serverAuth", "127.0.0.1")
    client_cert, client_key = _signed(ca, "client", "clientAuth", "adcraft")
    port, password = free_port(), secrets.token_urlsafe(24)
    binary = shutil.which("redis-server")
    assert binary is not None, "redis-server not found: install the Debian package"
    argv = [
        *(binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1"),
        *("--tls-cert-file", server_cert, "--tls-key-file", server_key),
        *("--tls-ca-cert-file", ca, "--tls-auth-clients", "yes"),
        *("--requirepass", password, "--save", "", "--appendonly", "no", "--dir", folder),
    ]
    with open(folder / "redis.log", "wb") as log:
        server = subprocess.Popen(
            [str(arg) for arg in argv], stdout=log, stderr=subprocess.STDOUT, env=minimal_env()
        )
    try:
        deadline = time.monotonic() + 15
        while not port_open(port):
            assert server.poll() is None, (folder / "redis.log").read_text()
            assert time.monotonic() < deadline, "redis-server TLS port not open after 15s"
            time.sleep(0.05)
        yield TlsRedis(port, password, ca, client_cert, client_key)
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_ping_set_get_over_tls_with_password(tls_redis, monkeypatch):
    environment = {
        "PORT": str(tls_redis.port),
        "PASSWORD": tls_redis.password,
        "SSL": "true",
        "SSL_CA_CERTS": str(tls_redis.ca),
        "SSL_CERTFILE": str(tls_redis.client_cert),
        "SSL_KEYFILE": str(tls_redis.client_key),
    }
    for name, value in environment.items():
        monkeypatch.setenv(f"ADCRAFT_REDIS__{name}", value)
    settings = Settings()
    assert settings.plaintext_credentials() == []
    # Port 0: the server has no plaintext listener, so any reply came over verified TLS.
    client = redis_client.client(settings.redis)
    try:
        assert client.ping()
        client.set("adcraft:test:tls", b"ok")
        assert client.get("adcraft:test:tls") == b"ok"
    finally:
        client.close()


@pytest.mark.parametrize("password", ["wrong-password", None])
def test_a_wrong_or_missing_password_is_refused(tls_redis, password):
    client = _refused_client(tls_redis.settings(password=password))
    with pytest.raises(redis.AuthenticationError):
        client.ping()
    client.close()


def test_a_client_without_the_ca_fails_verification(tls_redis):
    client = _refused_client(tls_redis.settings(ssl_ca_certs=None))
    with pytest.raises(redis.ConnectionError, match="(?i)certificate verify failed") as caught:
        client.ping()
    assert not isinstance(caught.value, redis.AuthenticationError)
    client.close()


def test_a_client_without_a_certificate_is_refused(tls_redis):
    client = _refused_client(tls_redis.settings(ssl_certfile=None, ssl_keyfile=None))
    with pytest.raises(redis.ConnectionError) as caught:
        client.ping()
    assert not isinstance(caught.value, redis.AuthenticationError)
    client.close()


def test_plaintext_is_not_served(tls_redis):
    plain = tls_redis.settings(ssl=False, ssl_ca_certs=None, ssl_certfile=None, ssl_keyfile=None)
    client = _refused_client(plain)
    with pytest.raises(redis.ConnectionError):
        client.ping()
    client.close()


def test_client_passes_tls_and_socket_deadlines():
    settings = RedisSettings(
        ssl=True,
        ssl_ca_certs="/ca.crt",
        ssl_certfile="/c.crt",
        ssl_keyfile="/c.key",
        socket_timeout_s=1.5,
        socket_connect_timeout_s=0.5,
    )
    kwargs = redis_client.client(settings).connection_pool.connection_kwargs
    assert kwargs["ssl_ca_certs"] == "/ca.crt"
    assert (kwargs["ssl_certfile"], kwargs["ssl_keyfile"]) == ("/c.crt", "/c.key")
    assert kwargs["ssl_cert_reqs"] == "required"
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (1.5, 0.5)
