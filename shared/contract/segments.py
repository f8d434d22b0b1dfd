"""The user segments adcraft personalises for: one list for the copy brief, the simulator
and the request path."""

from __future__ import annotations

SEGMENTS = ("young", "adult", "senior")
