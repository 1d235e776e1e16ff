"""Go `time.Duration` text: formatting (whole seconds) and parsing."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

CRD_DURATION_PATTERN = re.compile(r"^([0-9]{1,5}(\.[0-9]{1,9})?(h|m|s|ms)){1,4}$")
"""The pattern the CRD puts on `spec.executionConfig.timeout`: at most 4 parts of at most 5
digits, so every value it admits is within Go's duration range (the controller then bounds it
to 24h)."""

_GO_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS: dict[str, Decimal] = {
    "ns": Decimal("1e-9"),
    "us": Decimal("1e-6"),
    "µs": Decimal("1e-6"),
    "μs": Decimal("1e-6"),
    "ms": Decimal("1e-3"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
}


MAX_GO_DURATION_SECONDS = Decimal(2**63 - 1) / Decimal(10**9)
"""The longest `time.Duration` (about 292 years): Go's `ParseDuration` refuses anything longer."""


class DurationError(ValueError):
    """Text that is not a Go duration; the message quotes it: `invalid duration "5x"`."""

    def __init__(self, text: str) -> None:
        super().__init__(f'invalid duration "{text}"')
        self.text = text


def format_duration(span: timedelta) -> str:
    """Go duration text rounded to whole seconds: `0s`, `45s`, `2m30s`, `1h0m0s`.

    Negative spans (clock skew between the controller and Tekton) are reported as `0s`.
    """
    total = max(0, round(span.total_seconds()))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{minutes}m{seconds}s"
    return f"{seconds}s"


def parse_duration(text: str) -> timedelta:
    """Parse what Go's `time.ParseDuration` accepts (`1h30m`, `2.5s`, `300ms`, `0`, `-5s`)."""
    body = text.strip()
    sign = 1
    if body[:1] in "+-" and body:
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return timedelta(0)
    if not body:
        raise DurationError(text)
    position = 0
    seconds = Decimal(0)
    while position < len(body):
        match = _GO_PART.match(body, position)
        if match is None:
            raise DurationError(text)
        seconds += Decimal(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        if seconds > MAX_GO_DURATION_SECONDS:
            raise DurationError(text)  # Go's int64 nanoseconds overflow: it refuses it too
        position = match.end()
    return sign * timedelta(seconds=float(seconds))


def is_crd_duration(text: str) -> bool:
    """Whether the text matches the CRD's stricter duration pattern."""
    return CRD_DURATION_PATTERN.fullmatch(text) is not None


def parse_cooldown(text: str | int) -> timedelta:
    """A cooldown flag value: duration text, or a bare integer meaning minutes (as the Go flag)."""
    stripped = str(text).strip()
    if stripped.isdigit():
        if Decimal(stripped) * 60 > MAX_GO_DURATION_SECONDS:
            raise DurationError(stripped)
        return timedelta(minutes=int(stripped))
    return parse_duration(stripped)
