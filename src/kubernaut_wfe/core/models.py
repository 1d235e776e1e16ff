"""Typed models of the WorkflowExecution resource as the Kubernetes API returns it.

Reading is lenient (unknown keys ignored, camelCase or snake_case accepted); writing goes through
`WorkflowExecutionStatus.to_api()`, which produces exactly the JSON the CRD schema accepts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, field_validator
from pydantic.alias_generators import to_camel

from kubernaut_wfe.constants import (
    API_VERSION,
    KIND,
    AuditEventType,
    ConditionStatus,
    FailureReason,
    Phase,
)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with whole seconds and a `Z` suffix (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _in_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


Timestamp = Annotated[
    datetime,
    AfterValidator(_in_utc),
    PlainSerializer(format_time, return_type=str, when_used="json"),
]
"""A datetime that serialises as Kubernetes writes times: `2025-06-01T10:00:00Z`."""


class ApiModel(BaseModel):
    """Base of every API model: camelCase on the wire, snake_case in Python, extras ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        validate_assignment=False,
    )

    def to_api(self) -> dict[str, Any]:
        """The JSON document the API server expects (camelCase, no nulls, RFC 3339 times)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ObjectMeta(ApiModel):
    name: str = ""
    namespace: str = ""
    uid: str = ""
    generation: int = 0
    resource_version: str = ""
    creation_timestamp: Timestamp | None = None
    deletion_timestamp: Timestamp | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    finalizers: list[str] = Field(default_factory=list)


class ObjectReference(ApiModel):
    api_version: str | None = None
    kind: str | None = None
    name: str = ""
    namespace: str | None = None
    uid: str | None = None


class NamedObject(ApiModel):
    name: str = ""


class Dependencies(ApiModel):
    """`workflowRef.dependencies`: Secrets and ConfigMaps of the execution namespace."""

    secrets: list[NamedObject] = Field(default_factory=list)
    config_maps: list[NamedObject] = Field(default_factory=list)


class WorkflowRef(ApiModel):
    """The January reference (`containerImage`) or the catalog snapshot (`executionBundle`)."""

    workflow_id: str = ""
    version: str = ""
    container_image: str = ""
    container_digest: str | None = None
    workflow_name: str = ""
    action_type: str = ""
    execution_bundle: str = ""
    execution_engine: str = ""
    service_account_name: str = ""
    dependencies: Dependencies | None = None
    resources: dict[str, Any] | None = None
    declared_parameter_names: dict[str, bool] | None = None

    @property
    def image(self) -> str:
        """What to run: the January `containerImage`, else the catalog's `executionBundle`."""
        return self.container_image or self.execution_bundle


class ExecutionConfig(ApiModel):
    timeout: str | None = None
    service_account_name: str | None = None


class WorkflowExecutionSpec(ApiModel):
    """`spec`; every field has a default so that an invalid spec still parses."""

    remediation_request_ref: ObjectReference = Field(default_factory=ObjectReference)
    workflow_ref: WorkflowRef = Field(default_factory=WorkflowRef)
    target_resource: str = ""
    parameters: dict[str, str] = Field(default_factory=dict)
    confidence: float | None = None
    rationale: str | None = None
    execution_config: ExecutionConfig | None = None
    cluster_id: str = Field(default="", alias="clusterID")
    times_out_at: Timestamp | None = None


class PipelineRunRef(ApiModel):
    name: str


class PipelineRunSummary(ApiModel):
    """`status.pipelineRunStatus`: the run's `Succeeded` condition, task counts, blocked reason."""

    status: ConditionStatus = ConditionStatus.UNKNOWN
    reason: str | None = None
    message: str | None = None
    completed_tasks: int | None = None
    total_tasks: int | None = None
    blocked_reason: str | None = None
    blocked_message: str | None = None
    retry_count: int | None = Field(default=None, exclude=True)
    """A Job's tolerated pod failures: rebuilt from its pods on every decision and written only
    as `executionStatus.retryCount` (the January summary has no such field)."""


class ExecutionSummary(ApiModel):
    """`status.executionStatus`: the engine-neutral name of `pipelineRunStatus` (its task counts,
    the run's end condition and, for a Job, the pod failures its policy tolerated)."""

    status: ConditionStatus = ConditionStatus.UNKNOWN
    reason: str | None = None
    message: str | None = None
    completed_tasks: int | None = None
    total_tasks: int | None = None
    retry_count: int | None = None


class FailureDetails(ApiModel):
    """`status.failureDetails`; the first seven fields are required by the schema."""

    failed_task_index: int = 0
    failed_task_name: str = ""
    reason: FailureReason
    message: str
    failed_at: Timestamp
    execution_time_before_failure: str = ""
    natural_language_summary: str = ""
    failed_step_name: str | None = None
    exit_code: int | None = None
    was_execution_failure: bool | None = None


class Condition(ApiModel):
    """A `metav1.Condition`."""

    type: str
    status: ConditionStatus
    reason: str
    message: str = ""
    last_transition_time: Timestamp
    observed_generation: int | None = None


_KNOWN_EVENT_TYPES = frozenset(member.value for member in AuditEventType)


def _known_event_types(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    return [item for item in value if isinstance(item, str) and item in _KNOWN_EVENT_TYPES]


class WorkflowExecutionStatus(ApiModel):
    """`status` as this controller writes it (deprecated Go-era fields are read and ignored)."""

    phase: Phase | None = None
    observed_generation: int | None = None
    start_time: Timestamp | None = None
    completion_time: Timestamp | None = None
    duration: str | None = None
    pipeline_run_ref: PipelineRunRef | None = None
    pipeline_run_status: PipelineRunSummary | None = None
    execution_ref: PipelineRunRef | None = None
    execution_status: ExecutionSummary | None = None
    failure_details: FailureDetails | None = None
    failure_reason: str | None = None
    """A copy of `failureDetails.reason`, or free text the orchestrator wrote when it set the
    WFE Failed itself (kept: it is theirs)."""
    deduplicated_by: str | None = None
    conditions: list[Condition] = Field(default_factory=list)
    audited_events: list[AuditEventType] = Field(default_factory=list)
    rejected_audit_events: list[AuditEventType] = Field(default_factory=list)

    _drop_unknown_events = field_validator(
        "audited_events", "rejected_audit_events", mode="before"
    )(_known_event_types)

    @field_validator("phase", mode="before")
    @classmethod
    def _empty_phase_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    def condition(self, condition_type: str) -> Condition | None:
        """The condition of that type, if present."""
        return next((c for c in self.conditions if c.type == condition_type), None)


class WorkflowExecution(ApiModel):
    """A whole WorkflowExecution object."""

    api_version: str = API_VERSION
    kind: str = KIND
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: WorkflowExecutionSpec = Field(default_factory=WorkflowExecutionSpec)
    status: WorkflowExecutionStatus = Field(default_factory=WorkflowExecutionStatus)

    @property
    def phase(self) -> Phase | None:
        return self.status.phase

    @property
    def correlation_key(self) -> str:
        """`<namespace>/<name>`, as written into the PipelineRun's ownership annotation."""
        return f"{self.metadata.namespace}/{self.metadata.name}"
