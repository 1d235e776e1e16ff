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
    """Prefixes of the PipelineRun workspaces and the Job volumes a catalog snapshot's
    `dependencies` are bound as (`secret-<name>`, `configmap-<name>`; platform contract 2026-08
    §4)."""

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


class SpoolLabel(StrEnum):
    """Labels of the audit spool's ConfigMaps (`core.audit_spool`)."""

    AUDIT_SPOOL = "kubernaut.ai/audit-spool"
    """Marks a ConfigMap holding a deleted WFE's undelivered audit events (value `true`)."""


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
SERVICE_ACCOUNT_LOOKUP_TEXT: Final = "error looking up service account"
"""What the API server says when it refuses a pod whose ServiceAccount does not exist."""
IS_FORBIDDEN_TEXT: Final = "is forbidden"
"""What a forbidden pod creation says in a `PodCreationFailed` TaskRun message."""
RUN_DELETED_EXTERNALLY: Final = "{kind} was deleted externally"
"""`failureDetails.message` when a Running WFE's run disappears (`kind`: PipelineRun or Job)."""


# --- The Job engine: the batch/v1 Job, its Pods and their Events (job-engine.md) ---------------

BATCH_API_VERSION: Final = "batch/v1"
JOB_KIND: Final = "Job"
JOB_PLURAL: Final = "jobs"
POD_KIND: Final = "Pod"
JOB_NAME_LABEL: Final = "batch.kubernetes.io/job-name"
"""The label the API server puts on a Job's pods (and its pod template): the Job's name."""
WARNING_EVENTS_OF_NAMESPACE: Final = "type=Warning,involvedObject.namespace={namespace}"
"""Field selector of the Events watch: the Job engine reads only Warning Events (a missing volume,
a refused pod, a failed pull) about objects in the execution namespace."""
EXECUTION_ENGINE_LABEL: Final = "kubernaut.ai/execution-engine"
"""On the Job and its pod template: which engine runs the workflow (value `job`)."""
JOB_CONTAINER_NAME: Final = "workflow"
"""The one container of the Job's pod: it runs the workflow image's entrypoint."""
JOB_SECRETS_MOUNT_ROOT: Final = "/run/kubernaut/secrets"
"""Each Secret dependency is mounted read-only at `<root>/<name>`."""
JOB_CONFIG_MAPS_MOUNT_ROOT: Final = "/run/kubernaut/configmaps"
"""Each ConfigMap dependency is mounted read-only at `<root>/<name>`."""
JOB_TMP_VOLUME: Final = "tmp"
"""The emptyDir a read-only root filesystem leaves writable: `HOME` and `TMPDIR`."""
JOB_TMP_PATH: Final = "/tmp"  # noqa: S108 - an emptyDir of the workflow's own pod
JOB_HOME_VARIABLE: Final = "HOME"
JOB_TMPDIR_VARIABLE: Final = "TMPDIR"
DISRUPTION_TARGET_CONDITION: Final = "DisruptionTarget"
"""The pod condition Kubernetes sets on a pod it evicts, preempts or deletes for a node."""
POD_FAILURE_POLICY_IGNORE: Final = "Ignore"
"""`podFailurePolicy` action: the failed pod does not count against `backoffLimit`."""
RESTART_POLICY_NEVER: Final = "Never"
SECCOMP_RUNTIME_DEFAULT: Final = "RuntimeDefault"
"""The seccomp profile the restricted Pod Security profile asks for (the PipelineRun's pods too)."""
ALL_CAPABILITIES: Final = "ALL"
"""`capabilities.drop` value: every Linux capability."""
JOB_TRACKING_LABEL_CONTROLLER_UID: Final = "batch.kubernetes.io/controller-uid"
"""The Job controller's label on its pods: the uid of the Job that created them."""


class JobConditionType(StrEnum):
    """Conditions the Job controller writes (interim ones first, then the terminal one)."""

    COMPLETE = "Complete"
    FAILED = "Failed"
    SUCCESS_CRITERIA_MET = "SuccessCriteriaMet"
    FAILURE_TARGET = "FailureTarget"


class RunKind(StrEnum):
    """What runs a WFE's workflow: the kind of the object holding its target's lock."""

    PIPELINE_RUN = PIPELINERUN_KIND
    JOB = JOB_KIND


class JobConditionReason(StrEnum):
    """Reasons of a Job's `FailureTarget`/`Failed` conditions."""

    DEADLINE_EXCEEDED = "DeadlineExceeded"
    BACKOFF_LIMIT_EXCEEDED = "BackoffLimitExceeded"


class PodPhase(StrEnum):
    """The terminal phases of a pod (`Pending`, `Running`, `Unknown` are the others)."""

    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class ContainerReason(StrEnum):
    """A container's `waiting.reason` / `terminated.reason` beyond those of `StepReason` (a
    Tekton step is a container too: `OOMKilled`, `ErrImagePull`, `ImagePullBackOff`, ...)."""

    CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"
    CONTAINER_STATUS_UNKNOWN = "ContainerStatusUnknown"
    """A pod deleted before its container could be located: the exit code 137 is not its own."""


class KubeEventReason(StrEnum):
    """Reasons of the Events the kubelet and the Job controller post on a Job and its pods."""

    FAILED = "Failed"
    """kubelet: `Failed to pull image "…": …`, or `Error: <why the container was not created>`."""
    FAILED_MOUNT = "FailedMount"
    FAILED_CREATE = "FailedCreate"


FAILED_TO_PULL_IMAGE_TEXT: Final = "Failed to pull image"
"""Start of the kubelet's `Failed` Event that carries the registry's answer."""
KUBELET_ERROR_PREFIX: Final = "Error: "
"""Start of the kubelet's `Failed` Event when it could not create or start a container."""


# --- Reaching the API server at start-up: the first request and why it failed ----------------

API_ROOT_PATH: Final = "/api"
"""The first request of a start: every Kubernetes API server answers it with `APIVersions` to
any authenticated identity (the `system:discovery` role), so it tells a Kubernetes API server
that accepts the credentials from anything else."""
API_ROOT_KIND: Final = "APIVersions"


class ApiReachFailure(StrEnum):
    """Why the first request to the API server failed (the logs' and `/readyz`'s `reason`)."""

    CONNECTION_REFUSED = "ConnectionRefused"
    HOST_NOT_FOUND = "HostNotFound"
    CONNECT_TIMEOUT = "ConnectTimeout"
    CONNECTION_CLOSED = "ConnectionClosed"
    UNREACHABLE = "Unreachable"
    SERVER_ERROR = "ServerError"
    """A 5xx or 429: the server (or a proxy before it) is there but not serving yet."""
    NOT_TLS = "NotTLS"
    """An https:// server that answers in plain HTTP."""
    CERTIFICATE_UNTRUSTED = "CertificateUntrusted"
    CERTIFICATE_NAME_MISMATCH = "CertificateNameMismatch"
    TLS_HANDSHAKE_FAILED = "TLSHandshakeFailed"
    CREDENTIALS_REFUSED = "CredentialsRefused"
    """401: the token or client certificate is not accepted."""
    DISCOVERY_FORBIDDEN = "DiscoveryForbidden"
    """403 on `/api`: the identity may not even read API discovery."""
    NOT_KUBERNETES = "NotKubernetes"
    """Something answered, but not as a Kubernetes API server does (a 404, an HTML page)."""


class ConnectionSetting(StrEnum):
    """Which setting of the connection a failure of the first request is the fault of."""

    SERVER = "server"
    CERTIFICATE_AUTHORITY = "certificate-authority"
    CREDENTIALS = "credentials"
