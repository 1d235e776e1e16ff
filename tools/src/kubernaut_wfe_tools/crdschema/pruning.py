"""Pruning of unknown fields and defaulting, as the apiserver decodes a custom resource."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from kubernaut_wfe_tools.crdschema.nodes import SchemaNode

OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)
_TYPE_META_FIELDS = ("apiVersion", "kind")


def prune_value(
    node: SchemaNode, value: Any, path: str, unknown: list[str], *, resource_root: bool = False
) -> Any:
    """A copy of `value` without the fields `node` does not specify; their paths go to `unknown`.

    `resource_root` marks the top of a resource (the object itself or an embedded resource),
    where apiVersion, kind and metadata are always kept (metadata cut down to ObjectMeta).
    """
    if isinstance(value, Mapping):
        return _prune_object(node, value, path, unknown, resource_root or node.embedded_resource)
    if isinstance(value, list):
        if node.items is None:
            return copy.deepcopy(value)
        return [
            prune_value(node.items, item, f"{path}[{index}]", unknown)
            for index, item in enumerate(value)
        ]
    return value


def _prune_object(
    node: SchemaNode, value: Mapping[str, Any], path: str, unknown: list[str], resource_root: bool
) -> dict[str, Any]:
    pruned: dict[str, Any] = {}
    for key, item in value.items():
        child_path = f"{path}.{key}"
        if resource_root and key in _TYPE_META_FIELDS:
            pruned[key] = copy.deepcopy(item)
        elif resource_root and key == "metadata" and isinstance(item, Mapping):
            pruned[key] = _prune_metadata(item, child_path, unknown)
        elif key in node.properties:
            pruned[key] = prune_value(node.properties[key], item, child_path, unknown)
        elif node.additional_properties is not None:
            pruned[key] = prune_value(node.additional_properties, item, child_path, unknown)
        elif node.preserve_unknown_fields:
            pruned[key] = copy.deepcopy(item)
        else:
            unknown.append(child_path)
    return pruned


def _prune_metadata(metadata: Mapping[str, Any], path: str, unknown: list[str]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, item in metadata.items():
        if key in OBJECT_META_FIELDS:
            kept[key] = copy.deepcopy(item)
        else:
            unknown.append(f"{path}.{key}")
    return kept


def apply_defaults(node: SchemaNode, value: Any) -> None:
    """Fill in `default`s in place, as the apiserver's defaulter does: a null where the schema
    does not allow one is dropped (or replaced by the field's default), then absent fields get
    their defaults."""
    if isinstance(value, dict):
        for key in [key for key, item in value.items() if item is None]:
            child = node.properties.get(key) or node.additional_properties
            if child is not None and not child.nullable and "default" not in child.raw:
                del value[key]
        for name, child in node.properties.items():
            if "default" in child.raw and (
                name not in value or (value[name] is None and not child.nullable)
            ):
                value[name] = copy.deepcopy(child.raw["default"])
        for key, item in value.items():
            target = node.properties.get(key) or node.additional_properties
            if target is not None:
                apply_defaults(target, item)
    elif isinstance(value, list) and node.items is not None:
        for item in value:
            apply_defaults(node.items, item)
