"""Each openAPIV3Schema keyword on a one-field schema: what passes, what fails, and the message."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from kubernaut_wfe_tools.crdschema import CauseType, CustomResourceSchema, FieldError

SchemaFactory = Callable[[Mapping[str, Any]], CustomResourceSchema]
OBJECT_X: dict[str, Any] = {"type": "object", "properties": {"x": {"type": "string"}}}
QUANTITY: dict[str, Any] = {
    "anyOf": [{"type": "integer"}, {"type": "string"}],
    "pattern": r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$",
    "x-kubernetes-int-or-string": True,
}
"""A Kubernetes quantity, as core ResourceRequirements declares one."""

ACCEPTED: list[tuple[str, dict[str, Any], Any]] = [
    ("string", {"type": "string"}, "text"),
    ("integer", {"type": "integer"}, 3),
    ("integral float as integer", {"type": "integer"}, 3.0),
    ("integer as number", {"type": "number"}, 3),
    ("float as number", {"type": "number"}, 0.5),
    ("boolean", {"type": "boolean"}, False),
    ("array", {"type": "array", "items": {"type": "string"}}, ["a"]),
    ("object", OBJECT_X, {"x": "y"}),
    ("nullable null", {"type": "string", "nullable": True}, None),
    ("enum member", {"type": "string", "enum": ["A", "B"]}, "B"),
    ("pattern is a search", {"type": "string", "pattern": "b"}, "abc"),
    ("minLength exact", {"type": "string", "minLength": 2}, "ab"),
    ("maxLength counts characters", {"type": "string", "maxLength": 2}, "éé"),
    ("minimum inclusive", {"type": "number", "minimum": 0}, 0),
    ("maximum inclusive", {"type": "number", "maximum": 1}, 1),
    ("minItems", {"type": "array", "minItems": 1, "items": {"type": "string"}}, ["a"]),
    ("maxItems", {"type": "array", "maxItems": 1, "items": {"type": "string"}}, ["a"]),
    ("maxProperties", {"type": "object", "maxProperties": 1, "additionalProperties": {}}, {"a": 1}),
    ("date-time Z", {"type": "string", "format": "date-time"}, "2026-01-09T10:00:00Z"),
    ("date-time offset", {"type": "string", "format": "date-time"}, "2026-01-09T10:00:00.5+02:00"),
    ("date", {"type": "string", "format": "date"}, "2026-01-09"),
    ("int32 upper bound", {"type": "integer", "format": "int32"}, 2**31 - 1),
    ("int-or-string int", {"x-kubernetes-int-or-string": True}, 8080),
    ("int-or-string string", {"x-kubernetes-int-or-string": True}, "http"),
    ("int-or-string integral float", {"x-kubernetes-int-or-string": True}, 2.0),
    ("quantity integer (pattern is for strings)", QUANTITY, 2),
    ("quantity string", QUANTITY, "256Mi"),
    ("quantity exponent", QUANTITY, "1e3"),
    ("nullable object null", {"type": "object", "nullable": True}, None),
    ("untyped preserved", {"x-kubernetes-preserve-unknown-fields": True}, {"any": [1]}),
    (
        "set of distinct",
        {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        ["a", "b"],
    ),
    ("anyOf one matches", {"anyOf": [{"type": "integer"}, {"type": "string"}]}, "x"),
    ("multipleOf", {"type": "integer", "multipleOf": 5}, 15),
]


@pytest.mark.parametrize(
    ("schema", "value"), [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED]
)
def test_accepted_values(spec_schema: SchemaFactory, schema: dict[str, Any], value: Any) -> None:
    assert spec_schema(schema).validate({"spec": value}) == []


REJECTED: list[tuple[str, dict[str, Any], Any, str, str, str]] = [
    (
        "string given int",
        {"type": "string"},
        5,
        "spec",
        CauseType.TYPE_INVALID,
        'Invalid value: "integer": spec in body must be of type string: "integer"',
    ),
    (
        "integer given float",
        {"type": "integer"},
        1.5,
        "spec",
        CauseType.TYPE_INVALID,
        'Invalid value: "number": spec in body must be of type integer: "number"',
    ),
    (
        "integer given bool",
        {"type": "integer"},
        True,
        "spec",
        CauseType.TYPE_INVALID,
        'Invalid value: "boolean": spec in body must be of type integer: "boolean"',
    ),
    (
        "number given string",
        {"type": "number"},
        "1",
        "spec",
        CauseType.TYPE_INVALID,
        'Invalid value: "string": spec in body must be of type number: "string"',
    ),
    (
        "object given list",
        OBJECT_X,
        [],
        "spec",
        CauseType.TYPE_INVALID,
        'Invalid value: "array": spec in body must be of type object: "array"',
    ),
    (
        "null not nullable",
        {"type": "string"},
        None,
        "spec",
        CauseType.TYPE_INVALID,
        'Invalid value: "null": spec in body must be of type string: "null"',
    ),
    (
        "enum",
        {"type": "string", "enum": ["A", "B"]},
        "C",
        "spec",
        CauseType.NOT_SUPPORTED,
        'Unsupported value: "C": supported values: "A", "B"',
    ),
    (
        "pattern",
        {"type": "string", "pattern": "^a$"},
        "b",
        "spec",
        CauseType.INVALID,
        "Invalid value: \"b\": spec in body should match '^a$'",
    ),
    (
        "pattern $ is end of text",
        {"type": "string", "pattern": "^a$"},
        "a\n",
        "spec",
        CauseType.INVALID,
        "Invalid value: \"a\\n\": spec in body should match '^a$'",
    ),
    (
        "minLength",
        {"type": "string", "minLength": 1},
        "",
        "spec",
        CauseType.INVALID,
        'Invalid value: "": spec in body should be at least 1 chars long',
    ),
    (
        "maxLength",
        {"type": "string", "maxLength": 2},
        "abc",
        "spec",
        CauseType.TOO_LONG,
        "Too long: may not be more than 2 bytes",
    ),
    (
        "minimum",
        {"type": "number", "minimum": 0},
        -1,
        "spec",
        CauseType.INVALID,
        "Invalid value: -1: spec in body should be greater than or equal to 0",
    ),
    (
        "maximum",
        {"type": "number", "maximum": 1},
        1.5,
        "spec",
        CauseType.INVALID,
        "Invalid value: 1.5: spec in body should be less than or equal to 1",
    ),
    (
        "exclusiveMinimum",
        {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        0,
        "spec",
        CauseType.INVALID,
        "Invalid value: 0: spec in body should be greater than 0",
    ),
    (
        "minItems",
        {"type": "array", "minItems": 2, "items": {"type": "string"}},
        ["a"],
        "spec",
        CauseType.INVALID,
        "Invalid value: 1: spec in body should have at least 2 items",
    ),
    (
        "maxItems",
        {"type": "array", "maxItems": 1, "items": {"type": "string"}},
        ["a", "b"],
        "spec",
        CauseType.TOO_MANY,
        "Too many: 2: must have at most 1 item",
    ),
    (
        "minProperties",
        {"type": "object", "minProperties": 1, "additionalProperties": {}},
        {},
        "spec",
        CauseType.INVALID,
        "Invalid value: 0: spec in body should have at least 1 properties",
    ),
    (
        "maxProperties",
        {"type": "object", "maxProperties": 1, "additionalProperties": {}},
        {"a": 1, "b": 2},
        "spec",
        CauseType.TOO_MANY,
        "Too many: 2: must have at most 1 item",
    ),
    (
        "required",
        {"type": "object", "required": ["x"], "properties": {"x": {"type": "string"}}},
        {},
        "spec.x",
        CauseType.REQUIRED,
        "Required value",
    ),
    (
        "nested property",
        {"type": "object", "properties": {"x": {"type": "integer"}}},
        {"x": "1"},
        "spec.x",
        CauseType.TYPE_INVALID,
        'Invalid value: "string": spec.x in body must be of type integer: "string"',
    ),
    (
        "additionalProperties value",
        {"type": "object", "additionalProperties": {"type": "string", "maxLength": 1}},
        {"key": "long"},
        "spec.key",
        CauseType.TOO_LONG,
        "Too long: may not be more than 1 byte",
    ),
    (
        "array item",
        {"type": "array", "items": {"type": "string", "enum": ["a"]}},
        ["a", "b"],
        "spec[1]",
        CauseType.NOT_SUPPORTED,
        'Unsupported value: "b": supported values: "a"',
    ),
    (
        "date-time",
        {"type": "string", "format": "date-time"},
        "yesterday",
        "spec",
        CauseType.TYPE_INVALID,
        'Invalid value: "yesterday": spec in body must be of type date-time: "yesterday"',
    ),
    (
        "date-time month 13",
        {"type": "string", "format": "date-time"},
        "2026-13-01T00:00:00Z",
        "spec",
        CauseType.TYPE_INVALID,
        'Invalid value: "2026-13-01T00:00:00Z": spec in body must be of type date-time:'
        ' "2026-13-01T00:00:00Z"',
    ),
    (
        "int32 overflow",
        {"type": "integer", "format": "int32"},
        2**31,
        "<nil>",
        CauseType.INVALID,
        'Invalid value: "": Checked value must be of type integer with format int32 in spec',
    ),
    (
        "int-or-string bool",
        {"x-kubernetes-int-or-string": True},
        True,
        "spec",
        CauseType.TYPE_INVALID,
        'Invalid value: "boolean": spec in body must be of type integer,string: "boolean"',
    ),
    (
        "set duplicate",
        {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        ["a", "b", "a"],
        "spec[2]",
        CauseType.DUPLICATE,
        'Duplicate value: "a"',
    ),
    (
        "map list duplicate key",
        {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "v": {"type": "integer"}},
            },
        },
        [{"name": "a", "v": 1}, {"name": "a", "v": 2}],
        "spec[1]",
        CauseType.DUPLICATE,
        'Duplicate value: {"name":"a"}',
    ),
    (
        "map list missing key",
        {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "properties": {"name": {"type": "string"}}},
        },
        [{}],
        "spec[0].name",
        CauseType.REQUIRED,
        "Required value",
    ),
    (
        "anyOf none matches",
        {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        True,
        "<nil>",
        CauseType.INVALID,
        'Invalid value: "": "spec" must validate at least one schema (anyOf)',
    ),
    (
        "oneOf both match",
        {"oneOf": [{"type": "integer"}, {"minimum": 0}]},
        1,
        "<nil>",
        CauseType.INVALID,
        'Invalid value: "": "spec" must validate one and only one schema (oneOf). Found 2 valid'
        " alternatives",
    ),
    (
        "not",
        {"type": "string", "not": {"enum": ["x"]}},
        "x",
        "<nil>",
        CauseType.INVALID,
        'Invalid value: "": "spec" must not validate the schema (not)',
    ),
    (
        "allOf",
        {"type": "integer", "allOf": [{"minimum": 5}]},
        1,
        "spec",
        CauseType.INVALID,
        "Invalid value: 1: spec in body should be greater than or equal to 5",
    ),
    (
        "multipleOf",
        {"type": "integer", "multipleOf": 5},
        7,
        "spec",
        CauseType.INVALID,
        "Invalid value: 7: spec in body should be a multiple of 5",
    ),
    (
        "int64 given float",
        {"type": "integer", "format": "int64"},
        1.5,
        "spec",
        CauseType.TYPE_INVALID,
        'Invalid value: "float64": spec in body must be of type int64: "float64"',
    ),
    (
        "int-or-string quantity given float",
        QUANTITY,
        1.5,
        "spec",
        CauseType.TYPE_INVALID,
        'Invalid value: "number": spec in body must be of type integer,string: "number"',
    ),
    (
        "int-or-string quantity given list",
        QUANTITY,
        [1],
        "spec",
        CauseType.TYPE_INVALID,
        'Invalid value: "array": spec in body must be of type integer,string: "array"',
    ),
    (
        "int-or-string quantity pattern",
        QUANTITY,
        "lots",
        "spec",
        CauseType.INVALID,
        f"Invalid value: \"lots\": spec in body should match '{QUANTITY['pattern']}'",
    ),
    (
        "allOf one of two",
        {"type": "integer", "allOf": [{"minimum": 0}, {"maximum": 3}]},
        5,
        "spec",
        CauseType.INVALID,
        "Invalid value: 5: spec in body should be less than or equal to 3",
    ),
    (
        "oneOf none matches",
        {"type": "integer", "oneOf": [{"minimum": 20}, {"maximum": -10}]},
        5,
        "<nil>",
        CauseType.INVALID,
        'Invalid value: "": "spec" must validate one and only one schema (oneOf). Found none valid',
    ),
    (
        "list item null",
        {"type": "array", "items": {"type": "string"}},
        ["a", None],
        "spec[1]",
        CauseType.TYPE_INVALID,
        'Invalid value: "null": spec[1] in body must be of type string: "null"',
    ),
]
ALSO_REPORTED: dict[str, list[FieldError]] = {
    "integer given float": [
        FieldError(
            "<nil>",
            CauseType.INVALID,
            'Invalid value: "": Checked value must be of type integer (default format) in spec',
        )
    ],
    "int64 given float": [
        FieldError(
            "<nil>",
            CauseType.INVALID,
            'Invalid value: "": Checked value must be of type integer with format int64 in spec',
        )
    ],
    "anyOf none matches": [
        FieldError(
            "spec",
            CauseType.TYPE_INVALID,
            'Invalid value: "boolean": spec in body must be of type integer: "boolean"',
        )
    ],
    "int-or-string quantity given float": [
        FieldError(
            "<nil>",
            CauseType.INVALID,
            'Invalid value: "": "spec" must validate at least one schema (anyOf)',
        ),
        FieldError(
            "spec",
            CauseType.TYPE_INVALID,
            'Invalid value: "number": spec in body must be of type integer: "number"',
        ),
        FieldError(
            "<nil>",
            CauseType.INVALID,
            'Invalid value: "": Checked value must be of type integer (default format) in spec',
        ),
    ],
    "int-or-string quantity given list": [
        FieldError(
            "<nil>",
            CauseType.INVALID,
            'Invalid value: "": "spec" must validate at least one schema (anyOf)',
        ),
        FieldError(
            "spec",
            CauseType.TYPE_INVALID,
            'Invalid value: "array": spec in body must be of type integer: "array"',
        ),
    ],
    "allOf": [
        FieldError(
            "<nil>",
            CauseType.INVALID,
            'Invalid value: "": "spec" must validate all the schemas (allOf). None validated',
        )
    ],
    "allOf one of two": [
        FieldError(
            "<nil>",
            CauseType.INVALID,
            'Invalid value: "": "spec" must validate all the schemas (allOf)',
        )
    ],
    "oneOf none matches": [
        FieldError(
            "spec",
            CauseType.INVALID,
            "Invalid value: 5: spec in body should be greater than or equal to 20",
        )
    ],
}
"""Errors after the first, in the order kube-apiserver 1.36 reports them."""


@pytest.mark.parametrize(
    ("case", "schema", "value", "field", "reason", "message"),
    REJECTED,
    ids=[c[0] for c in REJECTED],
)
def test_rejected_values(
    spec_schema: SchemaFactory,
    *,
    case: str,
    schema: dict[str, Any],
    value: Any,
    field: str,
    reason: str,
    message: str,
) -> None:
    """Messages as kube-apiserver 1.36 words them (each seen on the test cluster)."""
    errors = spec_schema(schema).validate({"spec": value})
    assert errors == [FieldError(field, reason, message), *ALSO_REPORTED.get(case, [])]


def test_field_error_prints_field_then_message() -> None:
    assert (
        str(FieldError("spec.x", CauseType.REQUIRED, "Required value")) == "spec.x: Required value"
    )


def test_every_error_of_an_object_is_reported(spec_schema: SchemaFactory) -> None:
    schema = {
        "type": "object",
        "required": ["a", "b"],
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}, "c": {"type": "integer"}},
    }
    errors = spec_schema(schema).validate({"spec": {"c": "x"}})
    assert [error.field for error in errors] == ["spec.a", "spec.b", "spec.c"]


def test_a_type_error_stops_descent(spec_schema: SchemaFactory) -> None:
    schema = {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}
    errors = spec_schema(schema).validate({"spec": "not an object"})
    assert [error.reason for error in errors] == [CauseType.TYPE_INVALID]


def test_a_bad_pattern_makes_the_crd_unusable(spec_schema: SchemaFactory) -> None:
    with pytest.raises(ValueError, match=r"pattern: invalid regular expression"):
        spec_schema({"type": "string", "pattern": "(unclosed"})


def test_missing_version_is_reported(spec_schema: SchemaFactory) -> None:
    from kubernaut_wfe_tools.crdschema import CustomResourceSchema

    from_crd = CustomResourceSchema.from_crd
    schema = spec_schema({"type": "string"})
    assert schema.version == "v1"
    with pytest.raises(ValueError, match=r"has no version 'v2'"):
        from_crd({"metadata": {"name": "x"}, "spec": {"versions": [{"name": "v1"}]}}, "v2")


def test_multiple_of_tolerates_float_rounding(spec_schema: SchemaFactory) -> None:
    assert spec_schema({"type": "number", "multipleOf": 0.1}).validate({"spec": 0.3}) == []


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"name": "ok-name.v1", "namespace": "default"}, []),
        ({"generateName": "prefix-"}, []),
        ({}, ["metadata.name: Required value: name or generateName is required"]),
        ({"name": "Bad_Name"}, ["metadata.name"]),
        ({"name": "ok", "namespace": "Not.A.Label"}, ["metadata.namespace"]),
        (None, ["metadata.name: Required value"]),
    ],
)
def test_object_meta(metadata: Any, expected: list[str]) -> None:
    from kubernaut_wfe_tools.crdschema import validate_object_meta

    found = [str(error) for error in validate_object_meta(metadata)]
    assert len(found) == len(expected)
    for line, wanted in zip(found, expected, strict=True):
        assert line.startswith(wanted)
