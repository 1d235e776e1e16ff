"""Request validation: the generated models of our spec file, plus the server rules it describes.

The schema part is `AuditEventRequest` (generated from `api/openapi/data-storage-v1.yaml`),
validated in strict JSON mode so that a string is never coerced into a number or a date. The
rules the schema cannot express, listed in the spec's description, follow: formats stricter than
pydantic's parsers (RFC 3339, canonical UUIDs), the discriminator equal to the envelope's
`event_type`, the `workflowexecution` category, retired ADR-034 names, the timestamp window, and
what the databases cannot hold (NUL characters, lone surrogates, integers beyond 64 bits).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, NoReturn

from pydantic import ValidationError

from kubernaut_wfe.audit_service.timestamps import format_rfc3339, parse_rfc3339
from kubernaut_wfe.constants import AUDIT_CATEGORY
from kubernaut_wfe.datastorage.models import AuditEventRequest

MAX_BATCH_SIZE: Final = 1000
MAX_FUTURE_SKEW: Final = timedelta(minutes=5)
MAX_EVENT_AGE: Final = timedelta(days=7)
_MAX_REPORTED_ERRORS: Final = 20
_INT64_RANGE: Final = range(-(2**63), 2**63)

RETIRED_EVENT_TYPES: Final = {
    "workflow.selection.completed": "workflowexecution.selection.completed",
    "execution.workflow.started": "workflowexecution.execution.started",
    "workflow.started": "workflowexecution.workflow.started",
    "workflow.completed": "workflowexecution.workflow.completed",
    "workflow.failed": "workflowexecution.workflow.failed",
}
"""Pre-ADR-034 v1.5 names of the controller's events, and the names that replaced them."""

_DATE_TIME_FIELDS: Final = (
    ("event_timestamp",),
    ("event_data", "started_at"),
    ("event_data", "completed_at"),
)
_UUID_FIELDS: Final = (("parent_event_id",),)
_INT64_FIELDS: Final = (("duration_ms",),)
_SURROGATE = re.compile("[\ud800-\udfff]")
_MAY_BE_UNSTORABLE = re.compile(r"\\u(0000|[dD][89a-fA-F])")
"""In ASCII-escaped JSON: a NUL or a surrogate (a lone one, or half of a pair: then we look)."""
_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


@dataclass
class InvalidRequestError(Exception):
    """A request the service rejects with 400; `detail` names the field(s)."""

    detail: str
    field_errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.detail


class PayloadTooLargeError(InvalidRequestError):
    """A request the service refuses with 413: an event or a body over its size bound."""


MAX_EVENT_BYTES = 256 * 1024
"""The largest audit event (as sent) the service stores; the controller's are about 2 KiB.
Without a bound one client could store a 60 MB event and make every page that holds it as large."""
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def check_event_sizes(sizes: list[int]) -> None:
    """PayloadTooLargeError naming the first event over `MAX_EVENT_BYTES` (sizes as sent)."""
    for index, size in enumerate(sizes):
        if size > MAX_EVENT_BYTES:
            where = "the event" if len(sizes) == 1 else f"event [{index}]"
            raise PayloadTooLargeError(
                f"{where} is {size} bytes; an audit event may be at most {MAX_EVENT_BYTES} bytes"
            )


def parse_events(body: bytes) -> tuple[Any, list[int]]:
    """The body decoded as UTF-8 JSON, strictly (no NaN, no Infinity; InvalidRequestError if
    not), and the size of each event in it as sent (the body itself, or
    each element of a top-level array), measured while parsing instead of by re-serialising
    every event. A body the quick path does not take is left to `_parse_text` to report."""
    text = _utf8(body)
    start = _skip(text, 0)
    if not text.startswith("[", start):
        return _parse_text(text), [len(body)]
    try:
        items: list[Any] = []
        sizes: list[int] = []
        index = _skip(text, start + 1)
        closed = text.startswith("]", index)
        while not closed:
            item, end = _DECODER.raw_decode(text, index)
            items.append(item)
            sizes.append(_byte_length(text, index, end))
            index = _skip(text, end)
            if text.startswith(",", index):
                index = _skip(text, index + 1)
                continue
            closed = text.startswith("]", index)
            if not closed:
                return _parse_text(text), []
        if _skip(text, index + 1) == len(text):
            return items, sizes
    except (ValueError, RecursionError):
        pass
    return _parse_text(text), []


def _skip(text: str, index: int) -> int:
    """The index of the first non-whitespace character from `index` on."""
    found = _WHITESPACE.match(text, index)
    assert found is not None  # `*`: it always matches
    return found.end()


def _byte_length(text: str, start: int, end: int) -> int:
    characters = end - start
    # Encoding costs a copy: only a span that could exceed the bound is measured in bytes.
    return characters if characters * 4 <= MAX_EVENT_BYTES else len(text[start:end].encode())


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    # `1e999` would be an infinity, which no JSON can hold: PostgreSQL refuses it (a 500), and
    # SQLite stores it, to answer every later query with a body that is not JSON.
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text} is beyond the range of a double")
    return value


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidRequestError(f"malformed JSON body: {error}") from None


def _parse_text(text: str) -> Any:
    try:
        return _DECODER.decode(text)
    except ValueError as error:
        raise InvalidRequestError(f"malformed JSON body: {error}") from None
    except RecursionError:
        raise InvalidRequestError("malformed JSON body: nested too deeply") from None


def _path_text(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.removeprefix(".")


def _lookup(document: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        if not isinstance(document, dict) or name not in document:
            return None
        document = document[name]
    return document


def _unstorable_text(document: Any) -> Iterator[tuple[str, str]]:
    pending: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while pending:  # iterative: a deeply nested payload must not exhaust the stack
        value, path = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                yield _path_text(path), "NUL characters cannot be stored"
            elif _SURROGATE.search(value):
                yield _path_text(path), "unpaired UTF-16 surrogates are not valid Unicode text"
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                pending += [(item, (*path, key)), (key, (*path, "<key>"))]
        elif isinstance(value, list):
            pending += reversed([(item, (*path, index)) for index, item in enumerate(value)])


def _schema_errors(event: dict[str, Any], encoded: str) -> Iterator[tuple[str, str]]:
    try:
        AuditEventRequest.model_validate_json(encoded, strict=True)
    except ValidationError as error:
        tag = _lookup(event, ("event_data", "event_type"))
        for problem in error.errors(include_url=False):
            location = tuple(problem["loc"])
            # A tagged union puts the tag into the error location; the wire has no such level.
            if location[:1] == ("event_data",) and location[1:2] == (tag,):
                location = location[:1] + location[2:]
            yield _path_text(location), problem["msg"]


def _format_errors(event: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for path in _DATE_TIME_FIELDS:
        value = _lookup(event, path)
        if isinstance(value, str):
            try:
                parse_rfc3339(value)
            except ValueError as error:
                yield _path_text(path), str(error)
    for path in _UUID_FIELDS:
        value = _lookup(event, path)
        if isinstance(value, str) and not _CANONICAL_UUID.fullmatch(value):
            yield _path_text(path), f"{value!r} is not a UUID in its canonical 8-4-4-4-12 form"
    for path in _INT64_FIELDS:
        value = _lookup(event, path)
        if isinstance(value, int) and value not in _INT64_RANGE:
            yield _path_text(path), f"{value} is outside the 64-bit integer range"


def _rule_errors(event: dict[str, Any], now: datetime) -> Iterator[tuple[str, str]]:
    event_type, tag = event["event_type"], _lookup(event, ("event_data", "event_type"))
    if tag != event_type:
        yield (
            "event_data.event_type",
            f"{tag!r} does not equal the event's event_type {event_type!r}",
        )
    if event_type.startswith(f"{AUDIT_CATEGORY}.") and event["event_category"] != AUDIT_CATEGORY:
        yield (
            "event_category",
            f"a {AUDIT_CATEGORY}.* event has event_category {AUDIT_CATEGORY!r}, "
            f"not {event['event_category']!r}",
        )
    timestamp = parse_rfc3339(event["event_timestamp"])
    if timestamp > now + MAX_FUTURE_SKEW:
        yield (
            "event_timestamp",
            (
                f"{event['event_timestamp']} is more than 5 minutes in the future "
                f"(server time {format_rfc3339(now)})"
            ),
        )
    elif timestamp < now - MAX_EVENT_AGE:
        yield (
            "event_timestamp",
            (
                f"{event['event_timestamp']} is more than 7 days old "
                f"(server time {format_rfc3339(now)})"
            ),
        )


def event_errors(event: Any, now: datetime) -> list[tuple[str, str]]:
    """Every (field path, message) that makes `event` an invalid AuditEventRequest."""
    if not isinstance(event, dict):
        return [("", f"an audit event is a JSON object, not {type(event).__name__}")]
    event_type = event.get("event_type")
    if isinstance(event_type, str) and event_type in RETIRED_EVENT_TYPES:
        return [
            (
                "event_type",
                f"{event_type!r} is a retired event type; ADR-034 v1.5 names it "
                f"{RETIRED_EVENT_TYPES[event_type]!r}",
            )
        ]
    # Strict validation needs JSON input (from Python objects it would demand enum instances).
    try:
        encoded = json.dumps(event)
    except RecursionError:
        return [("", "the event is nested too deeply")]
    errors = list(_unstorable_text(event)) if _MAY_BE_UNSTORABLE.search(encoded) else []
    errors += _schema_errors(event, encoded)
    if not errors:
        errors = list(_format_errors(event))
    if errors:
        return errors
    return list(_rule_errors(event, now))


def _raise_for(errors: list[tuple[str, str]]) -> None:
    if not errors:
        return
    shown = errors[:_MAX_REPORTED_ERRORS]
    detail = "; ".join(f"{path}: {message}" if path else message for path, message in shown)
    if len(errors) > len(shown):
        detail += f"; and {len(errors) - len(shown)} more"
    raise InvalidRequestError(detail, {path or "(body)": message for path, message in shown})


def validate_event(document: Any, now: datetime) -> dict[str, Any]:
    """The body of `createAuditEvent`, validated; InvalidRequestError otherwise."""
    _raise_for(event_errors(document, now))
    result: dict[str, Any] = document
    return result


def validate_batch(document: Any, now: datetime) -> list[dict[str, Any]]:
    """The body of `createAuditEventsBatch`, validated as a whole; InvalidRequestError otherwise."""
    if not isinstance(document, list):
        raise InvalidRequestError(
            f"a batch is a JSON array of audit events, not {type(document).__name__}"
        )
    if not 1 <= len(document) <= MAX_BATCH_SIZE:
        raise InvalidRequestError(
            f"a batch holds 1 to {MAX_BATCH_SIZE} events, not {len(document)}"
        )
    errors: list[tuple[str, str]] = []
    for index, event in enumerate(document):
        errors += [
            (f"[{index}]" + (f".{path}" if path else ""), message)
            for path, message in event_errors(event, now)
        ]
        if len(errors) > _MAX_REPORTED_ERRORS:
            break
    _raise_for(errors)
    return document
