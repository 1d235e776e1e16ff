"""The query string of `GET /api/v1/audit/events`, parsed into an EventQuery or rejected."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Final

from kubernaut_wfe.audit_service.store import FILTER_COLUMNS, EventQuery
from kubernaut_wfe.audit_service.timestamps import parse_time_bound
from kubernaut_wfe.audit_service.validation import InvalidRequestError
from kubernaut_wfe.datastorage.models import EventOutcome

DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 1000
_DIGITS = re.compile(r"[0-9]+")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _integer(parameters: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = parameters.get(name)
    if text is None:
        return default
    if not _DIGITS.fullmatch(text) or len(text) > 19 or not low <= int(text) <= high:
        bounds = f"from {low} to {high}" if high < 2**63 else f"of at least {low}"
        raise InvalidRequestError(
            f"{name}: must be an integer {bounds}, got {text!r}", {name: text}
        )
    return int(text)


def _time(parameters: Mapping[str, str], name: str, now: datetime) -> datetime | None:
    text = parameters.get(name)
    if not text:
        return None
    try:
        return parse_time_bound(text, now=now)
    except ValueError as error:
        raise InvalidRequestError(f"{name}: {error}", {name: str(error)}) from None


def parse_event_query(parameters: Mapping[str, str], now: datetime) -> EventQuery:
    """Filters (exact match), time bounds (RFC 3339 or relative to `now`) and the page."""
    for name, value in parameters.items():
        if "\x00" in value or _SURROGATE.search(value):
            message = "NUL characters and unpaired surrogates are not valid here"
            raise InvalidRequestError(f"{name}: {message}", {name: message})
    outcome = parameters.get("event_outcome")
    allowed_outcomes = [member.value for member in EventOutcome]
    if outcome is not None and outcome not in allowed_outcomes:
        message = f"must be one of {', '.join(allowed_outcomes)}, got {outcome!r}"
        raise InvalidRequestError(f"event_outcome: {message}", {"event_outcome": message})
    return EventQuery(
        equals={name: parameters[name] for name in FILTER_COLUMNS if name in parameters},
        since=_time(parameters, "since", now),
        until=_time(parameters, "until", now),
        limit=_integer(parameters, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=_integer(parameters, "offset", 0, 0, 2**63 - 1),
    )
