"""Structured logs: one JSON object per line on stderr, at the level settings give.

Call sites name what happened and pass plain fields; nothing here formats settings, so a
secret reaches a log only if a call site passes it (none does; a test reads a full run).

>>> import io, logging
>>> stream = io.StringIO()
>>> configure("INFO", stream)
>>> log = logging.getLogger("adcraft.example")
>>> record(log, logging.INFO, "assigned", partitions=[0, 1])
>>> line = orjson.loads(stream.getvalue())
>>> line["level"], line["logger"], line["event"], line["partitions"]
('INFO', 'adcraft.example', 'assigned', [0, 1])
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from typing import IO, Any

import orjson


class JsonLines(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, event, then its fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line["error"] = f"{type(error).__name__}: {error}"
        return orjson.dumps(line, default=str).decode()


def configure(level: str, stream: IO[str] | None = None) -> None:
    """Send every ``adcraft`` logger's records at ``level`` or above to ``stream`` (stderr)
    as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger("adcraft")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def record(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    """Log ``event`` with ``fields`` as JSON keys."""
    logger.log(level, event, extra={"fields": fields})


class Burst:
    """Counts occurrences by kind and logs them as one line at most every ``every_s``:
    a flood of bad messages becomes a line per interval, not a line per message."""

    def __init__(self, logger: logging.Logger, event: str, every_s: float = 10.0) -> None:
        self._logger, self._event, self._every_s = logger, event, every_s
        self._counts: Counter[str] = Counter()
        self._last = 0.0

    def add(self, kind: str, count: int = 1) -> None:
        """Count ``count`` occurrences of ``kind``; log the counts if the interval is over."""
        self._counts[kind] += count
        now = time.monotonic()
        if now - self._last >= self._every_s:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        """Log what was counted since the last line, if anything."""
        if self._counts:
            record(self._logger, logging.WARNING, self._event, counts=dict(self._counts))
            self._counts.clear()
        self._last = time.monotonic() if now is None else now
