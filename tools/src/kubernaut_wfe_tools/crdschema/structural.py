"""The openAPIV3Schema keywords a structural CRD schema may use, checked like the apiserver."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from kubernaut_wfe_tools.crdschema import errors as fe
from kubernaut_wfe_tools.crdschema.correlation import (
    MISSING,
    canonical,
    old_child,
    old_item,
    old_items,
    same_json,
)
from kubernaut_wfe_tools.crdschema.errors import FieldError
from kubernaut_wfe_tools.crdschema.nodes import SchemaNode

_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})$"
)
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value, as the apiserver reports it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _type_matches(expected: str, value: Any) -> bool:
    actual = json_type(value)
    if expected == "number":
        return actual in ("integer", "number")
    if expected == "integer":
        return actual == "integer" or (actual == "number" and float(value).is_integer())
    return actual == expected


def _body(path: str) -> str:
    return f"{path or 'body'} in body"


def _quoted(path: str) -> str:
    return json.dumps(path)


def validate_value(
    node: SchemaNode, value: Any, path: str, errors: list[FieldError], *, old: Any = MISSING
) -> None:
    """Append every schema violation of `value` (and its children) to `errors`.

    With `old` (the correlated old value, on update) a value equal to it is not checked at all:
    the apiserver's validation ratcheting, on by default since Kubernetes 1.30.
    """
    if old is not MISSING and same_json(value, old):
        return
    if value is None:
        if node.nullable or (node.type is None and not node.int_or_string):
            return
        expected = "string" if node.int_or_string else node.type
        errors.append(
            fe.type_invalid(path, "null", f'{_body(path)} must be of type {expected}: "null"')
        )
        return
    if node.int_or_string:
        if json_type(value) != "string" and not _type_matches("integer", value):
            actual = json_type(value)
            detail = f"{_body(path)} must be of type integer,string: {fe.go_value(actual)}"
            errors.append(fe.type_invalid(path, actual, detail))
            # the apiserver's validators all run: anyOf reports too, with its first branch's errors
            _check_compositions(node, value, path, errors)
            return
    elif node.type is not None and not _type_matches(node.type, value):
        _type_errors(node, value, path, errors)
        return
    _check_value_keywords(node, value, path, errors)
    if isinstance(value, Mapping):
        _check_object(node, value, path, errors, old)
    elif isinstance(value, list):
        _check_array(node, value, path, errors, old)


def _type_errors(node: SchemaNode, value: Any, path: str, errors: list[FieldError]) -> None:
    """A value of the wrong JSON type; a fraction where an integer belongs also fails the
    integer's format check (`<nil>`), as kube-openapi reports it."""
    actual = json_type(value)
    integer_format = node.format if node.format in _INT_RANGES else None
    if node.type == "integer" and actual == "number" and integer_format is not None:
        detail = f'{_body(path)} must be of type {integer_format}: "float64"'
        errors.append(fe.type_invalid(path, "float64", detail))
    else:
        detail = f"{_body(path)} must be of type {node.type}: {fe.go_value(actual)}"
        errors.append(fe.type_invalid(path, actual, detail))
    if node.type == "integer" and actual == "number":
        errors.append(_integer_format_error(integer_format, path))


def _integer_format_error(integer_format: str | None, path: str) -> FieldError:
    kind = f"with format {integer_format}" if integer_format else "(default format)"
    return fe.schema_invalid(f"Checked value must be of type integer {kind} in {path}")


def _check_value_keywords(
    node: SchemaNode, value: Any, path: str, errors: list[FieldError]
) -> None:
    """The value keywords in kube-openapi's order: compositions, string, number, enum."""
    _check_compositions(node, value, path, errors)
    if isinstance(value, str):
        _check_string(node, value, path, errors)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _check_number(node, value, path, errors)
    enum = node.raw.get("enum")
    if enum is not None and not any(_json_equal(value, choice) for choice in enum):
        errors.append(fe.not_supported(path, value, enum))


def _check_compositions(node: SchemaNode, value: Any, path: str, errors: list[FieldError]) -> None:
    """allOf, anyOf, oneOf and not: a failed composition is a `<nil>` error naming the path,
    followed (anyOf, oneOf) by the errors of the first branch, as kube-openapi reports them."""
    if node.all_of:
        validated = 0
        for branch in node.all_of:
            branch_errors = _branch_errors(branch, value, path)
            errors.extend(branch_errors)
            validated += not branch_errors
        if validated < len(node.all_of):
            none = ". None validated" if validated == 0 else ""
            errors.append(
                fe.schema_invalid(f"{_quoted(path)} must validate all the schemas (allOf){none}")
            )
    if node.any_of:
        outcomes = [_branch_errors(branch, value, path) for branch in node.any_of]
        if all(outcomes):
            errors.append(
                fe.schema_invalid(f"{_quoted(path)} must validate at least one schema (anyOf)")
            )
            errors.extend(outcomes[0])
    if node.one_of:
        outcomes = [_branch_errors(branch, value, path) for branch in node.one_of]
        valid = sum(not outcome for outcome in outcomes)
        if valid == 0:
            errors.append(
                fe.schema_invalid(
                    f"{_quoted(path)} must validate one and only one schema (oneOf). "
                    "Found none valid"
                )
            )
            errors.extend(outcomes[0])
        elif valid > 1:
            errors.append(
                fe.schema_invalid(
                    f"{_quoted(path)} must validate one and only one schema (oneOf). "
                    f"Found {valid} valid alternatives"
                )
            )
    if node.not_ is not None and not _branch_errors(node.not_, value, path):
        errors.append(fe.schema_invalid(f"{_quoted(path)} must not validate the schema (not)"))


def _branch_errors(node: SchemaNode, value: Any, path: str) -> list[FieldError]:
    branch_errors: list[FieldError] = []
    validate_value(node, value, path, branch_errors)
    return branch_errors


def _check_string(node: SchemaNode, value: str, path: str, errors: list[FieldError]) -> None:
    raw = node.raw
    if "maxLength" in raw and len(value) > int(raw["maxLength"]):
        errors.append(fe.too_long(path, int(raw["maxLength"])))
    if "minLength" in raw and len(value) < int(raw["minLength"]):
        detail = f"{_body(path)} should be at least {int(raw['minLength'])} chars long"
        errors.append(fe.invalid(path, value, detail))
    if node.pattern is not None and node.pattern.search(value) is None:
        detail = f"{_body(path)} should match '{raw['pattern']}'"
        errors.append(fe.invalid(path, value, detail))
    if node.format in ("date-time", "date") and not _is_date(node.format, value):
        detail = f"{_body(path)} must be of type {node.format}: {fe.go_value(value)}"
        errors.append(
            FieldError(
                path, fe.CauseType.TYPE_INVALID, f"Invalid value: {fe.go_value(value)}: {detail}"
            )
        )


def _is_date(kind: str, value: str) -> bool:
    match = (_DATE_TIME if kind == "date-time" else _DATE).match(value)
    if match is None:
        return False
    try:
        date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return False
    if kind == "date-time":
        return int(match[4]) < 24 and int(match[5]) < 60 and int(match[6]) < 61
    return True


def _check_number(node: SchemaNode, value: float, path: str, errors: list[FieldError]) -> None:
    raw = node.raw
    bounds = _INT_RANGES.get(node.format or "")
    if node.type == "integer" and bounds and not bounds[0] <= value <= bounds[1]:
        errors.append(_integer_format_error(node.format, path))
    if "minimum" in raw:
        minimum = raw["minimum"]
        exclusive = bool(raw.get("exclusiveMinimum"))
        if value < minimum or (exclusive and value == minimum):
            relation = "greater than" if exclusive else "greater than or equal to"
            detail = f"{_body(path)} should be {relation} {fe.go_value(minimum)}"
            errors.append(fe.invalid(path, value, detail))
    if "maximum" in raw:
        maximum = raw["maximum"]
        exclusive = bool(raw.get("exclusiveMaximum"))
        if value > maximum or (exclusive and value == maximum):
            relation = "less than" if exclusive else "less than or equal to"
            detail = f"{_body(path)} should be {relation} {fe.go_value(maximum)}"
            errors.append(fe.invalid(path, value, detail))
    multiple = raw.get("multipleOf")
    if multiple and not math.isclose(value / multiple, round(value / multiple)):
        detail = f"{_body(path)} should be a multiple of {fe.go_value(multiple)}"
        errors.append(fe.invalid(path, value, detail))


def _check_object(
    node: SchemaNode, value: Mapping[str, Any], path: str, errors: list[FieldError], old: Any
) -> None:
    raw = node.raw
    if "maxProperties" in raw and len(value) > int(raw["maxProperties"]):
        errors.append(fe.too_many(path, len(value), int(raw["maxProperties"])))
    if "minProperties" in raw and len(value) < int(raw["minProperties"]):
        detail = f"{_body(path)} should have at least {int(raw['minProperties'])} properties"
        errors.append(fe.invalid(path, len(value), detail))
    for name in node.required:
        if name not in value:
            errors.append(fe.required(fe.child_path(path, name)))
    for key, item in value.items():
        child = node.properties.get(key)
        if child is not None:
            validate_value(child, item, fe.child_path(path, key), errors, old=old_child(old, key))
        elif node.additional_properties is not None:
            # The API server's schema validator joins map keys with a dot (CEL rules on map
            # values say `[key]`: see `schema.py`); seen on kube-apiserver 1.36.
            validate_value(
                node.additional_properties,
                item,
                fe.child_path(path, key),
                errors,
                old=old_child(old, key),
            )


def _check_array(
    node: SchemaNode, value: list[Any], path: str, errors: list[FieldError], old: Any
) -> None:
    raw = node.raw
    if "maxItems" in raw and len(value) > int(raw["maxItems"]):
        errors.append(fe.too_many(path, len(value), int(raw["maxItems"])))
    if "minItems" in raw and len(value) < int(raw["minItems"]):
        detail = f"{_body(path)} should have at least {int(raw['minItems'])} items"
        errors.append(fe.invalid(path, len(value), detail))
    if node.items is not None:
        correlated = old_items(node, old)
        for index, item in enumerate(value):
            validate_value(
                node.items,
                item,
                fe.index_path(path, index),
                errors,
                old=old_item(node, correlated, item),
            )
    if node.list_type == "set":
        _check_set(value, path, errors)
    elif node.list_type == "map":
        _check_map_list(node, value, path, errors)


def _check_set(value: list[Any], path: str, errors: list[FieldError]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(value):
        identity = canonical(item)
        if identity in seen:
            errors.append(fe.duplicate(fe.index_path(path, index), item))
        seen.add(identity)


def _check_map_list(
    node: SchemaNode, value: list[Any], path: str, errors: list[FieldError]
) -> None:
    keys = node.list_map_keys
    item_required = node.items.required if node.items is not None else ()
    seen: set[str] = set()
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            continue
        missing = [key for key in keys if key not in item]
        for key in missing:
            if key not in item_required:
                errors.append(fe.required(fe.child_path(fe.index_path(path, index), key)))
        if missing:
            continue
        key_values = {key: item[key] for key in keys}
        identity = canonical(key_values)
        if identity in seen:
            errors.append(fe.duplicate(fe.index_path(path, index), key_values))
        seen.add(identity)


def _json_equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return bool(left == right)
