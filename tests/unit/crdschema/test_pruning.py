"""Pruning unknown fields like the apiserver, and the paths that strict validation reports."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from kubernaut_wfe_tools.crdschema import CustomResourceSchema

SchemaFactory = Callable[[Mapping[str, Any]], CustomResourceSchema]

NESTED: dict[str, Any] = {
    "type": "object",
    "properties": {
        "known": {"type": "string"},
        "child": {"type": "object", "properties": {"a": {"type": "integer"}}},
        "items": {
            "type": "array",
            "items": {"type": "object", "properties": {"name": {"type": "string"}}},
        },
        "labels": {
            "type": "object",
            "additionalProperties": {"type": "object", "properties": {"v": {"type": "string"}}},
        },
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "partly": {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "properties": {"typed": {"type": "object", "properties": {"k": {"type": "string"}}}},
        },
        "template": {
            "type": "object",
            "x-kubernetes-embedded-resource": True,
            "properties": {"spec": {"type": "object", "properties": {"x": {"type": "string"}}}},
        },
        "opaque": {"type": "object"},
    },
}

CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[str]]] = [
    ("known field kept", {"known": "v"}, {"known": "v"}, []),
    ("unknown top field", {"known": "v", "extra": 1}, {"known": "v"}, [".spec.extra"]),
    ("unknown nested field", {"child": {"a": 1, "b": 2}}, {"child": {"a": 1}}, [".spec.child.b"]),
    (
        "unknown field in list item",
        {"items": [{"name": "a"}, {"name": "b", "zz": 1}]},
        {"items": [{"name": "a"}, {"name": "b"}]},
        [".spec.items[1].zz"],
    ),
    (
        "unknown field under a map value",
        {"labels": {"k": {"v": "1", "w": "2"}}},
        {"labels": {"k": {"v": "1"}}},
        [".spec.labels.k.w"],
    ),
    (
        "preserve-unknown-fields keeps all",
        {"free": {"a": {"b": [1]}}},
        {"free": {"a": {"b": [1]}}},
        [],
    ),
    (
        "preserve-unknown-fields still prunes specified children",
        {"partly": {"other": 1, "typed": {"k": "v", "junk": 2}}},
        {"partly": {"other": 1, "typed": {"k": "v"}}},
        [".spec.partly.typed.junk"],
    ),
    (
        "embedded resource keeps type and object meta",
        {
            "template": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p", "labels": {"a": "b"}, "bogus": 1},
                "spec": {"x": "y", "z": 1},
            }
        },
        {
            "template": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p", "labels": {"a": "b"}},
                "spec": {"x": "y"},
            }
        },
        [".spec.template.metadata.bogus", ".spec.template.spec.z"],
    ),
    (
        "object without properties drops everything",
        {"opaque": {"a": 1}},
        {"opaque": {}},
        [".spec.opaque.a"],
    ),
]


@pytest.mark.parametrize(
    ("spec", "expected", "unknown"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_prune(
    spec_schema: SchemaFactory, spec: dict[str, Any], expected: dict[str, Any], unknown: list[str]
) -> None:
    pruned, removed = spec_schema(NESTED).prune({"spec": spec})
    assert pruned == {"spec": expected}
    assert removed == unknown


def test_prune_keeps_type_meta_and_object_meta_at_the_top(spec_schema: SchemaFactory) -> None:
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "Thing",
        "metadata": {"name": "a", "namespace": "n", "annotations": {"x": "y"}, "color": "red"},
        "spec": {"known": "v"},
        "junk": True,
    }
    pruned, removed = spec_schema(NESTED).prune(obj)
    assert pruned == {
        "apiVersion": "example.com/v1",
        "kind": "Thing",
        "metadata": {"name": "a", "namespace": "n", "annotations": {"x": "y"}},
        "spec": {"known": "v"},
    }
    assert removed == [".metadata.color", ".junk"]


def test_prune_returns_a_copy(spec_schema: SchemaFactory) -> None:
    obj = {"spec": {"free": {"a": [1]}}}
    pruned, _ = spec_schema(NESTED).prune(obj)
    pruned["spec"]["free"]["a"].append(2)
    assert obj == {"spec": {"free": {"a": [1]}}}


def test_defaults_fill_absent_fields_and_nulls(spec_schema: SchemaFactory) -> None:
    schema = {
        "type": "object",
        "properties": {
            "mode": {"type": "string", "default": "fast"},
            "level": {"type": "integer", "default": 3},
            "inner": {
                "type": "object",
                "properties": {"flag": {"type": "boolean", "default": True}},
            },
        },
    }
    obj: dict[str, Any] = {"spec": {"level": None, "inner": {}}}
    assert spec_schema(schema).default(obj) == {
        "spec": {"mode": "fast", "level": 3, "inner": {"flag": True}}
    }
    assert obj == {"spec": {"level": None, "inner": {}}}
