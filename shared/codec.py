"""orjson encoding and strict decoding of events; the only place bytes become events."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import orjson
from pydantic import ValidationError

from shared.events import EVENT_TYPES, Event

E = TypeVar("E", bound=Event)


class DecodeError(ValueError):
    """Bytes that are not a valid event; ``reason`` names the offending field."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def encode(event: Event) -> bytes:
    """Serialise an event to JSON bytes.

    >>> from shared.events import ClickRecorded
    >>> encode(ClickRecorded(event_id="e1", ts_ms=1, ad_id="a", request_id="r", user_id="u"))
    b'{"event_id":"e1","ts_ms":1,"ad_id":"a","request_id":"r","user_id":"u"}'
    """
    # Events hold only their declared fields (extras are ignored on the way in), and field
    # values are plain JSON types, so the instance dict is the payload.
    return orjson.dumps(event.__dict__)


def encode_fields(fields: dict[str, object]) -> bytes:
    """Serialise an event given as its field dict, without building (or validating) the
    model: for hot paths whose fields adcraft computes itself; tests decode their output.

    >>> encode_fields({"event_id": "e1", "ts_ms": 1})
    b'{"event_id":"e1","ts_ms":1}'
    """
    return orjson.dumps(fields)


def decode(raw: bytes | None, event_type: type[E]) -> E:
    """Parse and validate ``raw`` as ``event_type``; raise :class:`DecodeError` if invalid.

    >>> from shared.events import ClickRecorded
    >>> decode(b'{"event_id":"e1","ts_ms":"x","ad_id":"a","request_id":"r","user_id":"u"}',
    ...        ClickRecorded)
    Traceback (most recent call last):
    ...
    shared.codec.DecodeError: ts_ms: Input should be a valid integer
    """
    if raw is None:
        raise DecodeError("empty message")
    try:
        return event_type.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            raise DecodeError(f"invalid JSON: {first['ctx']['error']}") from None
        if first["type"] == "model_type":
            kind = type(orjson.loads(raw)).__name__
            raise DecodeError(f"expected a JSON object, got {kind}") from None
        field = ".".join(str(part) for part in first["loc"]) or "<root>"
        raise DecodeError(f"{field}: {first['msg']}") from None


def export_schemas(directory: Path) -> list[Path]:
    """Write one JSON Schema per event type into ``directory``; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type in EVENT_TYPES:
        schema = event_type.model_json_schema()
        schema["$id"] = event_type.topic
        path = directory / f"{event_type.topic}.schema.json"
        path.write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        written.append(path)
    return written
