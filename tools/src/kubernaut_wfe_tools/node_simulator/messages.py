"""Every verbatim text the node stand-in writes: the kubelet's, containerd's and the eviction
manager's, as Kubernetes v1.36 writes them (`pkg/kubelet/...`, `job-engine.md` §9).

A quoted placeholder is Go's `%q` (`go_quote`). The kubelet names the image as the pod spec does,
with `:latest` added when it has neither tag nor digest (`requested_image`); containerd names it
fully qualified (`documents.containerd_reference`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from kubernaut_wfe.constants import StepReason
from kubernaut_wfe_tools.tekton_simulator.messages import go_quote

CONTAINER_CREATED: Final = "Container created"
CONTAINER_STARTED: Final = "Container started"
CONTAINER_STATUS_UNKNOWN: Final = "The container could not be located when the pod was terminated"
"""`terminated.message` of a container that never ran, when its pod is deleted."""

KUBELET_HAS_SUFFICIENT_MEMORY: Final = "kubelet has sufficient memory available"
KUBELET_HAS_NO_DISK_PRESSURE: Final = "kubelet has no disk pressure"
KUBELET_HAS_SUFFICIENT_PID: Final = "kubelet has sufficient PID available"
KUBELET_READY: Final = "kubelet is posting ready status"


def pulling_image(image: str) -> str:
    return f"Pulling image {go_quote(image)}"


def pulled_image(image: str, duration: str, size_bytes: int) -> str:
    """`duration` is Go's `Duration.String()` of the pull (the same for "including waiting")."""
    return (
        f"Successfully pulled image {go_quote(image)} in {duration} ({duration} including "
        f"waiting). Image size: {size_bytes} bytes."
    )


def image_already_present(image: str) -> str:
    return f"Container image {go_quote(image)} already present on machine"


def image_not_found(reference: str) -> str:
    """containerd's answer (gRPC error text through the CRI) for an image that does not exist."""
    return (
        f"rpc error: code = NotFound desc = failed to pull and unpack image {go_quote(reference)}: "
        f"failed to resolve reference {go_quote(reference)}: {reference}: not found"
    )


def failed_to_pull(image: str, error: str) -> str:
    return f"Failed to pull image {go_quote(image)}: {error}"


def error_event(cause: str) -> str:
    """The kubelet's Warning `Failed` when a container cannot start: `Error: <cause>` (the
    cause's text, or for an image the error's name, which is also the waiting reason)."""
    return f"Error: {cause}"


def back_off_pulling(image: str) -> str:
    """The `BackOff` Event's text; the waiting message adds the last pull error
    (`back_off_waiting`)."""
    return f"Back-off pulling image {go_quote(image)}"


def back_off_waiting(image: str, pull_error: str) -> str:
    """`waiting.message` during `ImagePullBackOff`: the back-off text, then the error it waits
    after (`ErrImagePull: <message>`)."""
    return f"{back_off_pulling(image)}: {StepReason.ERR_IMAGE_PULL.value}: {pull_error}"


def stopping_container(container: str) -> str:
    return f"Stopping container {container}"


def mount_failed(volume: str, kind: str, name: str) -> str:
    """`FailedMount` for a Secret or ConfigMap volume whose object does not exist; `kind` is the
    object's kind, written lower-case as the kubelet's object cache names it."""
    return (
        f"MountVolume.SetUp failed for volume {go_quote(volume)} : "
        f"{kind.lower()} {go_quote(name)} not found"
    )


def mount_key_missing(volume: str, kind: str, key: str) -> str:
    """`FailedMount` for a ConfigMap or Secret volume whose `items` name a key it lacks."""
    noun = "config" if kind.lower() == "configmap" else "secret"
    return (
        f"MountVolume.SetUp failed for volume {go_quote(volume)} : "
        f"{kind.lower()} references non-existent {noun} key: {key}"
    )


def env_key_missing(key: str, kind: str, namespace: str, name: str) -> str:
    """The kubelet's refusal of an env `configMapKeyRef`/`secretKeyRef` naming a missing key
    (`kind` as the API names it: ConfigMap, Secret)."""
    return f"couldn't find key {key} in {kind} {namespace}/{name}"


def runs_as_root(pod: str, namespace: str, uid: str, container: str) -> str:
    """The kubelet's refusal to create a `runAsNonRoot` container whose image runs as root."""
    return (
        "container has runAsNonRoot and image will run as root "
        f"(pod: {go_quote(f'{pod}_{namespace}({uid})')}, container: {container})"
    )


def root_user_refused(pod: str, namespace: str, uid: str, container: str) -> str:
    """The kubelet's refusal of a `runAsNonRoot` container whose `runAsUser` is 0."""
    return (
        "container's runAsUser breaks non-root policy "
        f"(pod: {go_quote(f'{pod}_{namespace}({uid})')}, container: {container})"
    )


def containers_not_ready(containers: Sequence[str]) -> str:
    """`Ready`/`ContainersReady` message; the list as Go prints a `[]string`."""
    return f"containers with unready status: [{' '.join(containers)}]"


def evicted_for_memory(
    *, threshold: str, available: str, container: str, usage: str, request: str
) -> str:
    """The eviction manager's message (hard `memory.available` threshold), also the
    `DisruptionTarget` condition's message and the pod's `status.message`. Every sentence ends
    with a space, the last one too."""
    return (
        "The node was low on resource: memory. "
        f"Threshold quantity: {threshold}, available: {available}. "
        f"Container {container} was using {usage}, request is {request}, "
        "has larger consumption of memory. "
    )


# --- The Job controller's texts (`pkg/controller/job`, `pkg/controller/controller_utils.go`) ---

REACHED_COMPLETIONS: Final = "Reached expected number of succeeded pods"
BACKOFF_LIMIT_REACHED: Final = "Job has reached the specified backoff limit"
ACTIVE_TOO_LONG: Final = "Job was active longer than specified deadline"
JOB_SUSPENDED: Final = "Job suspended"
JOB_RESUMED: Final = "Job resumed"
JOB_COMPLETED: Final = "Job completed"


def created_pod(pod: str) -> str:
    return f"Created pod: {pod}"


def deleted_pod(pod: str) -> str:
    return f"Deleted pod: {pod}"


def error_creating(error: str) -> str:
    """`FailedCreate`: the API server's refusal of a pod, as the error prints it."""
    return f"Error creating: {error}"


def error_deleting(error: str) -> str:
    return f"Error deleting: {error}"


def fail_job_on_exit_code(
    container: str, namespace: str, pod: str, exit_code: int, index: int
) -> str:
    """The `PodFailurePolicy` message of a `FailJob` rule on exit codes."""
    return (
        f"Container {container} for pod {namespace}/{pod} failed with exit code {exit_code} "
        f"matching FailJob rule at index {index}"
    )


def fail_job_on_condition(namespace: str, pod: str, condition: str, index: int) -> str:
    """The `PodFailurePolicy` message of a `FailJob` rule on pod conditions."""
    return f"Pod {namespace}/{pod} has condition {condition} matching FailJob rule at index {index}"


# --- a restarting container and its probes (pkg/kubelet/kuberuntime, pkg/kubelet/prober) ------


def pod_reference(pod: str, namespace: str, uid: str) -> str:
    """How the kubelet names a pod in its messages: `name_namespace(uid)`."""
    return f"{pod}_{namespace}({uid})"


def crash_loop_waiting(back_off_seconds: int, container: str, pod_reference: str) -> str:
    """The waiting message of a container in `CrashLoopBackOff`."""
    duration = _go_duration(back_off_seconds)
    return f"back-off {duration} restarting failed container={container} pod={pod_reference}"


def back_off_restarting(container: str, pod_reference: str) -> str:
    """The `BackOff` Event of a container in `CrashLoopBackOff`."""
    return f"Back-off restarting failed container {container} in pod {pod_reference}"


def probe_failed(kind: str, output: str) -> str:
    """The `Unhealthy` Event: `Liveness probe failed: …` (kind `Liveness`/`Readiness`)."""
    return f"{kind} probe failed: {output}"


def probe_status_code(code: int) -> str:
    return f"HTTP probe failed with statuscode: {code}"


def probe_get_failed(url: str, error: str) -> str:
    """A probe whose request did not get an answer, as Go's http client words it."""
    return f"Get {go_quote(url)}: {error}"


def connection_refused(address: str) -> str:
    return f"dial tcp {address}: connect: connection refused"


PROBE_TIMEOUT: Final = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"


def liveness_restart(container: str) -> str:
    """The `Killing` Event of a container that failed its liveness probe."""
    return f"Container {container} failed liveness probe, will be restarted"


def _go_duration(seconds: int) -> str:
    """Go's `time.Duration` string for whole seconds: `10s`, `1m20s`, `5m0s`."""
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}m{rest}s" if minutes else f"{rest}s"
