"""The status write's merge patch."""

from __future__ import annotations

from typing import Any

import pytest

from kubernaut_wfe.reconcile.status import merge_patch


@pytest.mark.parametrize(
    ("old", "new", "patch"),
    [
        ({}, {"a": 1}, {"a": 1}),
        ({"a": 1, "b": 2}, {"a": 1}, {"a": 1, "b": None}),
        ({"s": {"x": 1, "y": 2}}, {"s": {"x": 3}}, {"s": {"x": 3, "y": None}}),
        ({"l": [1, 2]}, {"l": [3]}, {"l": [3]}),
        ({"s": {"x": 1}}, {"s": 5}, {"s": 5}),
    ],
)
def test_merge_patch(old: dict[str, Any], new: dict[str, Any], patch: dict[str, Any]) -> None:
    assert merge_patch(old, new) == patch
