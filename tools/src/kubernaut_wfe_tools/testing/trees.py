"""Nested YAML documents seen as dotted keys (the way the configuration's keys are named)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def dotted_leaves(tree: Mapping[str, Any], prefix: str = "") -> set[str]:
    """`{"a.b", "a.c"}` for `{"a": {"b": 1, "c": 2}}`: the dotted path of every leaf."""
    leaves: set[str] = set()
    for key, value in tree.items():
        if isinstance(value, Mapping):
            leaves |= dotted_leaves(value, f"{prefix}{key}.")
        else:
            leaves.add(f"{prefix}{key}")
    return leaves
