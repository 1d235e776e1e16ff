"""A CRD's openAPIV3Schema compiled once into a tree of nodes (patterns and CEL ready)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import re2  # type: ignore[import-untyped]  # Go's regex semantics; installed with cel-python

from kubernaut_wfe_tools.crdschema.cel import CompiledRule, compile_rules


@dataclass(frozen=True, eq=False)
class SchemaNode:
    """One schema node; scalar keywords are read from `raw`, children are compiled nodes."""

    raw: Mapping[str, Any]
    properties: Mapping[str, SchemaNode] = field(default_factory=dict)
    additional_properties: SchemaNode | None = None
    items: SchemaNode | None = None
    all_of: tuple[SchemaNode, ...] = ()
    any_of: tuple[SchemaNode, ...] = ()
    one_of: tuple[SchemaNode, ...] = ()
    not_: SchemaNode | None = None
    pattern: Any | None = None
    rules: tuple[CompiledRule, ...] = ()
    subtree_has_rules: bool = False
    """True when this node or any node below it carries CEL rules (lets validation skip)."""

    @property
    def type(self) -> str | None:
        value = self.raw.get("type")
        return str(value) if value else None

    @property
    def format(self) -> str | None:
        value = self.raw.get("format")
        return str(value) if value else None

    @property
    def nullable(self) -> bool:
        return bool(self.raw.get("nullable"))

    @property
    def preserve_unknown_fields(self) -> bool:
        return bool(self.raw.get("x-kubernetes-preserve-unknown-fields")) or (
            self.raw.get("additionalProperties") is True
        )

    @property
    def embedded_resource(self) -> bool:
        return bool(self.raw.get("x-kubernetes-embedded-resource"))

    @property
    def int_or_string(self) -> bool:
        return bool(self.raw.get("x-kubernetes-int-or-string"))

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(self.raw.get("required") or ())

    @property
    def list_type(self) -> str | None:
        value = self.raw.get("x-kubernetes-list-type")
        return str(value) if value else None

    @property
    def list_map_keys(self) -> tuple[str, ...]:
        return tuple(self.raw.get("x-kubernetes-list-map-keys") or ())


def compile_node(raw: Mapping[str, Any], where: str = "openAPIV3Schema") -> SchemaNode:
    """Compile a schema mapping; raises ValueError for a bad pattern or CEL rule."""
    properties = {
        name: compile_node(child, f"{where}.properties[{name}]")
        for name, child in (raw.get("properties") or {}).items()
    }
    additional = raw.get("additionalProperties")
    pattern = None
    if "pattern" in raw:
        try:
            pattern = re2.compile(str(raw["pattern"]))
        except re2.error as exc:
            raise ValueError(f"{where}.pattern: invalid regular expression: {exc}") from exc
    additional_node = (
        compile_node(additional, f"{where}.additionalProperties")
        if isinstance(additional, Mapping)
        else None
    )
    items_node = (
        compile_node(raw["items"], f"{where}.items")
        if isinstance(raw.get("items"), Mapping)
        else None
    )
    rules = compile_rules(raw, where)
    children = [*properties.values(), additional_node, items_node]
    return SchemaNode(
        raw=raw,
        properties=properties,
        additional_properties=additional_node,
        items=items_node,
        all_of=_compile_all(raw.get("allOf"), f"{where}.allOf"),
        any_of=_compile_all(raw.get("anyOf"), f"{where}.anyOf"),
        one_of=_compile_all(raw.get("oneOf"), f"{where}.oneOf"),
        not_=compile_node(raw["not"], f"{where}.not")
        if isinstance(raw.get("not"), Mapping)
        else None,
        pattern=pattern,
        rules=rules,
        subtree_has_rules=bool(rules)
        or any(child is not None and child.subtree_has_rules for child in children),
    )


def _compile_all(raw: Any, where: str) -> tuple[SchemaNode, ...]:
    return tuple(compile_node(child, f"{where}[{i}]") for i, child in enumerate(raw or ()))
