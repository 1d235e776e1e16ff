"""The kubelet's, containerd's, a node's and the Job controller's vocabulary, as the node
stand-in writes it. Like the
Tekton simulator's texts, these are the oracle's own: the controller's core reads a few of the
same strings (`kubernaut_wfe.constants`), and a test fails when the two disagree with Kubernetes.
Container reasons a Tekton step shares with any container (`Completed`, `Error`, `OOMKilled`,
`ErrImagePull`, `ImagePullBackOff`) are `StepReason`'s."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from kubernaut_wfe.constants import JOB_NAME_LABEL, JOB_TRACKING_LABEL_CONTROLLER_UID

__all__ = ["JOB_NAME_LABEL", "JOB_TRACKING_LABEL_CONTROLLER_UID"]

KUBELET_COMPONENT: Final = "kubelet"
"""`source.component` and `reportingComponent` of the Events a kubelet posts."""
NODE_LEASE_NAMESPACE: Final = "kube-node-lease"
"""Where each kubelet renews its node's Lease (its heartbeat)."""


class PodPhase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class PodConditionType(StrEnum):
    """The pod conditions the kubelet writes, in its order (`DisruptionTarget` first when set)."""

    DISRUPTION_TARGET = "DisruptionTarget"
    POD_READY_TO_START_CONTAINERS = "PodReadyToStartContainers"
    INITIALIZED = "Initialized"
    READY = "Ready"
    CONTAINERS_READY = "ContainersReady"
    POD_SCHEDULED = "PodScheduled"


class PodConditionReason(StrEnum):
    CONTAINERS_NOT_READY = "ContainersNotReady"
    POD_COMPLETED = "PodCompleted"
    POD_FAILED = "PodFailed"
    TERMINATION_BY_KUBELET = "TerminationByKubelet"
    """`DisruptionTarget`'s reason when the kubelet evicts the pod (node pressure, shutdown)."""


class KubeletContainerReason(StrEnum):
    """Container `waiting`/`terminated` reasons only the kubelet writes (see `StepReason`)."""

    CONTAINER_CREATING = "ContainerCreating"
    CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"
    CONTAINER_STATUS_UNKNOWN = "ContainerStatusUnknown"
    """A container that never ran, when its pod is deleted (exit code 137)."""
    CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
    """A container of a restarting pod that ended, waiting for its back-off to pass."""


class KubeletEventReason(StrEnum):
    """Reasons of the Events the kubelet posts on a pod."""

    PULLING = "Pulling"
    PULLED = "Pulled"
    CREATED = "Created"
    STARTED = "Started"
    FAILED = "Failed"
    """Image pull failures and `Error: …` when a container cannot be created."""
    BACK_OFF = "BackOff"
    UNHEALTHY = "Unhealthy"
    KILLING = "Killing"
    FAILED_MOUNT = "FailedMount"
    EVICTED = "Evicted"
    """Also the evicted pod's `status.reason`."""


class NodeConditionType(StrEnum):
    MEMORY_PRESSURE = "MemoryPressure"
    DISK_PRESSURE = "DiskPressure"
    PID_PRESSURE = "PIDPressure"
    READY = "Ready"


class NodeConditionReason(StrEnum):
    KUBELET_HAS_SUFFICIENT_MEMORY = "KubeletHasSufficientMemory"
    KUBELET_HAS_NO_DISK_PRESSURE = "KubeletHasNoDiskPressure"
    KUBELET_HAS_SUFFICIENT_PID = "KubeletHasSufficientPID"
    KUBELET_READY = "KubeletReady"


class NodeLabel(StrEnum):
    """Labels every kubelet puts on its Node."""

    ARCH = "kubernetes.io/arch"
    HOSTNAME = "kubernetes.io/hostname"
    OS = "kubernetes.io/os"


# --- The Job controller (kube-controller-manager's `job-controller`, Kubernetes v1.36) ----------

JOB_CONTROLLER_COMPONENT: Final = "job-controller"
"""`source.component` and `reportingComponent` of the Events the Job controller posts."""
JOB_TRACKING_FINALIZER: Final = "batch.kubernetes.io/job-tracking"
"""On each pod the Job controller creates, until it has counted the pod."""
BATCH_API_VERSION: Final = "batch/v1"
JOB_KIND: Final = "Job"


class JobConditionType(StrEnum):
    """A Job's conditions: the interim ones first, then the terminal one (or `Suspended`)."""

    SUCCESS_CRITERIA_MET = "SuccessCriteriaMet"
    COMPLETE = "Complete"
    FAILURE_TARGET = "FailureTarget"
    FAILED = "Failed"
    SUSPENDED = "Suspended"


class JobConditionReason(StrEnum):
    COMPLETIONS_REACHED = "CompletionsReached"
    BACKOFF_LIMIT_EXCEEDED = "BackoffLimitExceeded"
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    POD_FAILURE_POLICY = "PodFailurePolicy"
    JOB_SUSPENDED = "JobSuspended"
    JOB_RESUMED = "JobResumed"


class JobEventReason(StrEnum):
    """Reasons of the Events the Job controller posts on a Job (a failure's Warning carries the
    `Failed` condition's reason instead)."""

    SUCCESSFUL_CREATE = "SuccessfulCreate"
    FAILED_CREATE = "FailedCreate"
    SUCCESSFUL_DELETE = "SuccessfulDelete"
    FAILED_DELETE = "FailedDelete"
    COMPLETED = "Completed"
    SUSPENDED = "Suspended"
    RESUMED = "Resumed"


class PodFailurePolicyAction(StrEnum):
    IGNORE = "Ignore"
    FAIL_JOB = "FailJob"
    COUNT = "Count"


class PodReplacementPolicy(StrEnum):
    FAILED = "Failed"
    TERMINATING_OR_FAILED = "TerminatingOrFailed"
