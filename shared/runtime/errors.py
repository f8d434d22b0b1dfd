"""Every error adcraft raises on purpose has one root, and says what its catcher must do.

Anything else that escapes is a bug: a worker dead-letters the message it was applying and
logs the exception's type, never its text."""

from __future__ import annotations


class AdcraftError(Exception):
    """The root of adcraft's own errors."""


class FatalError(AdcraftError, RuntimeError):
    """The process cannot go on without risking wrong state: it exits non-zero with one log
    line, its checkpoints left as they were for a restart."""


class RecoverableError(AdcraftError, RuntimeError):
    """One call failed and the next may not: the caller answers its default or retries."""


class InputError(AdcraftError, ValueError):
    """Input that breaks the contract (a message, a file, a flag): refused with its reason,
    never retried."""
