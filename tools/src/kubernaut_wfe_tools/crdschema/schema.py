"""`CustomResourceSchema`: one served version of a CRD, compiled for pruning and validation."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernaut_wfe_tools.crdschema import errors as fe
from kubernaut_wfe_tools.crdschema.cel import evaluate_rules
from kubernaut_wfe_tools.crdschema.correlation import (
    MISSING,
    old_child,
    old_item,
    old_items,
    same_json,
)
from kubernaut_wfe_tools.crdschema.errors import CauseType, FieldError
from kubernaut_wfe_tools.crdschema.nodes import SchemaNode, compile_node
from kubernaut_wfe_tools.crdschema.pruning import apply_defaults, prune_value
from kubernaut_wfe_tools.crdschema.structural import validate_value

_BLOCKING_CAUSES = frozenset(
    {
        CauseType.NOT_SUPPORTED,
        CauseType.REQUIRED,
        CauseType.TOO_LONG,
        CauseType.TOO_MANY,
        CauseType.TYPE_INVALID,
    }
)
"""Structural errors after which the apiserver does not run CEL rules (strategy.go)."""
RULES_NOT_CHECKED = FieldError(
    "<nil>",
    CauseType.INVALID,
    "Invalid value: null: some validation rules were not checked because the object was "
    "invalid; correct the existing errors to complete validation",
)


@dataclass(frozen=True)
class ResourceNames:
    """`spec.names` of a CRD."""

    kind: str
    plural: str
    singular: str
    list_kind: str
    short_names: tuple[str, ...]
    categories: tuple[str, ...]


@dataclass(frozen=True)
class PrinterColumn:
    """One `additionalPrinterColumns` entry."""

    name: str
    type: str
    json_path: str
    priority: int = 0
    format: str = ""
    description: str = ""


class CustomResourceSchema:
    """A CRD version's schema and metadata; compile once with `from_crd`, then reuse."""

    def __init__(
        self,
        *,
        group: str,
        version: str,
        scope: str,
        names: ResourceNames,
        root: SchemaNode,
        printer_columns: tuple[PrinterColumn, ...],
        subresources: Mapping[str, Any],
        served: bool,
        storage: bool,
    ) -> None:
        self.group = group
        self.version = version
        self.scope = scope
        self.names = names
        self.root = root
        self.printer_columns = printer_columns
        self.subresources = subresources
        self.served = served
        self.storage = storage

    @classmethod
    def from_crd(cls, crd: Mapping[str, Any], version: str) -> CustomResourceSchema:
        """Compile `version` of a CustomResourceDefinition; ValueError when it is unusable."""
        spec = crd.get("spec")
        if not isinstance(spec, Mapping):
            raise ValueError("CustomResourceDefinition without spec")
        name = str(crd.get("metadata", {}).get("name", "?"))
        entry = next((v for v in spec.get("versions") or () if v.get("name") == version), None)
        if entry is None:
            raise ValueError(f"CustomResourceDefinition {name} has no version {version!r}")
        raw_schema = (entry.get("schema") or spec.get("validation") or {}).get("openAPIV3Schema")
        if not isinstance(raw_schema, Mapping):
            raise ValueError(f"CustomResourceDefinition {name} {version}: no openAPIV3Schema")
        raw_names = spec.get("names") or {}
        kind = str(raw_names.get("kind", ""))
        names = ResourceNames(
            kind=kind,
            plural=str(raw_names.get("plural", "")),
            singular=str(raw_names.get("singular") or kind.lower()),
            list_kind=str(raw_names.get("listKind") or f"{kind}List"),
            short_names=tuple(raw_names.get("shortNames") or ()),
            categories=tuple(raw_names.get("categories") or ()),
        )
        columns = tuple(
            PrinterColumn(
                name=str(column["name"]),
                type=str(column.get("type", "string")),
                json_path=str(column["jsonPath"]),
                priority=int(column.get("priority", 0)),
                format=str(column.get("format", "")),
                description=str(column.get("description", "")),
            )
            for column in entry.get("additionalPrinterColumns") or ()
        )
        return cls(
            group=str(spec.get("group", "")),
            version=version,
            scope=str(spec.get("scope", "Namespaced")),
            names=names,
            root=compile_node(raw_schema),
            printer_columns=columns,
            subresources=dict(entry.get("subresources") or {}),
            served=bool(entry.get("served", True)),
            storage=bool(entry.get("storage", False)),
        )

    @classmethod
    def for_served_versions(cls, crd: Mapping[str, Any]) -> dict[str, CustomResourceSchema]:
        """One compiled schema per served version of the CRD."""
        return {
            str(entry["name"]): cls.from_crd(crd, str(entry["name"]))
            for entry in crd.get("spec", {}).get("versions") or ()
            if entry.get("served", True)
        }

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def namespaced(self) -> bool:
        return self.scope == "Namespaced"

    @property
    def has_status_subresource(self) -> bool:
        return "status" in self.subresources

    @property
    def openapi_schema(self) -> Mapping[str, Any]:
        """The raw openAPIV3Schema of this version."""
        return self.root.raw

    def prune(self, obj: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """A deep copy without unknown fields, and the removed paths (`.spec.foo`)."""
        unknown: list[str] = []
        pruned = prune_value(self.root, obj, "", unknown, resource_root=True)
        return pruned, unknown

    def default(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """A deep copy with the schema's `default` values filled in."""
        defaulted = copy.deepcopy(dict(obj))
        apply_defaults(self.root, defaulted)
        return defaulted

    def validate(
        self,
        obj: Mapping[str, Any],
        old: Mapping[str, Any] | None = None,
        *,
        ratcheting: bool = True,
    ) -> list[FieldError]:
        """Schema violations of `obj`, then its CEL rules (transition rules only with `old`).

        On update (`old` given) and with `ratcheting` (the Kubernetes 1.30+ default), parts
        equal to their old counterparts are not re-checked, except by transition rules.
        """
        ratchet_old: Any = old if old is not None and ratcheting else MISSING
        errors: list[FieldError] = []
        validate_value(self.root, obj, "", errors, old=ratchet_old)
        if not self.root.subtree_has_rules:
            return errors
        if any(error.reason in _BLOCKING_CAUSES for error in errors):
            errors.append(RULES_NOT_CHECKED)
            return errors
        _walk_rules(
            self.root,
            obj,
            old if old is not None else MISSING,
            path="",
            errors=errors,
            ratcheting=ratcheting,
        )
        return errors


def _walk_rules(
    node: SchemaNode,
    value: Any,
    old: Any,
    *,
    path: str,
    errors: list[FieldError],
    ratcheting: bool,
) -> None:
    if not node.subtree_has_rules or value is None:
        return
    has_old = old is not MISSING
    evaluate_rules(
        node,
        value,
        old if has_old else None,
        has_old=has_old,
        path=path,
        errors=errors,
        only_transition_rules=ratcheting and has_old and same_json(value, old),
    )
    if isinstance(value, Mapping):
        for key, item in value.items():
            child = node.properties.get(key)
            child_path = fe.child_path(path, key)
            if child is None:
                child = node.additional_properties
                child_path = fe.key_path(path, key)
            if child is not None:
                _walk_rules(
                    child,
                    item,
                    old_child(old, key),
                    path=child_path,
                    errors=errors,
                    ratcheting=ratcheting,
                )
    elif isinstance(value, list) and node.items is not None:
        correlated = old_items(node, old)
        for index, item in enumerate(value):
            _walk_rules(
                node.items,
                item,
                old_item(node, correlated, item),
                path=fe.index_path(path, index),
                errors=errors,
                ratcheting=ratcheting,
            )
