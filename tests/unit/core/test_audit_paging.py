"""Paging through the query API ends: at an empty or last page, at the server's own total, and
at a page that repeats an earlier one."""

from __future__ import annotations

import pytest

from kubernaut_wfe.core.audit_paging import next_page_offset, page_repeats


@pytest.mark.parametrize(
    ("offset", "records", "has_more", "total", "expected"),
    [
        (0, 0, True, 10, None),  # an empty page ends it, whatever it claims
        (0, 5, False, 10, None),
        (0, 5, True, 10, 5),
        (0, 5, None, None, 5),  # a page that says nothing is followed while it brings records
        (5, 5, True, 10, None),  # the server's own total is reached: more pages are a lie
        (5, 5, True, 7, None),
        (5, 5, None, 11, 10),
    ],
)
def test_next_page_offset(
    offset: int, records: int, has_more: bool | None, total: int | None, expected: int | None
) -> None:
    assert next_page_offset(offset, records, has_more=has_more, total=total) == expected


@pytest.mark.parametrize(
    ("page", "seen", "expected"),
    [
        (["a", "b"], {"a", "b", "c"}, True),
        (["a", "d"], {"a", "b"}, False),
        ([], {"a"}, False),
        (["a"], set(), False),
    ],
)
def test_page_repeats(page: list[str], seen: set[str], expected: bool) -> None:
    assert page_repeats(page, seen) is expected
