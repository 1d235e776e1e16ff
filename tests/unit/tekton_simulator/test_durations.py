from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from kubernaut_wfe_tools.tekton_simulator.durations import (
    DurationError,
    format_go_duration,
    parse_go_duration,
    parse_rfc3339,
    rfc3339,
    whole_second,
)


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=45), "45s"),
        (timedelta(seconds=10), "10s"),
        (timedelta(minutes=2, seconds=30), "2m30s"),
        (timedelta(minutes=30), "30m0s"),
        (timedelta(hours=1), "1h0m0s"),
        (timedelta(hours=1, minutes=30), "1h30m0s"),
        (timedelta(hours=25, seconds=1), "25h0m1s"),
        (timedelta(seconds=1.5), "1.5s"),
        (timedelta(milliseconds=500), "500ms"),
        (timedelta(microseconds=1500), "1.5ms"),
        (timedelta(microseconds=7), "7µs"),
        (timedelta(seconds=-3), "-3s"),
    ],
)
def test_go_duration_text(duration: timedelta, text: str) -> None:
    assert format_go_duration(duration) == text


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("0", timedelta(0)),
        ("0s", timedelta(0)),
        ("1h0m0s", timedelta(hours=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("30m", timedelta(minutes=30)),
        ("2s", timedelta(seconds=2)),
        ("1.5h", timedelta(minutes=90)),
        ("500ms", timedelta(milliseconds=500)),
        ("10us", timedelta(microseconds=10)),
        ("2m3.5s", timedelta(minutes=2, seconds=3.5)),
    ],
)
def test_parse_go_duration(text: str, duration: timedelta) -> None:
    assert parse_go_duration(text) == duration


@pytest.mark.parametrize("text", ["", "1", "h", "1x", "-1s", "1h 2m", "abc", "1s2"])
def test_parse_go_duration_refuses_bad_text(text: str) -> None:
    with pytest.raises(DurationError, match="invalid duration"):
        parse_go_duration(text)


def test_timestamps_are_utc_whole_seconds_with_z() -> None:
    moment = datetime(2025, 6, 1, 12, 0, 1, 987654, tzinfo=timezone(timedelta(hours=2)))
    assert rfc3339(moment) == "2025-06-01T10:00:01Z"
    assert whole_second(moment) == datetime(2025, 6, 1, 10, 0, 1, tzinfo=UTC)
    assert parse_rfc3339("2025-06-01T10:00:01Z") == datetime(2025, 6, 1, 10, 0, 1, tzinfo=UTC)


def test_parse_rfc3339_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        parse_rfc3339("2025-06-01T10:00:01")
