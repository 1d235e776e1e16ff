"""Every verbatim text the simulator writes: Tekton v1.7 messages and the kubelet/API texts.

Sources: `tekton-status.md` (sections 2 to 4). A quoted placeholder there is Go's `%q`, which
`go_quote` reproduces; the kubelet text inside the image-pull failure message is not escaped.
"""

from __future__ import annotations

from typing import Final

PENDING: Final = "Pending"
NOT_ALL_STEPS_FINISHED: Final = "Not all Steps in the Task have finished executing"
ALL_STEPS_COMPLETED: Final = "All Steps have completed executing"
CANCELLED_BY_PIPELINE_TIMEOUT: Final = (
    "TaskRun cancelled as the PipelineRun it belongs to has timed out."
)
CANCELLED_BY_PIPELINE_CANCEL: Final = (
    "TaskRun cancelled as the PipelineRun it belongs to has been cancelled."
)
USER_ERROR_PREFIX: Final = "[User error] "
POD_CONFIG_ERROR: Final = "Failed to create pod due to config error"
"""Tekton's TaskRun message when a step container waits `CreateContainerConfigError`."""


def go_quote(text: str) -> str:
    """Go's `%q` for the printable texts Tekton quotes: backslashes, quotes, controls escaped."""
    escaped = []
    for char in text:
        if char in {'"', "\\"}:
            escaped.append("\\" + char)
        elif char == "\n":
            escaped.append("\\n")
        elif char == "\t":
            escaped.append("\\t")
        elif char == "\r":
            escaped.append("\\r")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\x{ord(char):02x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def resolving_pipeline_ref(namespace: str, pipelinerun: str) -> str:
    return f"PipelineRun {namespace}/{pipelinerun} awaiting remote resource"


def running_counts(
    *, completed: int, failed: int, cancelled: int, incomplete: int, skipped: int
) -> str:
    return (
        f"Tasks Completed: {completed} (Failed: {failed}, Cancelled {cancelled}), "
        f"Incomplete: {incomplete}, Skipped: {skipped}"
    )


def finished_counts(*, completed: int, failed: int, cancelled: int, skipped: int) -> str:
    return (
        f"Tasks Completed: {completed} (Failed: {failed}, Cancelled {cancelled}), "
        f"Skipped: {skipped}"
    )


def pipelinerun_cancelled(pipelinerun: str) -> str:
    return f"PipelineRun {go_quote(pipelinerun)} was cancelled"


def pipelinerun_timeout(pipelinerun: str, duration: str) -> str:
    return f"PipelineRun {go_quote(pipelinerun)} failed to finish within {go_quote(duration)}"


def taskrun_timeout(taskrun: str, duration: str) -> str:
    return f"TaskRun {go_quote(taskrun)} failed to finish within {go_quote(duration)}"


def taskrun_cancelled(taskrun: str, cause: str) -> str:
    return f"TaskRun {go_quote(taskrun)} was cancelled. {cause}"


def step_exited(container: str, exit_code: int, reason: str) -> str:
    return f"{go_quote(container)} exited with code {exit_code}: {reason}"


def step_terminated_with_pod(step: str, pod: str) -> str:
    return f"Step {step} terminated as pod {pod} is terminated"


def build_step_pending(container: str, kubelet_message: str) -> str:
    return f"build step {go_quote(container)} is pending with reason {go_quote(kubelet_message)}"


def image_pull_failed(step: str, taskrun: str, image_id: str, kubelet_message: str) -> str:
    return (
        f"the step {go_quote(step)} in TaskRun {go_quote(taskrun)} failed to pull the image "
        f'{go_quote(image_id)}. The pod errored with the message: "{kubelet_message}."'
    )


def couldnt_get_pipeline(namespace: str, pipelinerun: str, resolution_message: str) -> str:
    return (
        f"Error retrieving pipeline for pipelinerun {namespace}/{pipelinerun}: "
        f"resolver failed to get Pipeline : error requesting remote resource: {resolution_message}"
    )


def bundle_resolution_failed(namespace: str, request_name: str, cause: str) -> str:
    return f'error getting "bundleresolver" "{namespace}/{request_name}": {cause}'


def oci_image_not_found(registry: str, path: str, reference: str) -> str:
    key = "Digest" if reference.startswith("sha256:") else "Tag"
    return (
        f"cannot retrieve the oci image: GET https://{registry}/v2/{path}/manifests/{reference}: "
        f"MANIFEST_UNKNOWN: manifest unknown; map[{key}:{reference}]"
    )


def parameter_missing(namespace: str, pipelinerun: str, pipeline: str, missing: list[str]) -> str:
    return (
        f"{USER_ERROR_PREFIX}PipelineRun {namespace}/{pipelinerun} is missing some parameters "
        f"required by Pipeline {namespace}/{pipeline}: pipelineRun missing parameters: "
        f"[{' '.join(missing)}]"
    )


def kubelet_err_image_pull(image: str) -> str:
    return (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": '
        f'failed to resolve reference "{image}": {image}: not found'
    )


def kubelet_back_off_pulling(image: str) -> str:
    return f'Back-off pulling image "{image}"'


def pod_security_violation(pod: str, container: str) -> str:
    return (
        f'pods "{pod}" is forbidden: violates PodSecurity "restricted:latest": '
        f'privileged (container "{container}" must not set securityContext.privileged=true)'
    )


QUOTA_NAME: Final = "workflow-pods"


def exceeded_resource_quota(pod: str) -> str:
    return (
        f'TaskRun Pod exceeded available resources: pods "{pod}" is forbidden: exceeded quota: '
        f"{QUOTA_NAME}, requested: pods=1, used: pods=10, limited: pods=10"
    )


def kubelet_object_not_found(kind: str, name: str) -> str:
    """The kubelet's waiting message for a container whose Secret or ConfigMap does not exist:
    its object caches say `secret "<name>" not found` / `configmap "<name>" not found` (the
    singular, lower-case kind; not the API server's `secrets "<name>" not found`)."""
    return f'{kind.lower()} "{name}" not found'
