"""The PipelineRun status documents Tekton v1.7 writes for the simulated bundles. Pure."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kubernaut_wfe.constants import (
    TASKRUN_KIND,
    TEKTON_API_VERSION,
    ConditionStatus,
    TektonLabel,
    TektonReason,
)
from kubernaut_wfe_tools.tekton_simulator import messages
from kubernaut_wfe_tools.tekton_simulator.documents.common import (
    Document,
    condition,
    resolution_request_name,
    task_spec,
    taskrun_name,
)
from kubernaut_wfe_tools.tekton_simulator.durations import format_go_duration, rfc3339
from kubernaut_wfe_tools.tekton_simulator.scenario import (
    Scenario,
)


def pipeline_label(scenario: Scenario) -> Document:
    """The label Tekton puts on the PipelineRun at its first reconcile."""
    return {str(TektonLabel.PIPELINE): scenario.pipeline_name}


def pipelinerun_resolving(scenario: Scenario, start: datetime) -> Document:
    message = messages.resolving_pipeline_ref(scenario.namespace, scenario.name)
    return {
        "startTime": rfc3339(start),
        "conditions": [
            condition(ConditionStatus.UNKNOWN, TektonReason.RESOLVING_PIPELINE_REF, message, start)
        ],
    }


def pipeline_spec(scenario: Scenario) -> Document:
    """The resolved Pipeline spec after parameter substitution."""
    task = scenario.task
    declared = [
        {
            "name": name,
            "type": "string",
            **(
                {}
                if name in scenario.missing_params
                else {"default": _param_default(scenario, name)}
            ),
        }
        for name in scenario.pipeline_params
    ]
    pipeline_task: Document = {"name": task.pipeline_task, "taskSpec": task_spec(scenario)}
    if task.timeout is not None:
        pipeline_task["timeout"] = format_go_duration(task.timeout)
    spec: Document = {"params": declared, "tasks": [pipeline_task]}
    if scenario.workspaces:
        spec["workspaces"] = [{"name": name, "optional": True} for name in scenario.workspaces]
        pipeline_task["workspaces"] = [
            {"name": name, "workspace": name} for name in scenario.workspaces
        ]
    return spec


def _param_default(scenario: Scenario, name: str) -> str:
    defaults = {"DELAY_SECONDS": "2", "FAILURE_MODE": "exit"}
    return defaults.get(name, "")


def provenance(scenario: Scenario) -> Document:
    return {
        "refSource": {
            "uri": scenario.bundle.uri,
            "digest": {"sha256": scenario.bundle.content_digest},
            "entryPoint": scenario.pipeline_name,
        }
    }


def child_reference(scenario: Scenario) -> Document:
    return {
        "apiVersion": TEKTON_API_VERSION,
        "kind": TASKRUN_KIND,
        "name": taskrun_name(scenario.name, scenario.task.pipeline_task),
        "pipelineTaskName": scenario.task.pipeline_task,
    }


def pipelinerun_running(scenario: Scenario, start: datetime, at: datetime) -> Document:
    """Resolution succeeded and the TaskRun was created, in the same update."""
    message = messages.running_counts(completed=0, failed=0, cancelled=0, incomplete=1, skipped=0)
    return {
        "startTime": rfc3339(start),
        "conditions": [condition(ConditionStatus.UNKNOWN, TektonReason.RUNNING, message, at)],
        "pipelineSpec": pipeline_spec(scenario),
        "childReferences": [child_reference(scenario)],
        "provenance": provenance(scenario),
    }


def pipelinerun_finished(
    previous: Mapping[str, Any],
    status: ConditionStatus,
    reason: str,
    message: str,
    at: datetime,
) -> Document:
    """The final PipelineRun status: the previous one frozen, plus condition and completionTime."""
    document = copy.deepcopy(dict(previous))
    document["completionTime"] = rfc3339(at)
    document["conditions"] = [condition(status, reason, message, at)]
    return document


def pipelinerun_task_outcome(
    previous: Mapping[str, Any], *, failed: bool, at: datetime
) -> Document:
    """Succeeded, or Failed with the counts message, once the single task finished."""
    message = messages.finished_counts(completed=1, failed=int(failed), cancelled=0, skipped=0)
    if failed:
        return pipelinerun_finished(
            previous, ConditionStatus.FALSE, TektonReason.FAILED, message, at
        )
    return pipelinerun_finished(previous, ConditionStatus.TRUE, TektonReason.SUCCEEDED, message, at)


def pipelinerun_cancelled(
    scenario: Scenario, previous: Mapping[str, Any], at: datetime
) -> Document:
    message = messages.pipelinerun_cancelled(scenario.name)
    return pipelinerun_finished(
        previous, ConditionStatus.FALSE, TektonReason.CANCELLED, message, at
    )


def pipelinerun_timed_out(
    scenario: Scenario, previous: Mapping[str, Any], at: datetime
) -> Document:
    assert scenario.pipeline_timeout is not None
    message = messages.pipelinerun_timeout(
        scenario.name, format_go_duration(scenario.pipeline_timeout)
    )
    return pipelinerun_finished(
        previous, ConditionStatus.FALSE, TektonReason.PIPELINE_RUN_TIMEOUT, message, at
    )


def pipelinerun_couldnt_get_pipeline(
    scenario: Scenario, previous: Mapping[str, Any], at: datetime
) -> Document:
    bundle = scenario.bundle
    cause = messages.oci_image_not_found(bundle.registry, bundle.path, bundle.manifest_reference)
    resolution = messages.bundle_resolution_failed(
        scenario.namespace, resolution_request_name(scenario), cause
    )
    message = messages.couldnt_get_pipeline(scenario.namespace, scenario.name, resolution)
    return pipelinerun_finished(
        previous, ConditionStatus.FALSE, TektonReason.COULDNT_GET_PIPELINE, message, at
    )


def pipelinerun_parameter_missing(
    scenario: Scenario, previous: Mapping[str, Any], at: datetime
) -> Document:
    """Validation fails after resolution: the Pipeline spec is stored, no TaskRun is created."""
    message = messages.parameter_missing(
        scenario.namespace, scenario.name, scenario.pipeline_name, list(scenario.missing_params)
    )
    resolved = {
        **previous,
        "pipelineSpec": pipeline_spec(scenario),
        "provenance": provenance(scenario),
    }
    return pipelinerun_finished(
        resolved, ConditionStatus.FALSE, TektonReason.PARAMETER_MISSING, message, at
    )
