"""JSON patch (RFC 6902) and JSON merge patch (RFC 7386), with apiserver-style errors."""

from __future__ import annotations

import copy
import logging
from typing import Any

from kubernaut_wfe_tools.emulator.errors import ApiError

logger = logging.getLogger(__name__)


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 merge patch; `null` removes a key, non-objects replace wholesale."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: dict[str, Any] = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class _PatchFailedError(Exception):
    pass


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise _PatchFailedError(f'invalid JSON pointer "{pointer}"')
    return [_unescape(token) for token in pointer[1:].split("/")]


def _resolve(doc: Any, tokens: list[str]) -> Any:
    current = doc
    for token in tokens:
        if isinstance(current, dict):
            if token not in current:
                raise _PatchFailedError(f"missing value at /{'/'.join(tokens)}")
            current = current[token]
        elif isinstance(current, list):
            index = _index(token, len(current), allow_end=False)
            current = current[index]
        else:
            raise _PatchFailedError(f"cannot descend into a scalar at /{'/'.join(tokens)}")
    return current


def _index(segment: str, length: int, *, allow_end: bool) -> int:
    if segment == "-" and allow_end:
        return length
    if not segment.isdigit() or (len(segment) > 1 and segment.startswith("0")):
        raise _PatchFailedError(f'invalid array index "{segment}"')
    index = int(segment)
    limit = length if allow_end else length - 1
    if index > limit:
        raise _PatchFailedError(f"array index {index} out of bounds")
    return index


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _resolve(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(last, len(parent), allow_end=True), value)
    else:
        raise _PatchFailedError("cannot add to a scalar")
    return doc


def _remove(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        raise _PatchFailedError("cannot remove the whole document")
    parent = _resolve(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _PatchFailedError(f"missing value at /{'/'.join(tokens)}")
        del parent[last]
    elif isinstance(parent, list):
        del parent[_index(last, len(parent), allow_end=False)]
    else:
        raise _PatchFailedError("cannot remove from a scalar")
    return doc


def _apply_operation(doc: Any, operation: Any) -> Any:
    if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
        raise _PatchFailedError("each operation needs 'op' and 'path'")
    op = operation["op"]
    path = _tokens(str(operation["path"]))
    if op in ("add", "replace", "test") and "value" not in operation:
        raise _PatchFailedError(f"operation '{op}' needs a 'value'")
    if op == "add":
        return _add(doc, path, copy.deepcopy(operation["value"]))
    if op == "remove":
        return _remove(doc, path)
    if op == "replace":
        # RFC 6902: the target must exist (the API server's json-patch library also lets
        # `replace` set a key an object lacks; see docs/testing.md)
        _resolve(doc, path)
        if not path:
            return copy.deepcopy(operation["value"])
        doc = _remove(doc, path)
        return _add(doc, path, copy.deepcopy(operation["value"]))
    if op in ("move", "copy"):
        source = _tokens(str(operation.get("from", "")))
        value = copy.deepcopy(_resolve(doc, source))
        if op == "move":
            doc = _remove(doc, source)
        return _add(doc, path, value)
    if op == "test":
        if _resolve(doc, path) != operation["value"]:
            raise _PatchFailedError(f"testing value {operation['path']} failed: test failed")
        return doc
    raise _PatchFailedError(f'unexpected kind of patch operation: "{op}"')


PATCH_FAILED = "the server rejected our request due to an error in our request"
"""What the API server says of any JSON patch that does not apply (with empty details)."""
_JSON_KINDS = {dict: "object", str: "string", bool: "bool", int: "number", float: "number"}


def json_patch(target: Any, operations: Any) -> Any:
    """Apply an RFC 6902 patch to a copy of `target`; any failure is a 422, as on the apiserver
    (which does not say what failed: the reason is logged here)."""
    if not isinstance(operations, list):
        kind = _JSON_KINDS.get(type(operations), "null")
        raise ApiError(
            400,
            f"error decoding patch: json: cannot unmarshal {kind} into Go value of type "
            "[]handlers.jsonPatchOp",
        )
    doc = copy.deepcopy(target)
    for operation in operations:
        try:
            doc = _apply_operation(doc, operation)
        except _PatchFailedError as exc:
            logger.debug("json patch failed: %s", exc)
            raise ApiError(422, PATCH_FAILED, details={}) from exc
    return doc
