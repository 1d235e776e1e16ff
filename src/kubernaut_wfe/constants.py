"""Every protocol string of the controller, in one place.

Labels, annotations, the finalizer, phases, condition types and reasons, failure reasons, Event
reasons and ADR-034 v1.5 audit event types. Code compares and writes these names only; a string
literal for any of them elsewhere is a bug waiting for a rename.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

GROUP: Final = "kubernaut.ai"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
KIND: Final = "WorkflowExecution"
PLURAL: Final = "workflowexecutions"
CRD_NAME: Final = f"{PLURAL}.{GROUP}"

TEKTON_GROUP: Final = "tekton.dev"
TEKTON_VERSION: Final = "v1"
TEKTON_API_VERSION: Final = f"{TEKTON_GROUP}/{TEKTON_VERSION}"
PIPELINERUN_KIND: Final = "PipelineRun"
PIPELINERUN_PLURAL: Final = "pipelineruns"
TASKRUN_KIND: Final = "TaskRun"
TASKRUN_PLURAL: Final = "taskruns"

FINALIZER: Final = "workflowexecution.kubernaut.ai/workflowexecution-cleanup"
"""The Go controller's finalizer name, so that the two controllers never fight over objects."""

CORE_DISCOVERY_PATH: Final = "/api/v1"
"""The core group's APIResourceList (API discovery)."""
GROUPS_DISCOVERY_PATH: Final = "/apis"
"""The APIGroupList: every other group and its preferred version (API discovery)."""

PIPELINERUN_NAME_PREFIX: Final = "wfe-"
RESERVED_PARAMETER: Final = "TARGET_RESOURCE"
BUNDLE_PIPELINE_NAME: Final = "workflow"
"""Every workflow bundle holds a Pipeline of this name."""


class DependencyWorkspace(StrEnum):
    """Prefixes of the PipelineRun workspaces a catalog snapshot's `dependencies` are bound as
    (`secret-<name>`, `configmap-<name>`; platform contract 2026-08 §4)."""

    SECRET = "secret-"  # noqa: S105 - a name prefix, not a secret
    CONFIG_MAP = "configmap-"


class Label(StrEnum):
    """Labels the controller puts on a PipelineRun, for selection (values are sanitised)."""

    WORKFLOW_EXECUTION = "kubernaut.ai/workflow-execution"
    SOURCE_NAMESPACE = "kubernaut.ai/source-namespace"
    WORKFLOW_ID = "kubernaut.ai/workflow-id"
    TARGET_RESOURCE = "kubernaut.ai/target-resource"
    CORRELATION_ID = "kubernaut.ai/correlation-id"
    """Read from a WFE (never written): the audit correlation id when the spec lacks one."""


class Annotation(StrEnum):
    """Annotations the controller puts on a PipelineRun, for ownership (values are exact)."""

    TARGET_RESOURCE = "kubernaut.ai/target-resource"
    WORKFLOW_EXECUTION = "kubernaut.ai/workflow-execution"
    WORKFLOW_EXECUTION_UID = "kubernaut.ai/workflow-execution-uid"


class WfeAnnotation(StrEnum):
    """Annotations the controller puts on a WorkflowExecution (a status write cannot touch
    them)."""

    EXECUTION_RESOURCE = "kubernaut.ai/execution-resource"
    """The run this WFE created or adopted (`core.record`): it never runs the workflow again."""


class TektonLabel(StrEnum):
    """Labels Tekton itself writes on PipelineRuns and TaskRuns."""

    PIPELINE = "tekton.dev/pipeline"
    PIPELINE_RUN = "tekton.dev/pipelineRun"
    PIPELINE_RUN_UID = "tekton.dev/pipelineRunUID"
    PIPELINE_TASK = "tekton.dev/pipelineTask"
    MEMBER_OF = "tekton.dev/memberOf"
    MANAGED_BY = "app.kubernetes.io/managed-by"


class Phase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"


class ConditionType(StrEnum):
    TEKTON_PIPELINE_CREATED = "TektonPipelineCreated"
    TEKTON_PIPELINE_RUNNING = "TektonPipelineRunning"
    TEKTON_PIPELINE_COMPLETE = "TektonPipelineComplete"
    EXECUTION_CREATED = "ExecutionCreated"
    """The engine-neutral names of the three above (the August 2026 contract), set beside them."""
    EXECUTION_RUNNING = "ExecutionRunning"
    EXECUTION_COMPLETE = "ExecutionComplete"
    AUDIT_RECORDED = "AuditRecorded"
    RESOURCE_LOCKED = "ResourceLocked"
    READY = "Ready"


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class ConditionReason(StrEnum):
    PIPELINE_CREATED = "PipelineCreated"
    PIPELINE_CREATION_FAILED = "PipelineCreationFailed"
    QUOTA_EXCEEDED = "QuotaExceeded"
    RBAC_DENIED = "RBACDenied"
    PIPELINE_STARTED = "PipelineStarted"
    PIPELINE_SUCCEEDED = "PipelineSucceeded"
    TASK_FAILED = "TaskFailed"
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    OOM_KILLED = "OOMKilled"
    PIPELINE_FAILED = "PipelineFailed"
    AUDIT_SUCCEEDED = "AuditSucceeded"
    AUDIT_PENDING = "AuditPending"
    AUDIT_FAILED = "AuditFailed"
    RECENTLY_REMEDIATED = "RecentlyRemediated"
    LOCK_ACQUIRED = "LockAcquired"
    COMPLETED = "Completed"
    PENDING = "Pending"
    RUNNING = "Running"
    EXECUTION_CREATED = "ExecutionCreated"
    EXECUTION_CREATION_FAILED = "ExecutionCreationFailed"
    EXECUTION_STARTED = "ExecutionStarted"
    EXECUTION_SUCCEEDED = "ExecutionSucceeded"
    EXECUTION_FAILED = "ExecutionFailed"


class FailureReason(StrEnum):
    """`status.failureDetails.reason`: the CRD enum."""

    OOM_KILLED = "OOMKilled"
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    FORBIDDEN = "Forbidden"
    RESOURCE_EXHAUSTED = "ResourceExhausted"
    CONFIGURATION_ERROR = "ConfigurationError"
    IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
    TASK_FAILED = "TaskFailed"
    UNSUPPORTED_ENGINE = "UnsupportedEngine"
    DEDUPLICATED = "Deduplicated"
    UNKNOWN = "Unknown"


class ExecutionEngine(StrEnum):
    """`spec.workflowRef.executionEngine`: what runs the workflow (absent or empty: Tekton)."""

    TEKTON = "tekton"
    JOB = "job"
    ANSIBLE = "ansible"


class EventReason(StrEnum):
    """Reasons of the Kubernetes Events the controller emits on a WFE."""

    PIPELINE_RUN_CREATED = "PipelineRunCreated"
    WORKFLOW_COMPLETED = "WorkflowCompleted"
    WORKFLOW_FAILED = "WorkflowFailed"
    LOCK_RELEASED = "LockReleased"
    WORKFLOW_EXECUTION_DELETED = "WorkflowExecutionDeleted"
    STATUS_WRITE_REJECTED = "StatusWriteRejected"
    STATUS_REBUILT = "StatusRebuilt"
    """Someone else rewrote the status; the controller rebuilt it from the run it created."""
    EXECUTION_CANCELLED = "PipelineRunCancelled"
    """The WFE was set Failed while its run went on: the controller cancelled the run."""
    PARAMETERS_STRIPPED = "UndeclaredParametersStripped"
    """Parameters the catalog did not declare were left out of the run (names only)."""
    # The August 2026 contract's reasons, posted for catalog-snapshot WFEs (core.platform_events).
    EXECUTION_CREATED = "ExecutionCreated"
    WORKFLOW_VALIDATED = "WorkflowValidated"
    WORKFLOW_VALIDATION_FAILED = "WorkflowValidationFailed"
    COOLDOWN_ACTIVE = "CooldownActive"
    PHASE_TRANSITION = "PhaseTransition"
    CLEANUP_FAILED = "CleanupFailed"
    """Deleting a deleted WFE's run failed; the finalizer stays and the delete is retried."""


class EventType(StrEnum):
    """Kubernetes Event types."""

    NORMAL = "Normal"
    WARNING = "Warning"


class AuditEventType(StrEnum):
    """ADR-034 v1.5 audit event types emitted by this controller."""

    SELECTION_COMPLETED = "workflowexecution.selection.completed"
    EXECUTION_STARTED = "workflowexecution.execution.started"
    WORKFLOW_COMPLETED = "workflowexecution.workflow.completed"
    WORKFLOW_FAILED = "workflowexecution.workflow.failed"


class DataStorageContract(StrEnum):
    """The DataStorage API the audit events follow (`audit.datastorage_contract`)."""

    AUGUST_2026 = "2026-08"
    """The newest: catalog fields, run parameters, `cluster_id`, every failure reason as itself."""
    JANUARY_2026 = "2026-01"
    """A January DataStorage: none of those; `Deduplicated`/`UnsupportedEngine` sent as Unknown."""


AUDIT_CATEGORY: Final = "workflowexecution"
AUDIT_ACTOR_TYPE: Final = "service"
AUDIT_ACTOR_ID: Final = "workflowexecution-controller"
AUDIT_RESOURCE_TYPE: Final = "WorkflowExecution"
AUDIT_VERSION: Final = "1.0"
AUDIT_COMPONENT: Final = "workflowexecution"


class PipelineRunSpecStatus(StrEnum):
    """Values of a PipelineRun's `spec.status`: what its owner asks Tekton to do with it."""

    PENDING = "PipelineRunPending"
    CANCELLED = "Cancelled"
    CANCELLED_RUN_FINALLY = "CancelledRunFinally"
    STOPPED_RUN_FINALLY = "StoppedRunFinally"


CANCEL_REQUESTS: Final = frozenset(
    {
        PipelineRunSpecStatus.CANCELLED.value,
        PipelineRunSpecStatus.CANCELLED_RUN_FINALLY.value,
        PipelineRunSpecStatus.STOPPED_RUN_FINALLY.value,
    }
)
"""The `spec.status` values that ask Tekton to stop a run."""


class TektonReason(StrEnum):
    """Reasons Tekton v1.7 writes on the `Succeeded` condition of PipelineRuns and TaskRuns."""

    # PipelineRun
    STARTED = "Started"
    RUNNING = "Running"
    RESOLVING_PIPELINE_REF = "ResolvingPipelineRef"
    SUCCEEDED = "Succeeded"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    PIPELINE_RUN_TIMEOUT = "PipelineRunTimeout"
    PIPELINE_RUN_PENDING = "PipelineRunPending"
    COULDNT_GET_PIPELINE = "CouldntGetPipeline"
    COULDNT_GET_TASK = "CouldntGetTask"
    PARAMETER_MISSING = "ParameterMissing"
    PARAMETER_TYPE_MISMATCH = "ParameterTypeMismatch"
    INVALID_PARAM_VALUE = "InvalidParamValue"
    PIPELINE_VALIDATION_FAILED = "PipelineValidationFailed"
    PIPELINE_INVALID_GRAPH = "PipelineInvalidGraph"
    INVALID_WORKSPACE_BINDINGS = "InvalidWorkspaceBindings"
    CREATE_RUN_FAILED = "CreateRunFailed"
    # TaskRun
    PENDING = "Pending"
    TASK_RUN_TIMEOUT = "TaskRunTimeout"
    TASK_RUN_CANCELLED = "TaskRunCancelled"
    TASK_RUN_IMAGE_PULL_FAILED = "TaskRunImagePullFailed"
    PULL_IMAGE_FAILED = "PullImageFailed"
    EXCEEDED_RESOURCE_QUOTA = "ExceededResourceQuota"
    EXCEEDED_NODE_RESOURCES = "ExceededNodeResources"
    POD_ADMISSION_FAILED = "PodAdmissionFailed"
    POD_CREATION_FAILED = "PodCreationFailed"
    CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"
    FAILURE_IGNORED = "FailureIgnored"


class StepReason(StrEnum):
    """Step `terminated.reason` / `terminationReason` and `waiting.reason` values."""

    COMPLETED = "Completed"
    ERROR = "Error"
    OOM_KILLED = "OOMKilled"
    SKIPPED = "Skipped"
    TIMEOUT_EXCEEDED = "TimeoutExceeded"
    ERR_IMAGE_PULL = "ErrImagePull"
    IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
    INVALID_IMAGE_NAME = "InvalidImageName"


SUCCEEDED_CONDITION: Final = "Succeeded"
"""The one Knative condition type Tekton writes on runs."""


BUNDLES_RESOLVER: Final = "bundles"
"""Tekton's resolver for OCI bundles (`spec.pipelineRef.resolver`)."""


class BundleParam(StrEnum):
    """Parameter names of the bundles resolver, and the `kind` value for a Pipeline."""

    BUNDLE = "bundle"
    NAME = "name"
    KIND = "kind"
    PIPELINE_KIND = "pipeline"


TASKS_COMPLETED_PREFIX: Final = "Tasks Completed:"
"""Start of the counts message Tekton writes on a PipelineRun's `Succeeded` condition."""
EXCEEDED_QUOTA_TEXT: Final = "exceeded quota"
"""What an apiserver quota rejection says (403 on create, or a child TaskRun's message)."""
IS_FORBIDDEN_TEXT: Final = "is forbidden"
"""What a forbidden pod creation says in a `PodCreationFailed` TaskRun message."""
PIPELINERUN_DELETED_EXTERNALLY: Final = "PipelineRun was deleted externally"
"""`failureDetails.message` when a Running WFE's run disappears."""


# --- Pods as the kubelet and containerd run them (the Job engine) ---------------------------------
# What Kubernetes writes on a Job's pods and their node; the node stand-in
# (`kubernaut_wfe_tools.node_simulator`) writes it as the kubelet does. Container reasons a Tekton
# step shares with any container (`Completed`, `Error`, `OOMKilled`, `ErrImagePull`,
# `ImagePullBackOff`) are `StepReason`'s: a step is a container, containerd names them alike.

JOB_NAME_LABEL: Final = "batch.kubernetes.io/job-name"
"""The label the Job controller puts on each of its pods: the Job's name."""
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


class KubeletEventReason(StrEnum):
    """Reasons of the Events the kubelet posts on a pod."""

    PULLING = "Pulling"
    PULLED = "Pulled"
    CREATED = "Created"
    STARTED = "Started"
    FAILED = "Failed"
    """Image pull failures and `Error: …` when a container cannot be created."""
    BACK_OFF = "BackOff"
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
