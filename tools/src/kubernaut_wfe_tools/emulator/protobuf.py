"""Request bodies in Kubernetes' protobuf encoding, which kubectl sends for built-in kinds
(`kubectl create namespace|configmap|secret|serviceaccount`): decoded into the JSON object the
API would have received, for the built-in kinds the emulator serves.

The encoding: the magic bytes `k8s\\0`, then a `runtime.Unknown` message (its `typeMeta` names
the apiVersion and kind, `raw` holds the object's own message). Go's generated encoders write
every non-pointer field, so empty strings, zero numbers and empty messages are dropped, as
`omitempty` does in JSON. A field the emulator does not know, with content, is a 415 (nothing is
silently lost).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kubernaut_wfe_tools.emulator.errors import ApiError

MAGIC = b"k8s\x00"
VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5
UNSUPPORTED = 415
JSON_HINT = "send JSON instead, e.g. `kubectl apply -f` with a manifest"

Scalar = Literal["string", "bool", "string-map", "bytes-map", "server-set"]
"""`server-set`: a field the API server sets itself on create (read past, whatever it holds)."""


@dataclass(frozen=True)
class Field:
    """One field of a message: its JSON name and how its value is read."""

    name: str
    kind: Scalar | Mapping[int, Field]
    repeated: bool = False


SERVER_SET_META = {
    4: "selfLink",
    5: "uid",
    6: "resourceVersion",
    7: "generation",
    8: "creationTimestamp",
}
OBJECT_META: Mapping[int, Field] = {
    1: Field("name", "string"),
    2: Field("generateName", "string"),
    3: Field("namespace", "string"),
    **{number: Field(name, "server-set") for number, name in SERVER_SET_META.items()},
    11: Field("labels", "string-map"),
    12: Field("annotations", "string-map"),
    14: Field("finalizers", "string", repeated=True),
}
METADATA = Field("metadata", OBJECT_META)

KINDS: Mapping[tuple[str, str], Mapping[int, Field]] = {
    ("v1", "Namespace"): {
        1: METADATA,
        2: Field("spec", {1: Field("finalizers", "string", repeated=True)}),
        3: Field("status", "server-set"),
    },
    ("v1", "ConfigMap"): {
        1: METADATA,
        2: Field("data", "string-map"),
        3: Field("binaryData", "bytes-map"),
        4: Field("immutable", "bool"),
    },
    ("v1", "Secret"): {
        1: METADATA,
        2: Field("data", "bytes-map"),
        3: Field("type", "string"),
        4: Field("stringData", "string-map"),
        5: Field("immutable", "bool"),
    },
    ("v1", "ServiceAccount"): {1: METADATA, 4: Field("automountServiceAccountToken", "bool")},
}

TYPE_META: Mapping[int, Field] = {1: Field("apiVersion", "string"), 2: Field("kind", "string")}


def is_protobuf(raw: bytes) -> bool:
    """Whether a request body is in Kubernetes' protobuf encoding."""
    return raw.startswith(MAGIC)


def decode(raw: bytes) -> dict[str, Any]:
    """The JSON object a protobuf request body stands for; ApiError 415 for what the emulator
    cannot read, 400 for a malformed body."""
    type_meta: dict[str, Any] = {}
    body = b""
    for number, _, value in _fields(raw[len(MAGIC) :]):
        if number == 1 and isinstance(value, bytes):
            type_meta = _message(value, TYPE_META, "typeMeta")
        elif number == 2 and isinstance(value, bytes):
            body = value
        elif number == 3 and value:
            raise ApiError(UNSUPPORTED, f"protobuf content encoding is not supported; {JSON_HINT}")
    api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
    schema = KINDS.get((api_version, kind))
    if schema is None:
        raise ApiError(
            UNSUPPORTED,
            f"the emulator reads protobuf only for {_known()}, not {api_version} {kind or '?'};"
            f" {JSON_HINT}",
        )
    return {"apiVersion": api_version, "kind": kind, **_message(body, schema, kind)}


def _known() -> str:
    return ", ".join(kind for _, kind in KINDS)


def _message(data: bytes, schema: Mapping[int, Field], where: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for number, wire, value in _fields(data):
        field = schema.get(number)
        if field is None:
            if value:
                raise ApiError(
                    UNSUPPORTED,
                    f"{where}: protobuf field {number} is not supported by the emulator;"
                    f" {JSON_HINT}",
                )
            continue
        if field.kind == "server-set":
            continue
        decoded = _value(field, wire, value, f"{where}.{field.name}")
        if decoded in ("", {}, None):
            continue
        if field.repeated:
            result.setdefault(field.name, []).append(decoded)
        elif field.kind in ("string-map", "bytes-map"):
            result.setdefault(field.name, {}).update(decoded)
        else:
            result[field.name] = decoded
    return result


def _value(field: Field, wire: int, value: int | bytes, where: str) -> Any:
    if field.kind == "bool":
        if wire != VARINT:
            raise _malformed(where)
        return bool(value)
    if not isinstance(value, bytes):
        raise _malformed(where)
    if isinstance(field.kind, Mapping):
        return _message(value, field.kind, where)
    if field.kind == "string":
        return _text(value, where)
    entry = {number: item for number, _, item in _fields(value)}
    key, item = entry.get(1, b""), entry.get(2, b"")
    if not isinstance(key, bytes) or not isinstance(item, bytes):
        raise _malformed(where)
    text = base64.b64encode(item).decode() if field.kind == "bytes-map" else _text(item, where)
    return {_text(key, where): text}


def _text(value: bytes, where: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(where) from exc


def _fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of each field of one message."""
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == VARINT:
            value, position = _varint(data, position)
        elif wire == LENGTH_DELIMITED:
            length, position = _varint(data, position)
            value, position = data[position : position + length], position + length
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
            value, position = data[position : position + size], position + size
        else:
            raise _malformed(f"field {number}")
        if position > len(data):
            raise _malformed(f"field {number}")
        yield number, wire, value


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while position < len(data):
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
    raise _malformed("a truncated number")


def _malformed(where: str) -> ApiError:
    return ApiError(400, f"the protobuf request body is malformed at {where}")
