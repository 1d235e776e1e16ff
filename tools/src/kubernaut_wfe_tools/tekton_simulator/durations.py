"""Go `time.Duration` text and RFC 3339 timestamps, as Tekton writes them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_UNIT_MICROSECONDS = {
    "h": 3_600_000_000,
    "m": 60_000_000,
    "s": 1_000_000,
    "ms": 1_000,
    "us": 1,
    "µs": 1,
    "μs": 1,
    "ns": 0.001,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|h|m|s)")


class DurationError(ValueError):
    """A text that Go's `time.ParseDuration` would refuse (or a negative duration)."""


def parse_go_duration(text: str) -> timedelta:
    """Parse Go duration text (`1h30m`, `45s`, `1.5h`, `500ms`, `0`) into a timedelta.

    Negative durations are refused: Tekton's webhook refuses negative timeouts.
    """
    if text == "0":
        return timedelta(0)
    if not text or text.startswith(("-", "+")):
        raise DurationError(f"invalid duration {text!r}: expected e.g. '1h0m0s', '45s' or '0'")
    position = 0
    microseconds = 0.0
    for match in _PART.finditer(text):
        if match.start() != position:
            break
        microseconds += float(match.group(1)) * _UNIT_MICROSECONDS[match.group(2)]
        position = match.end()
    if position != len(text):
        raise DurationError(f"invalid duration {text!r}: expected e.g. '1h0m0s', '45s' or '0'")
    return timedelta(microseconds=round(microseconds))


def format_go_duration(duration: timedelta) -> str:
    """Format like Go's `Duration.String()`: `0s`, `45s`, `2m30s`, `1h0m0s`, `1.5s`, `500ms`."""
    total = round(duration / timedelta(microseconds=1))
    sign = "-" if total < 0 else ""
    total = abs(total)
    if total == 0:
        return "0s"
    if total < 1_000_000:
        if total < 1_000:
            return f"{sign}{total}µs"
        return f"{sign}{_decimal(total, 1_000)}ms"
    hours, rest = divmod(total, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds = _decimal(rest, 1_000_000)
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{sign}{minutes}m{seconds}s"
    return f"{sign}{seconds}s"


def _decimal(value: int, unit: int) -> str:
    whole, fraction = divmod(value, unit)
    if not fraction:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{fraction:0{digits}d}".rstrip("0")


def rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC with whole seconds and a `Z`, as Kubernetes serialises `metav1.Time`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> datetime:
    """Parse a Kubernetes timestamp (`2025-06-01T10:00:00Z`, fractions and offsets accepted)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return moment.astimezone(UTC)


def whole_second(moment: datetime) -> datetime:
    """`moment` in UTC, truncated to the second (Kubernetes stores whole seconds)."""
    return moment.astimezone(UTC).replace(microsecond=0)
