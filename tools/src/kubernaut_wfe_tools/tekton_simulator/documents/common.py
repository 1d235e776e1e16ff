"""Names, the Succeeded condition and the Task spec, shared by both kinds of documents."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kubernaut_wfe.constants import (
    SUCCEEDED_CONDITION,
    ConditionStatus,
)
from kubernaut_wfe_tools.tekton_simulator.durations import rfc3339
from kubernaut_wfe_tools.tekton_simulator.scenario import (
    Scenario,
)

Document = dict[str, Any]

MAX_NAME_LENGTH = 63
_MD5_HEX_LENGTH = 32
MANAGED_BY_TEKTON = "tekton-pipelines"
MEMBER_OF_TASKS = "tasks"
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"


def taskrun_name(pipelinerun: str, pipeline_task: str) -> str:
    """Tekton's child name (knative `kmeta.ChildName(<pr>, "-<pt>")`).

    `<pr>-<pt>` when it fits in 63 characters. Otherwise, for a suffix `-<pt>` shorter than 31:
    the first `31 - len(suffix)` characters of `<pr>`, the MD5 of `<pr>`, the suffix. For a
    longer suffix: `<pr>` cut to 31, the MD5 of `<pr>-<pt>`, then the suffix's beginning up to
    63 characters, with trailing non-alphanumerics removed.
    """
    suffix = f"-{pipeline_task}"
    if len(pipelinerun) + len(suffix) <= MAX_NAME_LENGTH:
        return pipelinerun + suffix
    head = MAX_NAME_LENGTH - _MD5_HEX_LENGTH
    if head - len(suffix) > 0:
        return pipelinerun[: head - len(suffix)] + _md5(pipelinerun) + suffix
    name = pipelinerun[:head] + _md5(pipelinerun + suffix)
    name += suffix[: MAX_NAME_LENGTH - len(name)]
    return _ALPHANUMERIC_END.sub("", name)


_ALPHANUMERIC_END = re.compile(r"[^a-zA-Z0-9]+$")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def pod_name(taskrun: str) -> str:
    return f"{taskrun}-pod"


def resolution_request_name(scenario: Scenario) -> str:
    """`bundles-<32 hex>`: deterministic per run and bundle (Tekton hashes its own inputs)."""
    seed = f"{scenario.namespace}/{scenario.name}/{scenario.bundle.reference}"
    return "bundles-" + _md5(seed)


def condition(status: ConditionStatus, reason: str, message: str, at: datetime) -> Document:
    """The single Knative `Succeeded` condition."""
    return {
        "type": SUCCEEDED_CONDITION,
        "status": str(status),
        "reason": str(reason),
        "message": message,
        "lastTransitionTime": rfc3339(at),
    }


def is_done(status: Mapping[str, Any] | None) -> bool:
    """Done means the `Succeeded` condition exists and is not Unknown."""
    for entry in (status or {}).get("conditions") or []:
        if entry.get("type") == SUCCEEDED_CONDITION:
            return bool(entry.get("status") != ConditionStatus.UNKNOWN)
    return False


def task_spec(scenario: Scenario) -> Document:
    task = scenario.task
    step: Document = {"name": task.step, "image": task.image, "script": task.script}
    if task.privileged:
        step["securityContext"] = {"privileged": True}
    spec: Document = {"steps": [step]}
    if scenario.workspaces:
        spec["workspaces"] = [
            {"name": name, "optional": True, "readOnly": True} for name in scenario.workspaces
        ]
    return spec
