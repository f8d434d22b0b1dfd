"""Conditions that stop the reward worker: each exits non-zero with one log line, its
checkpoints left as they were for a restart."""

from __future__ import annotations

from adcraft.shared.runtime.errors import FatalError


class OffsetRewound(FatalError):
    """A partition's log no longer holds what this worker applied (the broker lost or
    replaced data): going on would skip or double-count events."""


class StateUnrecoverable(FatalError):
    """A partition's checkpoint is gone and its events can no longer be replayed whole."""
