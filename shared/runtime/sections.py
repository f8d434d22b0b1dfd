"""What every settings section shares: unknown fields refused, values never echoed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    # A mistyped secret variable must not be echoed into logs by its validation error.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


def given(section: BaseModel, *names: str) -> list[str]:
    """Which of the fields ``names`` are set (not None)."""
    return [name for name in names if getattr(section, name) is not None]


def require_pair(section: BaseModel, first: str, second: str) -> None:
    """Raise unless both fields or neither are set (errors name fields, never values)."""
    present = given(section, first, second)
    if len(present) == 1:
        raise ValueError(f"{first} and {second} must be set together (only {present[0]} is)")
