"""Field errors shaped like the Kubernetes apiserver's `field.Error` (and its StatusCause)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
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


def go_value(value: Any) -> str:
    """Render a value the way `field.Error` prints it (strings quoted, numbers bare)."""
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
    if isinstance(value, Mapping):
        return go_map(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def go_map(value: Mapping[str, Any]) -> str:
    """Render a map like Go's `%#v` of `map[string]interface {}` (used for duplicate map keys)."""
    entries = ", ".join(
        f"{json.dumps(key, ensure_ascii=False)}:{go_value(item)}" for key, item in value.items()
    )
    return "map[string]interface {}{" + entries + "}"


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
    return FieldError(field, CauseType.TOO_LONG, f"Too long: may not be longer than {max_length}")


def too_many(field: str, actual: int, maximum: int) -> FieldError:
    return FieldError(
        field, CauseType.TOO_MANY, f"Too many: {actual}: must have at most {maximum} items"
    )


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError(field, CauseType.DUPLICATE, f"Duplicate value: {go_value(value)}")


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(field, CauseType.FORBIDDEN, f"Forbidden: {detail}")


def child_path(parent: str, name: str) -> str:
    """`spec` + `targetResource` → `spec.targetResource` (the root has the empty path)."""
    return f"{parent}.{name}" if parent else name


def index_path(parent: str, index: int) -> str:
    return f"{parent}[{index}]"


def key_path(parent: str, key: str) -> str:
    return f"{parent}[{key}]"
