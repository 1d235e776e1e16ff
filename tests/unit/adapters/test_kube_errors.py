"""Kubernetes `Status` bodies and HTTP statuses → error classes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from kubernaut_wfe.adapters.kube_errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    StatusCause,
    Transient,
    Unauthorized,
    error_from_response,
    parse_retry_after,
)


def status_body(code: int, reason: str, message: str, **details: Any) -> bytes:
    return json.dumps(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "code": code,
            "reason": reason,
            "message": message,
            "details": details,
        }
    ).encode()


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (400, "BadRequest", BadRequest),
        (401, "Unauthorized", Unauthorized),
        (403, "Forbidden", Forbidden),
        (404, "NotFound", NotFound),
        (409, "AlreadyExists", AlreadyExists),
        (409, "Conflict", Conflict),
        (410, "Expired", Gone),
        (422, "Invalid", Invalid),
        (429, "TooManyRequests", Transient),
        (500, "InternalError", Transient),
        (503, "ServiceUnavailable", Transient),
        (504, "Timeout", Transient),
        (418, "Teapot", ApiError),
    ],
)
def test_status_code_and_reason_pick_the_class(
    code: int, reason: str, expected: type[ApiError]
) -> None:
    error = error_from_response(code, "phrase", status_body(code, reason, "words"))
    assert type(error) is expected
    assert (error.status, error.reason, error.message) == (code, reason, "words")
    assert str(error) == f"{code} {reason}: words"


def test_already_exists_and_conflict_are_both_conflicts_told_apart_by_reason() -> None:
    exists = error_from_response(409, "Conflict", status_body(409, "AlreadyExists", "x"))
    stale = error_from_response(409, "Conflict", status_body(409, "Conflict", "x"))
    assert isinstance(exists, Conflict)
    assert isinstance(stale, Conflict)
    assert isinstance(exists, AlreadyExists)
    assert not isinstance(stale, AlreadyExists)


def test_invalid_carries_its_causes_with_field_paths() -> None:
    body = status_body(
        422,
        "Invalid",
        'PipelineRun.tekton.dev "wfe-x" is invalid',
        name="wfe-x",
        kind="PipelineRun",
        causes=[
            {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.params"},
            {"reason": "FieldValueInvalid", "message": "bad", "field": "metadata.labels"},
            "not a cause",
        ],
    )
    error = error_from_response(422, "Unprocessable Entity", body)
    assert isinstance(error, Invalid)
    assert error.causes == (
        StatusCause("FieldValueRequired", "Required value", "spec.params"),
        StatusCause("FieldValueInvalid", "bad", "metadata.labels"),
    )
    assert error.details["kind"] == "PipelineRun"
    assert error.body["code"] == 422


def test_a_body_that_is_not_a_status_falls_back_to_the_http_reason_and_text() -> None:
    error = error_from_response(502, "Bad Gateway", b"<html>" + b"x" * 2000 + b"</html>")
    assert isinstance(error, Transient)
    assert error.reason == "Bad Gateway"
    assert error.message.startswith("<html>")
    assert len(error.message) <= 500
    assert error.body == {}


def test_retry_after_comes_from_the_header_else_from_the_status_details() -> None:
    body = status_body(429, "TooManyRequests", "slow down", retryAfterSeconds=3)
    from_details = error_from_response(429, "Too Many Requests", body)
    from_header = error_from_response(429, "Too Many Requests", body, retry_after=7.0)
    assert isinstance(from_details, Transient)
    assert isinstance(from_header, Transient)
    assert from_details.retry_after == 3.0
    assert from_header.retry_after == 7.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("5", 5.0),
        (" 12 ", 12.0),
        ("Wed, 25 Nov 2026 22:00:10 GMT", 10.0),
        ("Wed, 25 Nov 2026 21:00:00 GMT", 0.0),
        ("soon", None),
        ("-1", None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    now = datetime(2026, 11, 25, 22, 0, 0, tzinfo=UTC)
    assert parse_retry_after(header, now) == expected
