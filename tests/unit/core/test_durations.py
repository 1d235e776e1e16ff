from __future__ import annotations

from datetime import timedelta

import pytest

from kubernaut_wfe.core.durations import (
    DurationError,
    format_duration,
    is_crd_duration,
    parse_cooldown,
    parse_duration,
)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.4, "0s"),
        (45, "45s"),
        (44.6, "45s"),
        (60, "1m0s"),
        (150, "2m30s"),
        (3600, "1h0m0s"),
        (5400, "1h30m0s"),
        (90061, "25h1m1s"),
        (-3, "0s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0),
        ("0s", 0),
        ("45s", 45),
        ("2m30s", 150),
        ("1h0m0s", 3600),
        ("1h30m", 5400),
        ("1.5h", 5400),
        ("300ms", 0.3),
        ("1m0.5s", 60.5),
        ("-5s", -5),
        ("1h1m1s1ms", 3661.001),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    ["", "5", "5x", "h", "1h 30m", "m5", "1.5.5s", "--1s", "9999999999999h", "2562048h",
     "2562047h47m17s", "1" + "0" * 400 + "s"],
)  # fmt: skip
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(DurationError, match=r'invalid duration "'):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("30m", True),
        ("1h30m", True),
        ("1.5h", True),
        ("500ms", True),
        ("0", False),
        ("1d", False),
        ("-1h", False),
        ("30 m", False),
        ("300us", False),
    ],
)
def test_crd_pattern(text: str, ok: bool) -> None:
    assert is_crd_duration(text) is ok


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", timedelta(minutes=5)),
        (10, timedelta(minutes=10)),
        ("90s", timedelta(seconds=90)),
        ("1h", timedelta(hours=1)),
        (" 3 ", timedelta(minutes=3)),
    ],
)
def test_parse_cooldown_bare_integer_is_minutes(value: str | int, expected: timedelta) -> None:
    assert parse_cooldown(value) == expected


def test_parse_cooldown_rejects_garbage() -> None:
    with pytest.raises(DurationError):
        parse_cooldown("5x")


def test_the_longest_go_duration_parses() -> None:
    assert parse_duration("2562047h47m16.854775807s") > timedelta(days=106751)


@pytest.mark.parametrize("value", ["999999999999999", 10**15, "153722867280913"])
def test_parse_cooldown_rejects_a_bare_count_past_gos_range(value: str | int) -> None:
    with pytest.raises(DurationError, match=r'invalid duration "'):
        parse_cooldown(value)
