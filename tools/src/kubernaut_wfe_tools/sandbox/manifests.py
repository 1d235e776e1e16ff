"""Manifests to apply: multi-document YAML files, and where the examples are."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class ManifestError(Exception):
    """A file that cannot be read or parsed, or a document that is not a Kubernetes object."""


@dataclass(frozen=True)
class Manifest:
    """One document of a YAML file."""

    source: Path
    index: int
    body: dict[str, Any]

    @property
    def where(self) -> str:
        """`file` or `file#N` (N counted from 1) for messages."""
        return f"{self.source}#{self.index + 1}" if self.index else str(self.source)

    @property
    def namespace(self) -> str | None:
        namespace = (self.body.get("metadata") or {}).get("namespace")
        return namespace if isinstance(namespace, str) and namespace else None

    @property
    def title(self) -> str:
        """`Kind namespace/name` (or `Kind name`) for messages."""
        metadata = self.body.get("metadata") or {}
        name = metadata.get("name") or metadata.get("generateName") or "?"
        kind = self.body.get("kind", "?")
        return f"{kind} {self.namespace}/{name}" if self.namespace else f"{kind} {name}"


def load_manifests(path: Path) -> list[Manifest]:
    """Every non-empty document of `path`; ManifestError names the file (and line) when bad."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ManifestError(f"{path}: cannot read: {error}") from error
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as error:
        raise ManifestError(f"{path}: not valid YAML: {error}") from error
    manifests = []
    for index, document in enumerate(documents):
        if document is None:
            continue
        if not isinstance(document, dict) or not document.get("apiVersion"):
            raise ManifestError(f"{path}#{index + 1}: not a Kubernetes object (no apiVersion)")
        if not document.get("kind"):
            raise ManifestError(f"{path}#{index + 1}: not a Kubernetes object (no kind)")
        manifests.append(Manifest(path, index, document))
    return manifests


def find_examples_dir(start: Path, package_file: Path = Path(__file__)) -> Path | None:
    """`examples/` of the repository: beside `start` or one of its parents, else of the checkout
    this package is installed from (editable installs)."""
    candidates = [start, *start.parents, *package_file.resolve().parents]
    for directory in candidates:
        examples = directory / "examples"
        if examples.is_dir() and (directory / "pyproject.toml").is_file():
            return examples
    return None


def example_files(examples_dir: Path) -> list[Path]:
    """The example manifests (`examples/*.yaml`; `examples/bad/` is never applied by default)."""
    return sorted(examples_dir.glob("*.yaml"))


def namespaces_needed(manifests: Sequence[Manifest], always: Sequence[str]) -> list[str]:
    """`always` plus every namespace the manifests name, in first-seen order, without Namespaces
    the manifests create themselves."""
    created_here = {
        (m.body.get("metadata") or {}).get("name")
        for m in manifests
        if m.body.get("kind") == "Namespace" and m.body.get("apiVersion") == "v1"
    }
    needed: list[str] = []
    for name in [*always, *(m.namespace for m in manifests if m.namespace)]:
        if name and name not in needed and name not in created_here:
            needed.append(name)
    return needed
