"""orjson encoding and strict decoding of events; the only place bytes become events."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import annotated_types
import msgspec
import orjson
from pydantic import ValidationError

from adcraft.shared.contract.events import EVENT_TYPES, Event
from adcraft.shared.contract.text import UNPRINTABLE
from adcraft.shared.runtime.errors import InputError

E = TypeVar("E", bound=Event)


class DecodeError(InputError):
    """Bytes that are not a valid event; ``reason`` names the offending field."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def encode(event: Event) -> bytes:
    """Serialise an event to JSON bytes.

    >>> from adcraft.shared.contract.events import ClickRecorded
    >>> encode(ClickRecorded(event_id="e1", ts_ms=1, ad_id="a", request_id="r", user_id="u"))
    b'{"event_id":"e1","ts_ms":1,"ad_id":"a","request_id":"r","user_id":"u"}'
    """
    # Events hold only their declared fields (extras are ignored on the way in), and field
    # values are plain JSON types, so the instance dict is the payload.
    return orjson.dumps(event.__dict__)


def writer(event_type: type[E]) -> Callable[..., bytes]:
    """An encoder for hot paths that build events from fields adcraft computes itself: the
    fields go through the event's msgspec twin, so a missing or unknown field is an error
    (as it is for the model), without pydantic's validation cost; tests decode the output.

    >>> from adcraft.shared.contract.events import ClickRecorded
    >>> write = writer(ClickRecorded)
    >>> write(event_id="e1", ts_ms=1, ad_id="a", request_id="r", user_id="u")
    b'{"event_id":"e1","ts_ms":1,"ad_id":"a","request_id":"r","user_id":"u"}'
    >>> write(event_id="e1", ts_ms=1, ad_id="a", request_id="r")
    Traceback (most recent call last):
    ...
    TypeError: Missing required argument 'user_id'
    """
    struct, encode = _struct(event_type), msgspec.json.Encoder().encode
    return lambda **fields: encode(struct(**fields))


def decode(raw: bytes | None, event_type: type[E]) -> E:
    """Parse and validate ``raw`` as ``event_type``; raise :class:`DecodeError` if invalid,
    whatever the bytes: no other exception escapes.

    >>> from adcraft.shared.contract.events import ClickRecorded
    >>> decode(b'{"event_id":"e1","ts_ms":"x","ad_id":"a","request_id":"r","user_id":"u"}',
    ...        ClickRecorded)
    Traceback (most recent call last):
    ...
    adcraft.shared.contract.codec.DecodeError: ts_ms: Input should be a valid integer
    >>> decode(b'NaN', ClickRecorded)
    Traceback (most recent call last):
    ...
    adcraft.shared.contract.codec.DecodeError: expected a JSON object, got float
    """
    if raw is None:
        raise DecodeError("empty message")
    try:
        return event_type.model_validate_json(raw)
    except ValidationError as exc:
        raise DecodeError(_reason(exc)) from None
    except RecursionError:
        raise DecodeError("nested too deeply") from None
    except Exception as exc:  # a parser's own failure rejects the message, not the worker
        raise DecodeError(f"undecodable: {type(exc).__name__}: {exc}") from None


def _reason(exc: ValidationError) -> str:
    """The first error of a rejection, as ``field: message``."""
    first = exc.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        return f"invalid JSON: {first['ctx']['error']}"
    if first["type"] == "model_type":
        return f"expected a JSON object, got {type(first['input']).__name__}"
    field = ".".join(_shown(str(part)) for part in first["loc"]) or "<root>"
    return f"{field}: {first['msg'].removeprefix('Value error, ')}"


def _shown(part: str) -> str:
    r"""A field name as a reason may quote it: characters a reader would not see escaped.

    >>> _shown("ti\u202etle")
    'ti\\u202etle'
    """
    return "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) in UNPRINTABLE else c for c in part
    )


def reader(event_type: type[E]) -> Callable[[bytes | None], Any]:
    """A decoder for hot paths: same acceptance and reasons as :func:`decode`, several times
    faster. It returns a frozen msgspec struct with the event's fields (attribute
    access only, no methods); only bytes that struct rejects pay for :func:`decode`, which
    then explains why (or, on the rare input only pydantic accepts, returns the event).

    The struct rejects unknown fields: msgspec would skip them unread, accepting invalid
    UTF-8, numbers pydantic cannot parse and nesting past pydantic's depth limit in them, so
    a message from a newer producer takes the slow path to be accepted or rejected. An event
    with checks across its fields (a model validator) always takes the slow path.

    >>> from adcraft.shared.contract.events import ClickRecorded
    >>> read = reader(ClickRecorded)
    >>> read(b'{"event_id":"e1","ts_ms":1,"ad_id":"a","request_id":"r","user_id":"u"}').ts_ms
    1
    >>> read(b'{"event_id":"e1","ts_ms":-1,"ad_id":"a","request_id":"r","user_id":"u"}')
    Traceback (most recent call last):
    ...
    adcraft.shared.contract.codec.DecodeError: ts_ms: Input should be greater than or equal to 0
    """
    if event_type.__pydantic_decorators__.model_validators:  # checks no struct can mirror
        return lambda raw: decode(raw, event_type)
    fast = msgspec.json.Decoder(_struct(event_type)).decode

    def read(raw: bytes | None) -> Any:
        try:
            return fast(raw)  # type: ignore[arg-type]
        except Exception:  # whatever the struct refused, decode() accepts or explains
            return decode(raw, event_type)

    return read


_CONSTRAINTS = {
    annotated_types.MinLen: "min_length",
    annotated_types.MaxLen: "max_length",
    annotated_types.Ge: "ge",
    annotated_types.Gt: "gt",
    annotated_types.Le: "le",
    annotated_types.Lt: "lt",
}


def _struct(event_type: type[Event]) -> type[msgspec.Struct]:
    """The msgspec twin of an event model: its fields, types, defaults and bounds."""
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for name, info in event_type.model_fields.items():
        kind = _twin(info.annotation, info.metadata)
        fields.append((name, kind) if info.is_required() else (name, kind, info.default))
    # gc=False: events hold plain data, never a reference cycle.
    return msgspec.defstruct(
        event_type.__name__,
        fields,
        frozen=True,
        kw_only=True,
        gc=False,
        forbid_unknown_fields=True,
    )


def _twin(annotation: Any, rules: Iterable[Any] = ()) -> Any:
    """``annotation`` for msgspec: annotated_types bounds, at any depth, as ``msgspec.Meta``.

    >>> from adcraft.shared.contract.events import Slots
    >>> _twin(Slots)  # doctest: +NORMALIZE_WHITESPACE
    typing.Annotated[dict[typing.Annotated[str, msgspec.Meta(min_length=1, max_length=128)],
                          typing.Annotated[str, msgspec.Meta(min_length=1, max_length=128)]],
                     msgspec.Meta(min_length=1, max_length=32)]
    >>> _twin(Annotated[str, annotated_types.MaxLen(8)] | None)
    typing.Optional[typing.Annotated[str, msgspec.Meta(max_length=8)]]
    """
    if get_origin(annotation) is Annotated:
        base, *inner = get_args(annotation)
        return _twin(base, [*inner, *rules])
    if args := get_args(annotation):
        origin = get_origin(annotation)
        twins = tuple(_twin(arg) for arg in args)
        # typing.Union is subscripted with a tuple like any generic; types.UnionType is not.
        annotation = Union[twins] if origin in (Union, UnionType) else origin[twins]  # noqa: UP007
    bounds = {}
    for rule in rules:
        name = _CONSTRAINTS[type(rule)]
        bounds[name] = getattr(rule, name)
    return Annotated[annotation, msgspec.Meta(**bounds)] if bounds else annotation


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
