"""Wire formats of the emulator: JSON responses, watch event lines, query values, continue
tokens."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import aiohttp.web

from kubernaut_wfe_tools.emulator import errors, protobuf
from kubernaut_wfe_tools.emulator.errors import ApiError

NOT_OLDER_THAN = "NotOlderThan"


def json_response(
    body: Any, status: int = 200, warnings: list[str] | None = None
) -> aiohttp.web.Response:
    """A compact JSON response, with one `Warning: 299` header per warning."""
    response = aiohttp.web.json_response(body, status=status, dumps=dumps)
    for warning in warnings or []:
        response.headers.add("Warning", f'299 - "{warning.replace(chr(34), chr(92) + chr(34))}"')
    return response


def error_response(error: ApiError) -> aiohttp.web.Response:
    """The failure's `Status`, with `Retry-After` when its details carry retryAfterSeconds (as the
    API server's response writer adds it)."""
    response = json_response(error.status(), error.code)
    seconds = (error.details or {}).get("retryAfterSeconds")
    if isinstance(seconds, int) and seconds > 0:
        response.headers["Retry-After"] = str(seconds)
    return response


def dumps(body: Any) -> str:
    """Compact JSON text."""
    return json.dumps(body, separators=(",", ":"))


def event_line(event: dict[str, Any]) -> bytes:
    """One watch event as a JSON line."""
    return (dumps(event) + "\n").encode()


def decode_body(raw: bytes) -> Any:
    """A JSON request body (empty is null), or a protobuf one of a kind the emulator reads;
    malformed JSON is a 400."""
    if protobuf.is_protobuf(raw):
        return protobuf.decode(raw)
    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from exc


def positive_int(value: str | None, name: str) -> int | None:
    """A non-negative integer query parameter, or None when absent; else a 400."""
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise ApiError(400, f"{name}: Invalid value: {value!r}: must be an integer") from exc
    if number < 0:
        raise ApiError(400, f"{name}: Invalid value: {value!r}: must be >= 0")
    return number


def list_limit(value: str | None) -> int | None:
    """A list's `limit`: None for none (absent, 0 or negative, as the API server reads it);
    a value that is not an integer is a 400 worded as the server words it."""
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise ApiError(400, f'strconv.ParseInt: parsing "{value}": invalid syntax') from exc
    return number if number > 0 else None


def check_list_options(query: dict[str, str], *, watch: bool) -> None:
    """422 Invalid (`ListOptions.meta.k8s.io`) for the combinations of `sendInitialEvents`,
    `resourceVersionMatch`, `resourceVersion` and `continue` the API server refuses."""
    match = query.get("resourceVersionMatch", "")
    initial_events = "sendInitialEvents" in query
    causes: list[tuple[str, str, str]] = []  # (field, reason, message)

    def forbidden(field: str, message: str) -> None:
        causes.append((field, "FieldValueForbidden", f"Forbidden: {message}"))

    def unsupported(supported: str) -> None:
        message = f'Unsupported value: "{match}": supported values: {supported}'
        causes.append(("resourceVersionMatch", "FieldValueNotSupported", message))

    if watch:
        if initial_events and match != NOT_OLDER_THAN:
            forbidden(
                "resourceVersionMatch",
                f"sendInitialEvents requires setting resourceVersionMatch to {NOT_OLDER_THAN}",
            )
        if match:
            if not initial_events:
                forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is "
                    "provided",
                )
            if match != NOT_OLDER_THAN:
                unsupported(f'"{NOT_OLDER_THAN}"')
            if query.get("continue"):
                forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden when continue is provided",
                )
    else:
        if match:
            if not query.get("resourceVersion"):
                forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                )
            if query.get("continue"):
                forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden when continue is provided",
                )
            if match not in ("Exact", NOT_OLDER_THAN):
                unsupported(f'"Exact", "{NOT_OLDER_THAN}", ""')
        if initial_events:
            forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list")
    if causes:
        raise errors.invalid(
            "ListOptions",
            "meta.k8s.io",
            "",
            [{"reason": r, "message": m, "field": f} for f, r, m in causes],
            [f"{f}: {m}" for f, _, m in causes],
        )


def watch_since(value: str | None) -> int | None:
    """A watch's resourceVersion: None for "", "0" or absent (start with the current state)."""
    if value in (None, "", "0"):
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise ApiError(400, f"resourceVersion: Invalid value: {value!r}") from exc


def sort_key(obj: dict[str, Any]) -> tuple[str, str]:
    """(namespace, name): the object's key (lists come in `store.etcd_order`)."""
    meta = obj.get("metadata") or {}
    return meta.get("namespace", "") or "", meta.get("name", "")


def encode_continue(key: tuple[str, str], revision: int) -> str:
    """An opaque continue token resuming after `key`."""
    payload = json.dumps({"v": "emulator/1", "rv": revision, "start": list(key)})
    return base64.urlsafe_b64encode(payload.encode()).decode()


def decode_continue(token: str) -> tuple[str, str]:
    """The key a continue token resumes after; a malformed token is a 400."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode()))
        namespace, name = payload["start"]
        return str(namespace), str(name)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ApiError(400, f"invalid continue token: continue key is not valid: {exc}") from exc
