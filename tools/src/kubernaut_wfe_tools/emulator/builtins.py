"""What the API server does for the built-in kinds a Job controller and a kubelet write, beyond
storing them: the defaults of a Job and of a Pod (and its status) on create, a Node keeping the
status it is created with, `pods/binding`, and the graceful deletion of a pod a node runs.

As Kubernetes v1.36 does it (`pkg/apis/batch/v1/defaults.go`, `pkg/apis/core/v1/defaults.go`,
the job and pod registry strategies, the ServiceAccount and Priority admission plugins); not the
ServiceAccount token volume, the default tolerations or quota (docs/testing.md). Pure: documents
in, documents out.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Mapping
from typing import Any, Final

from kubernaut_wfe_tools.emulator import errors
from kubernaut_wfe_tools.emulator.admission import rfc3339
from kubernaut_wfe_tools.emulator.errors import ApiError

JOBS_KEY: Final = "batch/v1/jobs"
PODS_KEY: Final = "/v1/pods"
NODES_KEY: Final = "/v1/nodes"
GENERATION_TRACKED: Final = frozenset({JOBS_KEY, PODS_KEY})
"""Built-in kinds whose `metadata.generation` the server keeps (1 on create, +1 per spec change)."""
STATUS_KEPT_ON_CREATE: Final = frozenset({NODES_KEY})
"""A kubelet registers its Node with the status it reports: the server keeps it."""
BINDING: Final = "binding"
"""The pods subresource a scheduler posts a `Binding` to."""
POD_BINDING_DISCOVERY: Final = {
    "name": "pods/binding",
    "singularName": "",
    "namespaced": True,
    "kind": "Binding",
    "verbs": ["create"],
}

JOB_NAME_LABELS: Final = ("job-name", "batch.kubernetes.io/job-name")
CONTROLLER_UID_LABELS: Final = ("controller-uid", "batch.kubernetes.io/controller-uid")
DEFAULT_GRACE_SECONDS: Final = 30
VOLUME_DEFAULT_MODE: Final = 0o644
_TERMINAL_PHASES: Final = frozenset({"Succeeded", "Failed"})
_QOS_RESOURCES: Final = ("cpu", "memory")


def prepare_created(resource_key: str, obj: dict[str, Any]) -> None:
    """Default a new Job or Pod in place, once it has its uid (the selector names it)."""
    if resource_key == JOBS_KEY:
        _default_job(obj)
    elif resource_key == PODS_KEY:
        _default_pod(obj)


def _default_job(job: dict[str, Any]) -> None:
    spec = job.setdefault("spec", {})
    if "completions" not in spec and "parallelism" not in spec:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 2**31 - 1 if "backoffLimitPerIndex" in spec else 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    for rule in (spec.get("podFailurePolicy") or {}).get("rules") or []:
        for pattern in rule.get("onPodConditions") or []:
            pattern.setdefault("status", "True")
    replacement = "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed"
    spec.setdefault("podReplacementPolicy", replacement)
    spec.setdefault("manualSelector", False)
    template = spec.setdefault("template", {})
    labels = template.setdefault("metadata", {}).setdefault("labels", {})
    metadata = job["metadata"]
    if labels and not metadata.get("labels"):
        metadata["labels"] = dict(labels)
    if not spec["manualSelector"]:
        for key in JOB_NAME_LABELS:
            labels.setdefault(key, metadata["name"])
        for key in CONTROLLER_UID_LABELS:
            labels.setdefault(key, metadata["uid"])
        selector = spec.setdefault("selector", {}).setdefault("matchLabels", {})
        selector.setdefault(CONTROLLER_UID_LABELS[1], metadata["uid"])
    _default_pod_spec(template.setdefault("spec", {}))
    job["status"] = {}


def _default_pod(pod: dict[str, Any]) -> None:
    spec = pod.setdefault("spec", {})
    _default_pod_spec(spec)
    for container in spec.get("containers") or []:
        resources = container["resources"]
        if limits := resources.get("limits"):
            resources["requests"] = {**limits, **(resources.get("requests") or {})}
    spec.setdefault("enableServiceLinks", True)
    # The ServiceAccount and Priority admission plugins.
    spec.setdefault("serviceAccountName", "default")
    spec["serviceAccount"] = spec["serviceAccountName"]
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    pod["status"] = {"phase": "Pending", "qosClass": qos_class(spec)}


def _default_pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        container.setdefault("imagePullPolicy", _pull_policy(str(container.get("image", ""))))
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
    for volume in spec.get("volumes") or []:
        for source in ("secret", "configMap"):
            if isinstance(volume.get(source), dict):
                volume[source].setdefault("defaultMode", VOLUME_DEFAULT_MODE)


def _pull_policy(image: str) -> str:
    """`Always` for an image whose tag is `latest` (also when it has neither tag nor digest)."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2] if ":" in last else ("" if digest else "latest")
    return "Always" if tag == "latest" else "IfNotPresent"


def qos_class(spec: Mapping[str, Any]) -> str:
    """The pod's QoS class from its containers' cpu and memory requests and limits."""
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    guaranteed, any_set = True, False
    for container in containers:
        resources = container.get("resources") or {}
        requests = {
            k: v for k, v in (resources.get("requests") or {}).items() if k in _QOS_RESOURCES
        }
        limits = {k: v for k, v in (resources.get("limits") or {}).items() if k in _QOS_RESOURCES}
        any_set = any_set or bool(requests or limits)
        if set(limits) != set(_QOS_RESOURCES) or requests != limits:
            guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def checked_binding(binding: Any, name: str) -> dict[str, Any]:
    """The `Binding` posted to `pods/<name>/binding`, or the server's 400 before it looks the pod
    up."""
    if not isinstance(binding, dict):
        raise ApiError(400, "the request body must be a JSON object")
    if (binding.get("metadata") or {}).get("name") != name:
        raise ApiError(400, "name in URL does not match name in Binding object")
    return binding


def bound(
    pod: Mapping[str, Any], binding: Mapping[str, Any], now: datetime.datetime
) -> dict[str, Any]:
    """The pod once `binding` assigned it to its node, with the `PodScheduled` condition; the
    server's refusals (a uid that is not the pod's, a pod being deleted or already bound) as
    409s."""
    metadata, spec = pod["metadata"], pod.get("spec") or {}
    name = metadata["name"]
    node = str((binding.get("target") or {}).get("name") or "")
    expected = (binding.get("metadata") or {}).get("uid")
    if expected and expected != metadata.get("uid"):
        _refuse_binding(
            name,
            f"Precondition failed: UID in precondition: {expected}, UID in object meta: "
            f"{metadata.get('uid')}",
        )
    if metadata.get("deletionTimestamp"):
        _refuse_binding(name, f"pod {name} is being deleted, cannot be assigned to a host")
    if spec.get("nodeName"):
        _refuse_binding(name, f'pod {name} is already assigned to node "{spec["nodeName"]}"')
    result = copy.deepcopy(dict(pod))
    result.setdefault("spec", {})["nodeName"] = node
    annotations = (binding.get("metadata") or {}).get("annotations") or {}
    if annotations:
        result["metadata"].setdefault("annotations", {}).update(annotations)
    status = result.setdefault("status", {})
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
    scheduled = {"type": "PodScheduled", "status": "True", "lastProbeTime": None}
    status["conditions"] = [*conditions, {**scheduled, "lastTransitionTime": rfc3339(now)}]
    return result


def _refuse_binding(name: str, detail: str) -> None:
    raise errors.conflict("", "pods/binding", name, detail)


BINDING_ANSWER: Final = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Success",
    "code": 201,
}


def grace_seconds(pod: Mapping[str, Any], options: Mapping[str, Any]) -> int:
    """How long a DELETE gives the pod (0: it goes at once): the request's `gracePeriodSeconds`,
    else the pod's `terminationGracePeriodSeconds`; 0 for a pod no node runs or one that ended."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    requested = options.get("gracePeriodSeconds")
    if requested is None:
        requested = spec.get("terminationGracePeriodSeconds", 0)
    period = int(requested)
    if not spec.get("nodeName") or status.get("phase") in _TERMINAL_PHASES:
        period = 0
    return 1 if period < 0 else period


def graceful_deletion(
    pod: Mapping[str, Any], options: Mapping[str, Any], now: datetime.datetime
) -> dict[str, Any] | None:
    """The pod as a DELETE leaves it (the generic registry's `BeforeDelete`): marked with a
    `deletionTimestamp` `grace` seconds ahead, or a pending deletion shortened; None when the
    request changes nothing."""
    metadata = pod["metadata"]
    current = metadata.get("deletionGracePeriodSeconds")
    requested = options.get("gracePeriodSeconds")
    if metadata.get("deletionTimestamp"):
        if not current or requested is None or int(requested) >= int(current):
            return None
        period = max(int(requested), 0)
        started = _parse(metadata["deletionTimestamp"]) - datetime.timedelta(seconds=int(current))
        moment = started + datetime.timedelta(seconds=period)
        if moment < now:
            moment, period = now, (1 if period else 0)
        return _marked(pod, moment, period, bump=False)
    period = grace_seconds(pod, options)
    return _marked(pod, now + datetime.timedelta(seconds=period), period, bump=True)


def _marked(
    pod: Mapping[str, Any], moment: datetime.datetime, period: int, *, bump: bool
) -> dict[str, Any]:
    result = copy.deepcopy(dict(pod))
    metadata = result["metadata"]
    metadata["deletionTimestamp"] = rfc3339(moment)
    metadata["deletionGracePeriodSeconds"] = period
    if bump and metadata.get("generation"):
        metadata["generation"] = int(metadata["generation"]) + 1
    return result


def deletion_pending(obj: Mapping[str, Any]) -> bool:
    """A pod whose graceful deletion waits for its kubelet (a grace period still given)."""
    metadata = obj.get("metadata") or {}
    return bool(metadata.get("deletionTimestamp")) and bool(
        metadata.get("deletionGracePeriodSeconds")
    )


def check_uid_kept(
    kind: str, group: str, old: Mapping[str, Any], patched: Mapping[str, Any]
) -> None:
    """A patch of a built-in kind (or of its status) that changes the uid is refused as the
    update of an immutable field (the server reports the cause twice); a kubelet puts the pod's
    uid in its status patches so that they never land on a re-created pod."""
    name, uid = old["metadata"]["name"], (patched.get("metadata") or {}).get("uid")
    if uid and uid != old["metadata"].get("uid"):
        message = f'Invalid value: "{uid}": field is immutable'
        cause = {"reason": "FieldValueInvalid", "message": message, "field": "metadata.uid"}
        raise errors.invalid(kind, group, name, [cause, cause], [f"metadata.uid: {message}"])


def _parse(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
