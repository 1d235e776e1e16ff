"""Matching a new value's parts with the old object's (for transition rules and ratcheting).

Object properties and map values correlate by key, items of `map` lists by their key fields,
items of `set` lists by value; items of atomic lists do not correlate, as in the apiserver.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from kubernaut_wfe_tools.crdschema.nodes import SchemaNode


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""No correlated old value (a create, or a part that is new)."""


def canonical(value: Any) -> str:
    """Stable JSON text of a value (identity of set items and map-list keys)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def same_json(left: Any, right: Any) -> bool:
    """Deep equality that, like Go's DeepEqual on decoded JSON, tells 1, 1.0 and true apart."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same_json(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same_json, left, right))
    return bool(left == right)


def old_child(old: Any, key: str) -> Any:
    """The old value under `key`, or MISSING."""
    if isinstance(old, Mapping) and key in old:
        return old[key]
    return MISSING


def list_map_identity(keys: tuple[str, ...], item: Any) -> str | None:
    """The correlation key of an item of a `map` list, or None when it lacks a key."""
    if not isinstance(item, Mapping) or any(key not in item for key in keys):
        return None
    return canonical({key: item[key] for key in keys})


def item_identity(node: SchemaNode, item: Any) -> str | None:
    """How an item of `node`'s list correlates, or None (atomic lists, keyless items)."""
    if node.list_type == "map":
        return list_map_identity(node.list_map_keys, item)
    if node.list_type == "set":
        return canonical(item)
    return None


def old_items(node: SchemaNode, old: Any) -> dict[str, Any]:
    """The old list's items by identity; empty for atomic lists or when there is no old list."""
    if not isinstance(old, list) or node.list_type not in ("map", "set"):
        return {}
    correlated: dict[str, Any] = {}
    for item in old:
        identity = item_identity(node, item)
        if identity is not None:
            correlated.setdefault(identity, item)
    return correlated


def old_item(node: SchemaNode, correlated: Mapping[str, Any], item: Any) -> Any:
    """The old counterpart of a list item, or MISSING."""
    identity = item_identity(node, item)
    if identity is None or identity not in correlated:
        return MISSING
    return correlated[identity]
