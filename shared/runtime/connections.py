"""Where Kafka, Redis and Triton are, and how to authenticate to them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from adcraft.shared.runtime.sections import Section, given, require_pair


class KafkaSettings(Section):
    """Where the Kafka cluster is and how to authenticate to it (SASL and/or mutual TLS)."""

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: str | None = None
    ssl_certificate_location: str | None = Field(
        default=None, description="Client certificate (PEM) for mutual TLS."
    )
    ssl_key_location: str | None = Field(
        default=None, description="Private key (PEM) of ssl_certificate_location."
    )
    ssl_key_password: SecretStr | None = None
    session_timeout_ms: int = Field(default=10_000, ge=1_000)
    heartbeat_interval_ms: int = Field(default=1_000, ge=100)
    topic_partitions: int = Field(default=4, ge=1)
    topic_replication: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _auth_fits_protocol(self) -> KafkaSettings:
        sasl = self.security_protocol.startswith("SASL_")
        tls = self.security_protocol.endswith("SSL")
        credentials = given(self, "sasl_username", "sasl_password")
        if credentials and self.sasl_mechanism is None:
            raise ValueError(f"{' and '.join(credentials)} need sasl_mechanism")
        if self.sasl_mechanism is not None and not sasl:
            raise ValueError("sasl_mechanism needs security_protocol SASL_PLAINTEXT or SASL_SSL")
        tls_files = given(
            self,
            "ssl_ca_location",
            "ssl_certificate_location",
            "ssl_key_location",
            "ssl_key_password",
        )
        if tls_files and not tls:
            raise ValueError(f"{', '.join(tls_files)} need security_protocol SSL or SASL_SSL")
        require_pair(self, "ssl_certificate_location", "ssl_key_location")
        if self.ssl_key_password is not None and self.ssl_key_location is None:
            raise ValueError("ssl_key_password needs ssl_key_location")
        return self

    def client_config(self) -> dict[str, Any]:
        """librdkafka properties shared by producers, consumers and admin clients."""
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            config["sasl.mechanism"] = self.sasl_mechanism
            config["sasl.username"] = self.sasl_username or ""
            config["sasl.password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else ""
            )
        if self.ssl_ca_location:
            config["ssl.ca.location"] = self.ssl_ca_location
        if self.ssl_certificate_location and self.ssl_key_location:
            config["ssl.certificate.location"] = self.ssl_certificate_location
            config["ssl.key.location"] = self.ssl_key_location
        if self.ssl_key_password:
            config["ssl.key.password"] = self.ssl_key_password.get_secret_value()
        return config


class RedisSettings(Section):
    """Redis endpoint; ``password`` enables AUTH and ``ssl`` TLS (``ssl_ca_certs`` pins the
    CA that signed the server, ``ssl_certfile``/``ssl_keyfile`` a client certificate)."""

    host: str = "127.0.0.1"
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: SecretStr | None = None
    ssl: bool = False
    ssl_ca_certs: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    socket_timeout_s: float = Field(default=5.0, gt=0, description="Deadline of each command.")
    socket_connect_timeout_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _tls_files_need_ssl(self) -> RedisSettings:
        tls_files = given(self, "ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
        if tls_files and not self.ssl:
            raise ValueError(f"{', '.join(tls_files)} need ssl=true")
        require_pair(self, "ssl_certfile", "ssl_keyfile")
        return self


class TritonSettings(Section):
    """Triton endpoints and the per-call deadline used by the clients."""

    grpc_url: str = "127.0.0.1:8001"
    http_url: str = "127.0.0.1:8000"
    timeout_s: float = Field(default=2.0, gt=0)
    copy_timeout_s: float = Field(default=60.0, gt=0, description="Deadline of copy generation.")
    combos_timeout_s: float = Field(
        default=0.05, gt=0, description="Deadline of a combination generator call."
    )
    combos_slots: int = Field(
        default=8, ge=1, le=16, description="Slots every generator request is padded to."
    )
    combos_candidates: int = Field(
        default=12, ge=1, le=32, description="Candidates per slot every request is padded to."
    )
    ssl: bool = False
