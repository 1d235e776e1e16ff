"""A tiny kopf operator that exercises what kopf needs from an apiserver: discovery, a
label-selected watch, a custom finalizer, status-subresource patches, Events and deletion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kopf
import yaml

FINALIZER = "probe.kubernaut.ai/finalizer"
SELECTOR = "probe=yes"
RESOURCE = ("kubernaut.ai", "v1alpha1", "workflowexecutions")


def build(
    kubeconfig: Path, seen: dict[str, list[str]]
) -> tuple[kopf.OperatorRegistry, kopf.OperatorSettings]:
    """A registry with the probe's handlers and its settings; `seen` collects handled names."""
    registry = kopf.OperatorRegistry()
    settings = kopf.OperatorSettings()
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix="probe.kubernaut.ai"
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="probe.kubernaut.ai", key="last-handled-configuration"
    )
    settings.watching.label_selectors["kubernaut.ai", "workflowexecutions"] = SELECTOR
    settings.watching.server_timeout = 30
    settings.networking.request_timeout = 10

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        config = yaml.safe_load(kubeconfig.read_text(encoding="utf-8"))
        return kopf.ConnectionInfo(server=config["clusters"][0]["cluster"]["server"])

    @kopf.on.create(*RESOURCE, registry=registry)
    def created(name: str, body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        seen.setdefault("created", []).append(name)
        patch.status["phase"] = "Running"
        kopf.info(body, reason="Probed", message="status patched")

    @kopf.on.delete(*RESOURCE, registry=registry)
    def deleted(name: str, **_: Any) -> None:
        seen.setdefault("deleted", []).append(name)

    return registry, settings
