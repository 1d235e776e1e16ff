"""RFC 6902 JSON patch and RFC 7386 merge patch."""

from __future__ import annotations

from typing import Any

import pytest

from kubernaut_wfe_tools.emulator.errors import ApiError
from kubernaut_wfe_tools.emulator.patching import json_patch, merge_patch

DOC: dict[str, Any] = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [
        ({"a": 1}, {"a": None}, {}),
        ({"a": {"b": 1}}, {"a": {"c": 2}}, {"a": {"b": 1, "c": 2}}),
        ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),
        ({"a": 1}, {"b": {"c": None}}, {"a": 1, "b": {}}),
        ({"a": 1}, ["x"], ["x"]),
    ],
)
def test_merge_patch(target: Any, patch: Any, expected: Any) -> None:
    assert merge_patch(target, patch) == expected


@pytest.mark.parametrize(
    ("operations", "expected"),
    [
        ([{"op": "add", "path": "/e", "value": 2}], {**DOC, "e": 2}),
        ([{"op": "add", "path": "/a/c/-", "value": 3}], {**DOC, "a": {"b": 1, "c": [1, 2, 3]}}),
        ([{"op": "add", "path": "/a/c/0", "value": 0}], {**DOC, "a": {"b": 1, "c": [0, 1, 2]}}),
        ([{"op": "remove", "path": "/d"}], {"a": DOC["a"]}),
        ([{"op": "replace", "path": "/d", "value": "y"}], {**DOC, "d": "y"}),
        ([{"op": "move", "from": "/d", "path": "/e"}], {"a": DOC["a"], "e": "x"}),
        ([{"op": "copy", "from": "/d", "path": "/e"}], {**DOC, "e": "x"}),
        ([{"op": "test", "path": "/a/b", "value": 1}], DOC),
        ([{"op": "add", "path": "/a~1b", "value": 1}], {**DOC, "a/b": 1}),
    ],
)
def test_json_patch_operations(operations: list[dict[str, Any]], expected: Any) -> None:
    assert json_patch(DOC, operations) == expected
    assert DOC == {"a": {"b": 1, "c": [1, 2]}, "d": "x"}


@pytest.mark.parametrize(
    "operations",
    [
        [{"op": "test", "path": "/a/b", "value": 2}],
        [{"op": "remove", "path": "/missing"}],
        [{"op": "replace", "path": "/missing", "value": 1}],
        [{"op": "add", "path": "/a/c/5", "value": 1}],
        [{"op": "add", "path": "/a/c/01", "value": 1}],
        [{"op": "nope", "path": "/a"}],
        [{"op": "add", "path": "/a"}],
        [{"path": "/a"}],
    ],
)
def test_json_patch_failures_are_422(operations: list[dict[str, Any]]) -> None:
    with pytest.raises(ApiError) as caught:
        json_patch(DOC, operations)
    assert caught.value.code == 422


def test_json_patch_must_be_a_list() -> None:
    with pytest.raises(ApiError) as caught:
        json_patch(DOC, {"op": "add"})
    assert caught.value.code == 400
