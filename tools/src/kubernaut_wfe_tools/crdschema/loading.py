"""Reading CustomResourceDefinitions from YAML files and the packaged WorkflowExecution CRD."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

CRD_KIND = "CustomResourceDefinition"
PACKAGED_CRD_FILE = "kubernaut.ai_workflowexecutions.yaml"


def packaged_crd_path() -> Path:
    """Path of the WorkflowExecution CRD shipped as package data."""
    return Path(str(files("kubernaut_wfe_tools") / "data" / PACKAGED_CRD_FILE))


def load_crd_documents(path: str | Path) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition in a (multi-document) YAML file; other kinds are skipped.

    Raises OSError when the file cannot be read and ValueError for YAML that is not a list of
    objects.
    """
    text = Path(path).read_text(encoding="utf-8")
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    crds: list[dict[str, Any]] = []
    for index, document in enumerate(documents):
        if document is None:
            continue
        if not isinstance(document, dict):
            raise ValueError(f"{path}: document {index + 1} is not a mapping")
        if document.get("kind") == CRD_KIND:
            crds.append(document)
    return crds
