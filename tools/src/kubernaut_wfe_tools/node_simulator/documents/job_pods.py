"""What the Job controller reads off a Job's pods (active, terminating, ready, failed, when they
finished, what the pod failure policy says of them), its back-off between failed pods, and the
pod it creates from the Job's template. Pure; as `pkg/controller/job` of Kubernetes v1.36."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from kubernaut_wfe_tools.node_simulator import messages
from kubernaut_wfe_tools.node_simulator.vocabulary import (
    BATCH_API_VERSION,
    JOB_KIND,
    JOB_TRACKING_FINALIZER,
    PodConditionType,
    PodFailurePolicyAction,
    PodPhase,
    PodReplacementPolicy,
)
from kubernaut_wfe_tools.tekton_simulator.durations import parse_rfc3339

Document = Mapping[str, Any]

POD_FAILURE_BACKOFF: Final = timedelta(seconds=10)
"""The wait before the pod that replaces a failed one, doubled for each further failure."""
MAX_POD_FAILURE_BACKOFF: Final = timedelta(minutes=10)
_TERMINAL: Final = frozenset({PodPhase.SUCCEEDED.value, PodPhase.FAILED.value})


def metadata(document: Document) -> Mapping[str, Any]:
    found: Mapping[str, Any] = document.get("metadata") or {}
    return found


def phase(pod: Document) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_active(pod: Document) -> bool:
    """Neither ended nor being deleted: the Job counts it in `active`."""
    return phase(pod) not in _TERMINAL and not metadata(pod).get("deletionTimestamp")


def is_terminating(pod: Document) -> bool:
    """Being deleted and not ended yet: the Job counts it in `terminating`."""
    return phase(pod) not in _TERMINAL and bool(metadata(pod).get("deletionTimestamp"))


def is_ready(pod: Document) -> bool:
    return any(
        c.get("type") == PodConditionType.READY.value and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def is_tracked(pod: Document) -> bool:
    """It still carries the finalizer that keeps it until the Job counted it."""
    return JOB_TRACKING_FINALIZER in (metadata(pod).get("finalizers") or [])


def only_failed_pods_replaced(spec: Mapping[str, Any]) -> bool:
    """A pod being deleted is replaced only once it failed (`podReplacementPolicy: Failed`,
    implied by a pod failure policy)."""
    policy = spec.get("podReplacementPolicy")
    return policy == PodReplacementPolicy.FAILED.value or bool(spec.get("podFailurePolicy"))


def is_failed(pod: Document, spec: Mapping[str, Any]) -> bool:
    """Failed, or (unless only failed pods are replaced) deleted before it succeeded."""
    if phase(pod) == PodPhase.FAILED.value:
        return True
    if only_failed_pods_replaced(spec):
        return False
    return bool(metadata(pod).get("deletionTimestamp")) and phase(pod) != PodPhase.SUCCEEDED.value


@dataclass(frozen=True)
class PolicyVerdict:
    """What the pod failure policy says of a failed pod."""

    counts: bool
    """It counts against `backoffLimit` (no rule, or `Count`/`FailJob`); not when `Ignore`d."""
    fails_job: str | None = None
    """The `PodFailurePolicy` message of a matching `FailJob` rule."""


def policy_verdict(spec: Mapping[str, Any], pod: Document) -> PolicyVerdict:
    """The first rule of `spec.podFailurePolicy` that matches the pod's status decides."""
    rules = (spec.get("podFailurePolicy") or {}).get("rules") or []
    status = pod.get("status") or {}
    for index, rule in enumerate(rules):
        action = rule.get("action")
        matched = _on_exit_codes(status, rule.get("onExitCodes"))
        if matched is not None:
            container, code = matched
            text = messages.fail_job_on_exit_code(
                container, metadata(pod)["namespace"], metadata(pod)["name"], code, index
            )
        elif (condition := _on_conditions(status, rule.get("onPodConditions"))) is not None:
            text = messages.fail_job_on_condition(
                metadata(pod)["namespace"], metadata(pod)["name"], condition, index
            )
        else:
            continue
        if action == PodFailurePolicyAction.IGNORE.value:
            return PolicyVerdict(counts=False)
        if action == PodFailurePolicyAction.FAIL_JOB.value:
            return PolicyVerdict(counts=True, fails_job=text)
        if action == PodFailurePolicyAction.COUNT.value:
            return PolicyVerdict(counts=True)
    return PolicyVerdict(counts=True)


def _on_exit_codes(status: Mapping[str, Any], rule: Any) -> tuple[str, int] | None:
    if not isinstance(rule, Mapping):
        return None
    values = set(rule.get("values") or [])
    for container in status.get("containerStatuses") or []:
        terminated = (container.get("state") or {}).get("terminated")
        if not terminated or rule.get("containerName") not in (None, container.get("name")):
            continue
        code = int(terminated.get("exitCode") or 0)
        operator = rule.get("operator")
        if code and ((operator == "In") == (code in values)) and operator in ("In", "NotIn"):
            return str(container.get("name")), code
    return None


def _on_conditions(status: Mapping[str, Any], patterns: Any) -> str | None:
    for condition in status.get("conditions") or []:
        for pattern in patterns or []:
            if (condition.get("type"), condition.get("status")) == (
                pattern.get("type"),
                pattern.get("status", "True"),
            ):
                return str(condition["type"])
    return None


def finished_at(pod: Document) -> datetime:
    """When the pod ended: its containers' last `finishedAt`, else the moment it stopped being
    ready, else its deletion, else its creation."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    ends = [((s.get("state") or {}).get("terminated") or {}).get("finishedAt") for s in statuses]
    if statuses and all(ends):
        return max(parse_rfc3339(str(end)) for end in ends)
    for condition in (pod.get("status") or {}).get("conditions") or []:
        not_ready = (condition.get("type"), condition.get("status")) == (
            PodConditionType.READY.value,
            "False",
        )
        if not_ready and (moment := condition.get("lastTransitionTime")):
            return parse_rfc3339(str(moment))
    meta = metadata(pod)
    if deleted := meta.get("deletionTimestamp"):
        grace = timedelta(seconds=int(meta.get("deletionGracePeriodSeconds") or 0))
        return parse_rfc3339(str(deleted)) - grace
    return parse_rfc3339(str(meta.get("creationTimestamp")))


@dataclass(frozen=True)
class Backoff:
    """The Job's failed pods since its last success: how long a replacement waits."""

    failures: int = 0
    last_failure: datetime | None = None

    def after(self, succeeded: Sequence[Document], failed: Sequence[Document]) -> Backoff:
        """The record once `succeeded` and `failed` (newly finished pods) are taken in."""
        failed_at = sorted(finished_at(pod) for pod in failed)
        if not succeeded:
            if not failed_at:
                return self
            return Backoff(self.failures + len(failed_at), failed_at[-1])
        last_success = max(finished_at(pod) for pod in succeeded)
        later = [moment for moment in failed_at if moment > last_success]
        return Backoff(len(later), later[-1] if later else None)

    def remaining(self, now: datetime) -> timedelta:
        """How long the next pod still waits (zero: create it now)."""
        if not self.failures or self.last_failure is None:
            return timedelta(0)
        wait = POD_FAILURE_BACKOFF
        for _ in range(1, self.failures):
            wait = min(wait * 2, MAX_POD_FAILURE_BACKOFF)
        return max(wait - (now - self.last_failure), timedelta(0))


def controller_of(pod: Document) -> Mapping[str, Any] | None:
    """The pod's controller ownerReference, if it is a Job."""
    for owner in metadata(pod).get("ownerReferences") or []:
        if owner.get("controller") and owner.get("kind") == JOB_KIND:
            found: Mapping[str, Any] = owner
            return found
    return None


def owned_by(pods: Iterable[Document], job_uid: str) -> list[Document]:
    """The pods the Job with this uid controls."""
    return [pod for pod in pods if (controller_of(pod) or {}).get("uid") == job_uid]


def pod_from_template(job: Document) -> dict[str, Any]:
    """The pod the Job controller creates: the template's labels, annotations and spec, named
    `<job>-` plus 5 random characters, held by the tracking finalizer, controlled by the Job."""
    meta, template = metadata(job), (job.get("spec") or {}).get("template") or {}
    template_meta = template.get("metadata") or {}
    pod_meta: dict[str, Any] = {
        "generateName": f"{meta['name']}-",
        "namespace": meta["namespace"],
        "labels": dict(template_meta.get("labels") or {}),
        "finalizers": [*(template_meta.get("finalizers") or []), JOB_TRACKING_FINALIZER],
        "ownerReferences": [
            {
                "apiVersion": BATCH_API_VERSION,
                "kind": JOB_KIND,
                "name": meta["name"],
                "uid": meta["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    if annotations := template_meta.get("annotations"):
        pod_meta["annotations"] = dict(annotations)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": pod_meta,
        "spec": dict(template.get("spec") or {}),
    }


def release_patch(pod: Document) -> list[dict[str, Any]]:
    """The JSON patch that takes the tracking finalizer off the pod, failing (422) when the
    finalizers changed since the pod was read."""
    finalizers = metadata(pod).get("finalizers") or []
    patch: list[dict[str, Any]] = []
    for index in reversed(range(len(finalizers))):
        if finalizers[index] == JOB_TRACKING_FINALIZER:
            path = f"/metadata/finalizers/{index}"
            patch += [
                {"op": "test", "path": path, "value": JOB_TRACKING_FINALIZER},
                {"op": "remove", "path": path},
            ]
    return patch
