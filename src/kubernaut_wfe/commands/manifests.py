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
        return [document for document in yaml.safe_load_all(text) if document is not None]
    except yaml.YAMLError as error:
        raise UnreadableManifestError(f"{filename}: not valid YAML: {error}") from None
    except RecursionError:
        raise UnreadableManifestError(f"{filename}: YAML nested too deeply") from None
