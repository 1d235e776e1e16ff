"""RFC 3339 parsing and formatting, relative durations, and query time bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kubernaut_wfe.audit_service.timestamps import (
    format_rfc3339,
    from_sortable_utc,
    parse_relative,
    parse_rfc3339,
    parse_time_bound,
    sortable_utc,
)

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-10T12:00:00Z", datetime(2026, 1, 10, 12, 0, tzinfo=UTC)),
        ("2026-01-10t12:00:00z", datetime(2026, 1, 10, 12, 0, tzinfo=UTC)),
        ("2026-01-10T14:30:00+02:30", datetime(2026, 1, 10, 12, 0, tzinfo=UTC)),
        ("2026-01-10T12:00:00.5-00:00", datetime(2026, 1, 10, 12, 0, 0, 500000, tzinfo=UTC)),
        ("2026-01-10T12:00:00.123456789Z", datetime(2026, 1, 10, 12, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_rfc3339_times_are_read_as_utc(text: str, expected: datetime) -> None:
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-10",
        "2026-01-10T12:00:00",
        "2026-01-10T12:00Z",
        "2026-01-10T12:00:00+0200",
        "1767960000",
        "2026-02-30T12:00:00Z",
        "0001-01-01T00:00:00+01:00",
        " 2026-01-10T12:00:00Z",
    ],
)
def test_anything_else_is_not_rfc3339(text: str) -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_rfc3339(text)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 1, 10, 12, 0, tzinfo=UTC), "2026-01-10T12:00:00Z"),
        (datetime(2026, 1, 10, 12, 0, 0, 250000, tzinfo=UTC), "2026-01-10T12:00:00.25Z"),
        (datetime(5, 1, 1, tzinfo=UTC), "0005-01-01T00:00:00Z"),
    ],
)
def test_times_are_written_like_go_rfc3339nano(moment: datetime, expected: str) -> None:
    assert format_rfc3339(moment) == expected


def test_sortable_text_orders_like_time_and_round_trips() -> None:
    moments = [datetime(5, 1, 1, tzinfo=UTC), NOW, NOW + timedelta(microseconds=1)]

    texts = [sortable_utc(moment) for moment in moments]

    assert sorted(texts) == texts
    assert [from_sortable_utc(text) for text in texts] == moments


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", timedelta(hours=24)),
        ("30m", timedelta(minutes=30)),
        ("7d", timedelta(days=7)),
        ("1h30m", timedelta(minutes=90)),
        ("90s", timedelta(seconds=90)),
        ("250ms", timedelta(milliseconds=250)),
    ],
)
def test_relative_durations(text: str, expected: timedelta) -> None:
    assert parse_relative(text) == expected


@pytest.mark.parametrize("text", ["", "h", "24", "-1h", "1.5h", "1w", "24h ago", "9" * 30 + "d"])
def test_invalid_relative_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_relative(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", datetime(2026, 1, 10, 10, 0, tzinfo=UTC)),
        ("2026-01-09T00:00:00Z", datetime(2026, 1, 9, tzinfo=UTC)),
    ],
)
def test_time_bounds_are_absolute_or_before_now(text: str, expected: datetime) -> None:
    assert parse_time_bound(text, now=NOW) == expected


def test_time_bound_errors_name_both_forms() -> None:
    with pytest.raises(ValueError, match="neither an RFC 3339 date-time nor a relative duration"):
        parse_time_bound("yesterday", now=NOW)
