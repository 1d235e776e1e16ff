"""RFC 3339 timestamps and relative durations (`24h`, `30m`, `7d`) as the audit API speaks them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?P<offset>[Zz]|[+-]\d{2}:\d{2})"
)
_RELATIVE_PART = re.compile(r"(\d+)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 date-time into an aware UTC datetime (fractions beyond µs truncated).

    Raises ValueError for anything else, including a time that is out of range once in UTC.
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not an RFC 3339 date-time")
    fraction = (match["fraction"] or "0")[:6].ljust(6, "0")
    offset = match["offset"].upper().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}{offset}")
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise ValueError(f"{text!r} is not a valid RFC 3339 date-time: {error}") from None


def format_rfc3339(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 in UTC, like Go's RFC3339Nano (no trailing zeros)."""
    utc = moment.astimezone(UTC)
    text = utc.replace(tzinfo=None, microsecond=0).isoformat()
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def sortable_utc(moment: datetime) -> str:
    """A fixed-width UTC text whose lexical order is chronological (for SQLite columns)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def from_sortable_utc(text: str) -> datetime:
    """The inverse of `sortable_utc`."""
    return datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=UTC)


def parse_relative(text: str) -> timedelta:
    """Parse a relative duration such as `24h`, `30m`, `7d` or `1h30m`; raise ValueError if not."""
    if not text or _RELATIVE_PART.sub("", text) != "":
        raise ValueError(f"{text!r} is not a relative duration like 24h, 30m or 7d")
    seconds = sum(
        int(amount) * _UNIT_SECONDS[unit] for amount, unit in _RELATIVE_PART.findall(text)
    )
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"{text!r} is too long a duration") from None


def parse_time_bound(text: str, *, now: datetime) -> datetime:
    """A query time bound: an RFC 3339 date-time, or a relative duration meaning `now - it`."""
    try:
        return parse_rfc3339(text)
    except ValueError:
        pass
    try:
        return now - parse_relative(text)
    except (ValueError, OverflowError):
        raise ValueError(
            f"{text!r} is neither an RFC 3339 date-time nor a relative duration like 24h"
        ) from None
