"""Connection and runtime settings, read from the environment in exactly one place.

Every variable starts with ``ADCRAFT_``; nested fields use ``__``, for example
``ADCRAFT_KAFKA__BOOTSTRAP_SERVERS`` or ``ADCRAFT_REDIS__PASSWORD``. Build a
:class:`Settings` once in an entry point and pass it down.
"""

from __future__ import annotations

import json
import os
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from adcraft.shared.copy_rules.settings import CopySettings
from adcraft.shared.runtime.connections import KafkaSettings, RedisSettings, TritonSettings
from adcraft.shared.runtime.experiment_settings import ExperimentSettings
from adcraft.shared.runtime.worker_settings import RequestSettings, RewardSettings

__all__ = [
    "CopySettings",
    "ExperimentSettings",
    "KafkaSettings",
    "RedisSettings",
    "RequestSettings",
    "RewardSettings",
    "Settings",
    "TritonSettings",
    "unknown_variables",
]


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
    experiment: ExperimentSettings = ExperimentSettings()
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
