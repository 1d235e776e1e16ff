"""The PipelineRun the controller creates for a WFE (spec §2): a pure function, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kubernaut_wfe.constants import (
    BUNDLE_PIPELINE_NAME,
    BUNDLES_RESOLVER,
    PIPELINERUN_KIND,
    SECCOMP_RUNTIME_DEFAULT,
    TEKTON_API_VERSION,
    Annotation,
    BundleParam,
    Label,
)
from kubernaut_wfe.core.config import ControllerConfig
from kubernaut_wfe.core.deadline import run_timeout
from kubernaut_wfe.core.dependencies import dependency_workspaces
from kubernaut_wfe.core.models import WorkflowExecution, WorkflowRef
from kubernaut_wfe.core.naming import pipelinerun_name, sanitize_label_value, target_label_value
from kubernaut_wfe.core.parameters import ordered_parameters
from kubernaut_wfe.core.record import is_recorded_run
from kubernaut_wfe.core.service_accounts import run_service_account


def bundle_reference(workflow_ref: WorkflowRef) -> str:
    """The bundle to resolve: `<image>@<digest>` when pinned (tag kept), else the image.

    An image that already carries a digest is used as is (validation checks it equals
    `containerDigest`). A catalog snapshot's `executionBundle` is used verbatim: its
    `executionBundleDigest` is recorded by the catalog, never used to pin.
    """
    image = workflow_ref.image
    digest = workflow_ref.container_digest
    if not digest or "@" in image or not workflow_ref.container_image:
        return image
    return f"{image}@{digest}"


def build_pipelinerun(
    wfe: WorkflowExecution,
    config: ControllerConfig,
    *,
    now: datetime,
    canonical_target: str | None = None,
) -> dict[str, Any]:
    """The PipelineRun document to CREATE for this WFE at `now` (validate the WFE first).

    `canonical_target` (`core.targets`) names the run and sets its target label, so that every
    spelling of one object takes one lock; None uses the target as written (the offline tools,
    which have no API discovery). The annotation and `TARGET_RESOURCE` keep it as written.
    """
    spec = wfe.spec
    target = spec.target_resource
    lock = canonical_target or target
    params = [{"name": name, "value": value} for name, value in ordered_parameters(spec)]
    run_spec: dict[str, Any] = {
        "pipelineRef": {
            "resolver": BUNDLES_RESOLVER,
            "params": [
                {"name": BundleParam.BUNDLE.value, "value": bundle_reference(spec.workflow_ref)},
                {"name": BundleParam.NAME.value, "value": BUNDLE_PIPELINE_NAME},
                {"name": BundleParam.KIND.value, "value": BundleParam.PIPELINE_KIND.value},
            ],
        },
        "params": params,
        "taskRunTemplate": {
            "serviceAccountName": run_service_account(spec, config.execution),
            "podTemplate": {
                "securityContext": {
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": SECCOMP_RUNTIME_DEFAULT},
                }
            },
        },
    }
    timeout = run_timeout(spec, now, config.execution.max_run_timeout)
    if timeout:
        run_spec["timeouts"] = {"pipeline": timeout}
    if workspaces := dependency_workspaces(spec.workflow_ref):
        run_spec["workspaces"] = workspaces
    return {
        "apiVersion": TEKTON_API_VERSION,
        "kind": PIPELINERUN_KIND,
        "metadata": {
            "name": pipelinerun_name(lock),
            "namespace": config.execution.namespace,
            "labels": run_labels(wfe, lock),
            "annotations": {
                Annotation.TARGET_RESOURCE.value: target,
                **ownership_annotations(wfe),
            },
        },
        "spec": run_spec,
    }


def run_labels(wfe: WorkflowExecution, canonical_target: str | None = None) -> dict[str, str]:
    """The labels of the WFE's run; the first is what the controller's watches select on. The
    target label is the canonical target's (as written when None)."""
    spec = wfe.spec
    target = canonical_target or spec.target_resource
    return {
        Label.WORKFLOW_EXECUTION.value: sanitize_label_value(wfe.metadata.name),
        Label.SOURCE_NAMESPACE.value: sanitize_label_value(wfe.metadata.namespace),
        Label.WORKFLOW_ID.value: sanitize_label_value(spec.workflow_ref.workflow_id),
        Label.TARGET_RESOURCE.value: target_label_value(target),
    }


def ownership_annotations(wfe: WorkflowExecution) -> dict[str, str]:
    """The annotations that say which WFE created a run (what other WFEs read as its holder)."""
    return {
        Annotation.WORKFLOW_EXECUTION.value: wfe.correlation_key,
        Annotation.WORKFLOW_EXECUTION_UID.value: wfe.metadata.uid,
    }


def _differing(expected: Mapping[str, str], present: Mapping[str, Any]) -> dict[str, str]:
    return {key: value for key, value in expected.items() if present.get(key) != value}


def missing_metadata(
    run: Mapping[str, Any], wfe: WorkflowExecution, canonical_target: str | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """`(labels, annotations)` of the WFE's own run that someone removed or changed (both empty
    when all are in place). The ownership annotations are only put back on the run the WFE's
    record names: that proves the run is its own whatever the annotations say."""
    metadata = run.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, Mapping) else None
    labels_changed = _differing(
        run_labels(wfe, canonical_target), labels if isinstance(labels, Mapping) else {}
    )
    if not is_recorded_run(run, wfe):
        return labels_changed, {}
    return labels_changed, _differing(ownership_annotations(wfe), _annotations(run))


def _annotations(run: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = run.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    return annotations if isinstance(annotations, Mapping) else {}


def owned_by(run: Mapping[str, Any], wfe: WorkflowExecution) -> bool:
    """Whether the run belongs to this very WFE: the WFE's record names it (`core.record`), or
    its uid annotation equals the WFE's uid (a run created before the record was written)."""
    uid = _annotations(run).get(Annotation.WORKFLOW_EXECUTION_UID.value)
    return (bool(wfe.metadata.uid) and uid == wfe.metadata.uid) or is_recorded_run(run, wfe)


def holder_of(run: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """`(namespace, name, uid)` of the WFE that created the run, or None if not ours at all."""
    annotations = _annotations(run)
    key = annotations.get(Annotation.WORKFLOW_EXECUTION.value)
    uid = annotations.get(Annotation.WORKFLOW_EXECUTION_UID.value, "")
    if not isinstance(key, str) or key.count("/") != 1:
        return None
    namespace, name = key.split("/")
    if not namespace or not name:
        return None
    return namespace, name, uid if isinstance(uid, str) else ""
