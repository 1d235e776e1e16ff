"""Field errors shaped like the Kubernetes apiserver's `field.Error` (and its StatusCause)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class CauseType(StrEnum):
    """Kubernetes `StatusCause.type` values a schema violation can carry."""

    REQUIRED = "FieldValueRequired"
    INVALID = "FieldValueInvalid"
    NOT_SUPPORTED = "FieldValueNotSupported"
    TOO_LONG = "FieldValueTooLong"
    TOO_MANY = "FieldValueTooMany"
    DUPLICATE = "FieldValueDuplicate"
    TYPE_INVALID = "FieldValueTypeInvalid"
    FORBIDDEN = "FieldValueForbidden"


@dataclass(frozen=True)
class FieldError:
    """One violation: `field` is the apiserver-style path, `message` the detail after it."""

    field: str
    reason: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


_GO_JSON_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def go_value(value: Any) -> str:
    """Render a value the way `field.Error` prints it: strings quoted, numbers bare, null, and
    maps and lists as Go's `json.Marshal` writes them (compact, keys sorted, HTML escaped)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return text.translate(_GO_JSON_ESCAPES)


def required(field: str) -> FieldError:
    return FieldError(field, CauseType.REQUIRED, "Required value")


def invalid(field: str, value: Any, detail: str) -> FieldError:
    return FieldError(field, CauseType.INVALID, f"Invalid value: {go_value(value)}: {detail}")


def type_invalid(field: str, actual_type: str, detail: str) -> FieldError:
    return FieldError(
        field, CauseType.TYPE_INVALID, f"Invalid value: {go_value(actual_type)}: {detail}"
    )


def not_supported(field: str, value: Any, supported: Sequence[Any]) -> FieldError:
    choices = ", ".join(go_value(choice) for choice in supported)
    return FieldError(
        field,
        CauseType.NOT_SUPPORTED,
        f"Unsupported value: {go_value(value)}: supported values: {choices}",
    )


def too_long(field: str, max_length: int) -> FieldError:
    unit = "byte" if max_length == 1 else "bytes"
    return FieldError(
        field, CauseType.TOO_LONG, f"Too long: may not be more than {max_length} {unit}"
    )


def too_many(field: str, actual: int, maximum: int) -> FieldError:
    unit = "item" if maximum == 1 else "items"
    return FieldError(
        field, CauseType.TOO_MANY, f"Too many: {actual}: must have at most {maximum} {unit}"
    )


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError(field, CauseType.DUPLICATE, f"Duplicate value: {go_value(value)}")


NO_FIELD = "<nil>"
"""The field the apiserver names for errors of a whole schema (anyOf, allOf, not, formats)."""


def schema_invalid(detail: str) -> FieldError:
    """An error the apiserver reports without a field or value (`Invalid value: "": ...`)."""
    return FieldError(NO_FIELD, CauseType.INVALID, f'Invalid value: "": {detail}')


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(field, CauseType.FORBIDDEN, f"Forbidden: {detail}")


def child_path(parent: str, name: str) -> str:
    """`spec` + `targetResource` → `spec.targetResource` (the root has the empty path)."""
    return f"{parent}.{name}" if parent else name


def index_path(parent: str, index: int) -> str:
    return f"{parent}[{index}]"


def key_path(parent: str, key: str) -> str:
    return f"{parent}[{key}]"
