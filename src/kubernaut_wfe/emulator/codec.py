"""Wire formats of the emulator: JSON responses, watch event lines, query values, continue
tokens."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import aiohttp.web

from kubernaut_wfe.emulator import protobuf
from kubernaut_wfe.emulator.errors import ApiError


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


def watch_since(value: str | None) -> int | None:
    """A watch's resourceVersion: None for "", "0" or absent (start with the current state)."""
    if value in (None, "", "0"):
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise ApiError(400, f"resourceVersion: Invalid value: {value!r}") from exc


def sort_key(obj: dict[str, Any]) -> tuple[str, str]:
    """(namespace, name): the order of lists, as etcd keys sort."""
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
        raise ApiError(400, f"continue key is not valid: {exc}") from exc
