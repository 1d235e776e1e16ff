"""A catalog snapshot's `dependencies` on the Tekton engine (platform contract 2026-08 §4): the
PipelineRun workspaces they are bound as, and the failure Tekton reports when one of them is
missing. Pure.

Nothing is checked before the run (the controller may not read Secrets): a missing Secret or
ConfigMap is learned from the child TaskRun, which Tekton fails `CreateContainerConfigError`
(`tekton-status.md` §2, "Other TaskRun states"), with the kubelet's own text on the steps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kubernaut_wfe.constants import (
    ConditionStatus,
    DependencyWorkspace,
    TektonReason,
)
from kubernaut_wfe.core import tekton
from kubernaut_wfe.core.classifier import TaskRuns
from kubernaut_wfe.core.models import WorkflowRef

SECRET_KIND = "Secret"  # noqa: S105 - a kind, not a secret
CONFIG_MAP_KIND = "ConfigMap"

# The kubelet's texts for a missing object: its object caches answer `secret "<name>" not found`
# / `configmap "<name>" not found` (an API server error would say `secrets "<name>"`), and a
# missing key reads `couldn't find key <key> in Secret <namespace>/<name>`.
_NOT_FOUND = re.compile(r'\b(secret|configmap)s? "([^"]+)" not found', re.IGNORECASE)
_MISSING_KEY = re.compile(r"couldn't find key (\S+) in (Secret|ConfigMap) [^/\s]+/([^\s,;]+)")
_KINDS = {"secret": SECRET_KIND, "configmap": CONFIG_MAP_KIND}


def dependency_names(workflow_ref: WorkflowRef) -> tuple[list[str], list[str]]:
    """`(secrets, config_maps)`: the names of the dependencies, each list sorted and without
    repeats (Kubernetes and Tekton refuse two volumes or bindings of one name), so that the run
    is the same whatever the catalog's order. Both empty without dependencies."""
    dependencies = workflow_ref.dependencies
    if dependencies is None:
        return [], []
    secrets = sorted({item.name for item in dependencies.secrets if item.name})
    config_maps = sorted({item.name for item in dependencies.config_maps if item.name})
    return secrets, config_maps


def dependency_workspaces(workflow_ref: WorkflowRef) -> list[dict[str, Any]]:
    """The PipelineRun `spec.workspaces` bindings of the dependencies: `secret-<name>` for each
    Secret, then `configmap-<name>` for each ConfigMap (`dependency_names` order). Empty without
    dependencies."""
    secrets, config_maps = dependency_names(workflow_ref)
    return [
        *(
            {"name": f"{DependencyWorkspace.SECRET}{name}", "secret": {"secretName": name}}
            for name in secrets
        ),
        *(
            {"name": f"{DependencyWorkspace.CONFIG_MAP}{name}", "configMap": {"name": name}}
            for name in config_maps
        ),
    ]


def bound_dependencies(run: tekton.Document) -> list[tuple[str, str]]:
    """`(kind, name)` of every Secret and ConfigMap the run binds as a workspace, in its order."""
    spec = run.get("spec")
    workspaces = spec.get("workspaces") if isinstance(spec, Mapping) else None
    bound: list[tuple[str, str]] = []
    for workspace in workspaces if isinstance(workspaces, list) else []:
        if not isinstance(workspace, Mapping):
            continue
        secret, config_map = workspace.get("secret"), workspace.get("configMap")
        if isinstance(secret, Mapping) and secret.get("secretName"):
            bound.append((SECRET_KIND, str(secret["secretName"])))
        elif isinstance(config_map, Mapping) and config_map.get("name"):
            bound.append((CONFIG_MAP_KIND, str(config_map["name"])))
    return bound


def unconfigurable_child(run: tekton.Document, taskruns: TaskRuns) -> tekton.Document | None:
    """The first child TaskRun (in `childReferences` order) that Tekton failed because its pod
    could not be configured (`CreateContainerConfigError`), or None."""
    by_name = tekton.index_by_name(taskruns)
    for child in tekton.taskrun_children(run):
        taskrun = by_name.get(child.name)
        condition = tekton.succeeded(taskrun) if taskrun is not None else None
        if (
            condition is not None
            and condition.status == ConditionStatus.FALSE
            and condition.reason == TektonReason.CREATE_CONTAINER_CONFIG_ERROR
        ):
            return taskrun
    return None


def missing_objects_named(text: str) -> list[str]:
    """`Secret "<name>" not found`, `ConfigMap "<name>" has no key <key>`, ...: each missing
    Secret or ConfigMap a kubelet text names, in its order."""
    missing = _NOT_FOUND.findall(text)
    named = [f'{_KINDS[kind.lower()]} "{name}" not found' for kind, name in missing]
    named += [f'{kind} "{name}" has no key {key}' for key, kind, name in _MISSING_KEY.findall(text)]
    return named


def missing_dependency_message(run: tekton.Document, taskrun: tekton.Document) -> str | None:
    """What to tell about a child TaskRun failed `CreateContainerConfigError`: the Secrets and
    ConfigMaps the kubelet's texts name, else the run's dependencies that could be the cause.
    None when the TaskRun did not fail so, or when neither names an object."""
    condition = tekton.succeeded(taskrun)
    if condition is None or condition.reason != TektonReason.CREATE_CONTAINER_CONFIG_ERROR:
        return None
    namespace = str(tekton.metadata(run).get("namespace") or "")
    texts = [str(tekton.waiting(step).get("message") or "") for step in tekton.steps(taskrun)]
    named = list(dict.fromkeys(found for text in texts for found in missing_objects_named(text)))
    tekton_text = f"TaskRun {tekton.name_of(taskrun)}: {condition.reason}: {condition.message}"
    not_run = "the workflow's pod could not be configured, so none of its steps ran"
    if named:
        return f"{', '.join(named)} in namespace {namespace}: {not_run} ({tekton_text})"
    suspects = [f'{kind} "{name}"' for kind, name in bound_dependencies(run)]
    if not suspects:
        return None
    return (
        f"{not_run}; one of its dependencies may be missing from namespace {namespace}:"
        f" {', '.join(suspects)} ({tekton_text})"
    )


def ends_before_its_run(run: tekton.Document, taskruns: TaskRuns) -> bool:
    """Whether the WFE ends now although its run has not: a child could not be configured, so
    nothing of the workflow can run, and waiting for the run's own end would hold the target
    for nothing (Tekton's `CreateContainerConfigError` leaves the pod waiting for the object)."""
    return not tekton.is_finished(run) and unconfigurable_child(run, taskruns) is not None
