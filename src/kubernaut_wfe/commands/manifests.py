"""Reading WorkflowExecution manifests for `render` and `validate`: bounded, so that a wrong
path (`/dev/zero`, a log file) is an error instead of unbounded memory, and with every way a
file can be unreadable turned into one message."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
"""Far more than any WorkflowExecution (its spec is bounded to a few hundred KiB)."""
STDIN = "-"


class UnreadableManifestError(Exception):
    """The file cannot be read as YAML; the message names it and says why."""


def read_manifest_text(filename: str) -> str:
    """The file's text (`-` is standard input), at most `MAX_MANIFEST_BYTES`."""
    data: bytes
    try:
        if filename == STDIN:
            binary = getattr(sys.stdin, "buffer", None)  # absent when stdin is a text stream
            if binary is not None:
                data = binary.read(MAX_MANIFEST_BYTES + 1)
            else:
                data = sys.stdin.read(MAX_MANIFEST_BYTES + 1).encode("utf-8")
        else:
            with Path(filename).open("rb") as handle:
                data = handle.read(MAX_MANIFEST_BYTES + 1)
    except OSError as error:
        raise UnreadableManifestError(
            f"cannot read {filename}: {error.strerror or error}"
        ) from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise UnreadableManifestError(
            f"{filename} is larger than {MAX_MANIFEST_BYTES // (1024 * 1024)} MiB:"
            " not a WorkflowExecution manifest"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnreadableManifestError(f"{filename} is not UTF-8 text: {error.reason}") from None


def parse_manifests(text: str, filename: str) -> list[Any]:
    """Every YAML document of the text (empty ones dropped)."""
    import yaml

    try:
        documents = [document for document in yaml.safe_load_all(text) if document is not None]
        return [_string_keys(document) for document in documents]
    except yaml.YAMLError as error:
        raise UnreadableManifestError(f"{filename}: not valid YAML: {error}") from None
    except RecursionError:
        raise UnreadableManifestError(f"{filename}: YAML nested too deeply") from None


def _string_keys(node: Any) -> Any:
    """Mapping keys as JSON has them, as kubectl converts YAML (`1:` is the key "1")."""
    if isinstance(node, dict):
        return {_key_text(key): _string_keys(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_string_keys(item) for item in node]
    return node


def _key_text(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)
