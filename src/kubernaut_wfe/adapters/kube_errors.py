"""Errors of the Kubernetes API, parsed from its `Status` bodies."""

# The error classes are named after the Status reasons they stand for (NotFound, Conflict, ...).
# ruff: noqa: N818

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

MAX_MESSAGE_CHARS = 500
"""A body that is not a Status (a proxy's HTML page) is cut to this length in messages."""


@dataclass(frozen=True)
class StatusCause:
    """One cause of a rejection, e.g. a field that failed validation."""

    reason: str
    message: str
    field: str


class ApiError(Exception):
    """The API server (or the way to it) refused a request."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        details: Mapping[str, Any] | None = None,
        causes: tuple[StatusCause, ...] = (),
        body: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {reason}: {message}" if status else f"{reason}: {message}")
        self.status = status
        """HTTP status code; 0 when no response arrived."""
        self.reason = reason
        """The Status `reason` (e.g. `AlreadyExists`), else the HTTP reason phrase."""
        self.message = message
        self.details: Mapping[str, Any] = details or {}
        self.causes = causes
        self.body: Mapping[str, Any] = body or {}
        """The Status object as received (empty if the body was not a Status)."""


class NotFound(ApiError):
    """404: the object (or its namespace, or its resource type) does not exist."""


class Conflict(ApiError):
    """409: the write lost a race; re-read and decide again (never retried blindly)."""


class AlreadyExists(Conflict):
    """409 `AlreadyExists`: a CREATE met an object of the same name."""


class Unauthorized(ApiError):
    """401: the credentials were not accepted."""


class Forbidden(ApiError):
    """403: RBAC, an admission webhook or a ResourceQuota said no."""


class BadRequest(ApiError):
    """400: the request is malformed."""


class Invalid(ApiError):
    """422: the object failed validation; `causes` name the fields."""


class Gone(ApiError):
    """410: a resourceVersion or `continue` token expired; start the list over."""


class Transient(ApiError):
    """5xx, 429, a timeout or a broken connection: worth retrying after a while."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        retry_after: float | None = None,
        details: Mapping[str, Any] | None = None,
        causes: tuple[StatusCause, ...] = (),
        body: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(status, reason, message, details=details, causes=causes, body=body)
        self.retry_after = retry_after
        """Seconds the server asked us to wait, if it said."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
}


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def _causes(details: Mapping[str, Any]) -> tuple[StatusCause, ...]:
    raw = details.get("causes")
    if not isinstance(raw, list):
        return ()
    return tuple(
        StatusCause(
            reason=str(item.get("reason", "")),
            message=str(item.get("message", "")),
            field=str(item.get("field", "")),
        )
        for item in raw
        if isinstance(item, dict)
    )


def error_from_response(
    status: int, reason_phrase: str, content: bytes, *, retry_after: float | None = None
) -> ApiError:
    """The error for a non-2xx response: its class from the status code, its text from the body."""
    body: dict[str, Any] = {}
    try:
        parsed = json.loads(content) if content else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("kind") == "Status":
        body = parsed
    details = body.get("details")
    details = details if isinstance(details, dict) else {}
    reason = str(body.get("reason") or reason_phrase or "Unknown")
    if body:
        message = str(body.get("message", ""))
    else:
        message = content.decode("utf-8", errors="replace")[:MAX_MESSAGE_CHARS].strip()
    causes = _causes(details)
    if status == 429 or status >= 500:
        if retry_after is None and isinstance(details.get("retryAfterSeconds"), int):
            retry_after = float(details["retryAfterSeconds"])
        return Transient(
            status,
            reason,
            message,
            retry_after=retry_after,
            details=details,
            causes=causes,
            body=body,
        )
    error_class = _BY_STATUS.get(status, ApiError)
    if error_class is Conflict and reason == "AlreadyExists":
        error_class = AlreadyExists
    return error_class(status, reason, message, details=details, causes=causes, body=body)
