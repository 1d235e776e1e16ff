"""x-kubernetes-validations: rules, messages, transition rules and evaluation errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from kubernaut_wfe_tools.crdschema import (
    CauseType,
    CustomResourceSchema,
    FieldError,
    RuleCompileError,
)

SchemaFactory = Callable[[Mapping[str, Any]], CustomResourceSchema]


def with_rules(schema: Mapping[str, Any], *rules: Mapping[str, Any]) -> dict[str, Any]:
    return {**schema, "x-kubernetes-validations": list(rules)}


MAP = {
    "type": "object",
    "maxProperties": 8,
    "additionalProperties": {"type": "string", "maxLength": 64},
}
IMMUTABLE = with_rules(
    {"type": "object", "properties": {"a": {"type": "string"}}},
    {"rule": "self == oldSelf", "message": "spec is immutable after creation"},
)

RULE_CASES: list[tuple[str, dict[str, Any], Any, list[str]]] = [
    (
        "all() over map keys passes",
        with_rules(MAP, {"rule": "self.all(k, k.matches('^[A-Z_]+$'))", "message": "bad key"}),
        {"A": "1", "B_C": "2"},
        [],
    ),
    (
        "all() over map keys fails",
        with_rules(MAP, {"rule": "self.all(k, k.matches('^[A-Z_]+$'))", "message": "bad key"}),
        {"A": "1", "b": "2"},
        ["spec: Invalid value: bad key"],
    ),
    (
        "in on a map",
        with_rules(MAP, {"rule": "!('RESERVED' in self)", "message": "RESERVED is reserved"}),
        {"RESERVED": "x"},
        ["spec: Invalid value: RESERVED is reserved"],
    ),
    (
        "size and has",
        with_rules(
            {"type": "object", "properties": {"a": {"type": "string", "maxLength": 10}}},
            {"rule": "!has(self.a) || size(self.a) > 2", "message": "a too short"},
        ),
        {"a": "x"},
        ["spec: Invalid value: a too short"],
    ),
    (
        "default message names the rule",
        with_rules({"type": "string", "maxLength": 10}, {"rule": "self != 'no'"}),
        "no",
        ["spec: Invalid value: \"no\": failed rule: self != 'no'"],
    ),
    (
        "messageExpression",
        with_rules(
            {"type": "integer"},
            {"rule": "self < 10", "messageExpression": "'got ' + string(self)", "message": "m"},
        ),
        12,
        ["spec: Invalid value: 12: got 12"],
    ),
    (
        "reason Forbidden and fieldPath",
        with_rules(
            {"type": "object", "properties": {"a": {"type": "string", "maxLength": 5}}},
            {
                "rule": "self.a != 'x'",
                "message": "not x",
                "reason": "FieldValueForbidden",
                "fieldPath": ".a",
            },
        ),
        {"a": "x"},
        ["spec.a: Forbidden: not x"],
    ),
    (
        "number is a double",
        with_rules({"type": "number"}, {"rule": "self <= 1.0", "message": "at most 1"}),
        2,
        ["spec: Invalid value: 2: at most 1"],
    ),
    (
        "date-time is a timestamp",
        with_rules(
            {"type": "string", "format": "date-time"},
            {"rule": "self < timestamp('2030-01-01T00:00:00Z')", "message": "too late"},
        ),
        "2031-01-01T00:00:00Z",
        ['spec: Invalid value: "2031-01-01T00:00:00Z": too late'],
    ),
    (
        "rules run on list items",
        {
            "type": "array",
            "maxItems": 4,
            "items": with_rules(
                {"type": "string", "maxLength": 8}, {"rule": "self != 'bad'", "message": "no bad"}
            ),
        },
        ["ok", "bad"],
        ['spec[1]: Invalid value: "bad": no bad'],
    ),
    (
        "rules run on map values",
        {
            "type": "object",
            "maxProperties": 4,
            "additionalProperties": with_rules(
                {"type": "string", "maxLength": 8}, {"rule": "self != 'bad'", "message": "no bad"}
            ),
        },
        {"k": "bad"},
        ['spec[k]: Invalid value: "bad": no bad'],
    ),
    (
        "evaluation error is a field error",
        with_rules(
            {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            {"rule": "self.missing == 1", "message": "never shown"},
        ),
        {},
        [
            "spec: Invalid value: \"object\": no such member in mapping: 'missing'"
            " evaluating rule: never shown"
        ],
    ),
]


@pytest.mark.parametrize(
    ("schema", "value", "expected"), [c[1:] for c in RULE_CASES], ids=[c[0] for c in RULE_CASES]
)
def test_rules(
    spec_schema: SchemaFactory, schema: dict[str, Any], value: Any, expected: list[str]
) -> None:
    assert [str(error) for error in spec_schema(schema).validate({"spec": value})] == expected


def test_transition_rule_rejects_a_change(spec_schema: SchemaFactory) -> None:
    errors = spec_schema(IMMUTABLE).validate({"spec": {"a": "new"}}, old={"spec": {"a": "old"}})
    assert errors == [
        FieldError("spec", CauseType.INVALID, "Invalid value: spec is immutable after creation")
    ]


def test_transition_rule_allows_an_unchanged_spec(spec_schema: SchemaFactory) -> None:
    obj = {"spec": {"a": "same"}, "status": {"x": 1}}
    assert spec_schema(IMMUTABLE).validate(obj, old={"spec": {"a": "same"}, "status": {}}) == []


def test_transition_rule_is_skipped_on_create(spec_schema: SchemaFactory) -> None:
    assert spec_schema(IMMUTABLE).validate({"spec": {"a": "new"}}) == []


def test_transition_rule_is_skipped_when_old_lacks_the_node(spec_schema: SchemaFactory) -> None:
    assert spec_schema(IMMUTABLE).validate({"spec": {"a": "new"}}, old={"status": {}}) == []


def test_transition_rules_correlate_map_list_items_by_key(spec_schema: SchemaFactory) -> None:
    schema = {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        "maxItems": 8,
        "items": with_rules(
            {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "maxLength": 8},
                    "v": {"type": "integer"},
                },
            },
            {"rule": "self.v >= oldSelf.v", "message": "v may not decrease"},
        ),
    }
    old = {"spec": [{"name": "a", "v": 5}, {"name": "b", "v": 1}]}
    new = {"spec": [{"name": "b", "v": 2}, {"name": "a", "v": 4}, {"name": "c", "v": 0}]}
    assert [str(e) for e in spec_schema(schema).validate(new, old=old)] == [
        "spec[1]: Invalid value: v may not decrease"
    ]


def test_structural_type_errors_block_rules(spec_schema: SchemaFactory) -> None:
    schema = with_rules(
        {"type": "object", "properties": {"n": {"type": "integer"}}},
        {"rule": "self.n > 0", "message": "n positive"},
    )
    errors = spec_schema(schema).validate({"spec": {"n": "one"}})
    assert [error.field for error in errors] == ["spec.n", "<nil>"]
    assert "some validation rules were not checked" in errors[1].message


def test_a_rule_that_does_not_parse_makes_the_crd_unusable(spec_schema: SchemaFactory) -> None:
    with pytest.raises(RuleCompileError, match=r"cannot compile CEL"):
        spec_schema(with_rules({"type": "string"}, {"rule": "self =="}))


def test_cached_outcomes_repeat_for_the_same_input_and_differ_for_another(
    spec_schema: SchemaFactory,
) -> None:
    schema = spec_schema(with_rules(MAP, {"rule": "!('X' in self)", "message": "no X"}))
    for _ in range(2):
        assert [str(e) for e in schema.validate({"spec": {"X": "1"}})] == [
            "spec: Invalid value: no X"
        ]
        assert schema.validate({"spec": {"Y": "1"}}) == []


def test_transition_outcome_depends_on_the_old_value(spec_schema: SchemaFactory) -> None:
    schema = spec_schema(IMMUTABLE)
    new = {"spec": {"a": "v"}}
    assert schema.validate(new, old={"spec": {"a": "v"}}) == []
    assert len(schema.validate(new, old={"spec": {"a": "w"}})) == 1
    assert schema.validate(new, old={"spec": {"a": "v"}}) == []


def test_field_path_with_a_quoted_key(spec_schema: SchemaFactory) -> None:
    schema = with_rules(
        {"type": "object", "properties": {"m": MAP}},
        {"rule": "!('a.b' in self.m)", "message": "no a.b", "fieldPath": ".m['a.b']"},
    )
    assert [str(e) for e in spec_schema(schema).validate({"spec": {"m": {"a.b": "1"}}})] == [
        "spec.m[a.b]: Invalid value: no a.b"
    ]


@pytest.mark.parametrize(
    ("value", "blocks"),
    [
        ({"n": 1, "s": "toolong"}, True),
        ({"s": "ok"}, True),
        ({"n": 1, "s": "ok", "e": "no"}, True),
        ({"n": 1, "s": "ok", "m": 5}, False),
    ],
    ids=["too long", "required", "enum", "minimum (not blocking)"],
)
def test_which_structural_errors_block_rules(
    spec_schema: SchemaFactory, value: dict[str, Any], blocks: bool
) -> None:
    schema = with_rules(
        {
            "type": "object",
            "required": ["n"],
            "properties": {
                "n": {"type": "integer"},
                "s": {"type": "string", "maxLength": 3},
                "e": {"type": "string", "enum": ["yes"]},
                "m": {"type": "integer", "minimum": 10},
            },
        },
        {"rule": "false", "message": "rule ran"},
    )
    messages = [str(error) for error in spec_schema(schema).validate({"spec": value})]
    assert ("spec: Invalid value: rule ran" not in messages) is blocks
    assert any(m.startswith("<nil>: ") for m in messages) is blocks


def test_a_field_path_to_nowhere_makes_the_crd_unusable(spec_schema: SchemaFactory) -> None:
    schema = with_rules(
        {"type": "object", "properties": {"a": {"type": "string"}}},
        {"rule": "true", "fieldPath": ".b"},
    )
    with pytest.raises(RuleCompileError, match=r"'b' does not refer to a valid field"):
        spec_schema(schema)
