"""Event sizes measured while parsing the body, as sent."""

from __future__ import annotations

import json

import pytest

from kubernaut_wfe.audit_service.validation import (
    MAX_EVENT_BYTES,
    InvalidRequestError,
    PayloadTooLargeError,
    check_event_sizes,
    parse_events,
)


def test_a_single_event_is_the_whole_body() -> None:
    body = b' {"a": 1} '
    assert parse_events(body) == ({"a": 1}, [len(body)])


def test_each_element_of_a_batch_is_measured_as_sent() -> None:
    body = '[ {"a": 1} ,\n{"b": "\u00e9\u00e9"},[]]'.encode()
    document, sizes = parse_events(body)
    assert document == [{"a": 1}, {"b": "éé"}, []]
    assert sizes == [len('{"a": 1}'), len('{"b": "\u00e9\u00e9"}'), 2]


def test_multibyte_text_counts_in_bytes_when_it_could_reach_the_bound() -> None:
    text = "\u00e9" * (MAX_EVENT_BYTES // 2 + 1)  # 2 bytes each: just over the bound in UTF-8
    body = json.dumps([{}, {"t": text}], ensure_ascii=False).encode()
    _, sizes = parse_events(body)
    assert sizes == [2, len(json.dumps({"t": text}, ensure_ascii=False).encode())]
    with pytest.raises(PayloadTooLargeError, match=r"event \[1\] is 262155 bytes"):
        check_event_sizes(sizes)


@pytest.mark.parametrize(
    "body",
    [b"[", b"[1,", b"[1 2]", b"[1]]", b"[NaN]", b"\xff", b"[1] x", b""],
)
def test_a_body_that_is_not_json_is_the_strict_parser_s_error(body: bytes) -> None:
    with pytest.raises(InvalidRequestError):
        parse_events(body)


def test_an_empty_batch_has_no_sizes() -> None:
    assert parse_events(b" [ ] ") == ([], [])


def test_sizes_within_the_bound_pass() -> None:
    check_event_sizes([MAX_EVENT_BYTES, 1])
    with pytest.raises(PayloadTooLargeError, match="the event is"):
        check_event_sizes([MAX_EVENT_BYTES + 1])
