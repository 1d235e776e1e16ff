# Generated from api/openapi/data-storage-v1.yaml by scripts/generate.sh; do not edit (run `make generate`).

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AnyUrl, AwareDatetime, BaseModel, Field


class RFC7807Problem(BaseModel):
    """
    RFC 7807 Problem Details for HTTP APIs (https://www.rfc-editor.org/rfc/rfc7807).
    """

    type: str
    """
    URI reference identifying the problem type.
    """
    title: str
    """
    Short, human-readable summary of the problem type.
    """
    status: int
    """
    HTTP status code for this occurrence.
    """
    detail: str | None = None
    """
    Human-readable explanation specific to this occurrence.
    """
    instance: AnyUrl | None = None
    """
    URI reference identifying the specific occurrence.
    """
    field_errors: dict[str, str] | None = None
    """
    Field names to error messages; only on 400 validation errors.
    """


class EventCategory(StrEnum):
    """
    Service-level event category (ADR-034 v1.5); workflowexecution.* events must use
    workflowexecution.

    """

    GATEWAY = "gateway"
    NOTIFICATION = "notification"
    ANALYSIS = "analysis"
    AIAGENT = "aiagent"
    SIGNALPROCESSING = "signalprocessing"
    WORKFLOW = "workflow"
    WORKFLOWEXECUTION = "workflowexecution"
    ORCHESTRATION = "orchestration"
    APPROVAL = "approval"
    EFFECTIVENESS = "effectiveness"
    ACTIONTYPE = "actiontype"
    APIFRONTEND = "apifrontend"
    SECURITY = "security"
    AGENTSESSION = "agentsession"


class EventOutcome(StrEnum):
    """
    Result of the event
    """

    SUCCESS = "success"
    FAILURE = "failure"
    PENDING = "pending"


class AuditEventResponse(BaseModel):
    event_id: UUID
    event_timestamp: AwareDatetime
    message: str


class AuditEventAcceptedResponse(BaseModel):
    """
    The body of a 202 from createAuditEvent: the event was queued for a later write
    (the real service's database-fallback path) and has no id yet.

    """

    status: Literal["accepted"]
    message: str


class BatchAuditEventResponse(BaseModel):
    event_ids: list[UUID] | None = None
    message: str | None = None


class Pagination(BaseModel):
    limit: int | None = None
    """
    Maximum number of events per page
    """
    offset: int | None = None
    """
    Number of events skipped
    """
    total: int | None = None
    """
    Total number of events matching the query
    """
    has_more: bool | None = None
    """
    Whether more results are available beyond this page
    """


class Component(StrEnum):
    """
    Service emitting the error
    """

    GATEWAY = "gateway"
    AIANALYSIS = "aianalysis"
    WORKFLOWEXECUTION = "workflowexecution"
    REMEDIATIONORCHESTRATOR = "remediationorchestrator"
    SIGNALPROCESSING = "signalprocessing"
    AUTHWEBHOOK = "authwebhook"


class ErrorDetails(BaseModel):
    """
    Standardized error information for audit events
    """

    message: str
    """
    Human-readable error description
    """
    code: str
    """
    Machine-readable error classification (ERR_[CATEGORY]_[SPECIFIC])
    """
    component: Component
    """
    Service emitting the error
    """
    retry_possible: bool
    """
    Whether the operation can be retried (true=transient, false=permanent)
    """
    stack_trace: list[str] | None = None
    """
    Top stack frames for debugging (optional)
    """


class EventType(StrEnum):
    """
    The union discriminator; equals the envelope's event_type.
    """

    WORKFLOWEXECUTION_WORKFLOW_STARTED = "workflowexecution.workflow.started"
    WORKFLOWEXECUTION_WORKFLOW_COMPLETED = "workflowexecution.workflow.completed"
    WORKFLOWEXECUTION_WORKFLOW_FAILED = "workflowexecution.workflow.failed"
    WORKFLOWEXECUTION_SELECTION_COMPLETED = "workflowexecution.selection.completed"
    WORKFLOWEXECUTION_EXECUTION_STARTED = "workflowexecution.execution.started"


class Phase(StrEnum):
    """
    Phase of the WorkflowExecution the event reports
    """

    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"


class FailureReason(StrEnum):
    """
    Categorized failure reason
    """

    OOM_KILLED = "OOMKilled"
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    FORBIDDEN = "Forbidden"
    IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
    CONFIGURATION_ERROR = "ConfigurationError"
    RESOURCE_EXHAUSTED = "ResourceExhausted"
    TASK_FAILED = "TaskFailed"
    UNSUPPORTED_ENGINE = "UnsupportedEngine"
    DEDUPLICATED = "Deduplicated"
    UNKNOWN = "Unknown"


class WorkflowExecutionAuditPayload(BaseModel):
    """
    Audit event payload of the WorkflowExecution controller (ADR-034 v1.5).
    """

    event_type: Literal[
        "workflowexecution.workflow.started",
        "workflowexecution.workflow.completed",
        "workflowexecution.workflow.failed",
        "workflowexecution.selection.completed",
        "workflowexecution.execution.started",
    ]
    """
    The union discriminator; equals the envelope's event_type.
    """
    workflow_id: str
    """
    ID of the workflow being executed
    """
    workflow_version: str
    """
    Version of the workflow being executed
    """
    target_resource: str
    """
    Kubernetes resource acted upon (namespace/kind/name or kind/name)
    """
    phase: Phase
    """
    Phase of the WorkflowExecution the event reports
    """
    container_image: str
    """
    The workflow's OCI bundle image
    """
    execution_name: str
    """
    Name of the WorkflowExecution
    """
    workflow_name: str | None = None
    """
    The catalog's name of the workflow (catalog-snapshot WorkflowExecutions)
    """
    action_type: str | None = None
    """
    The catalog's action type of the workflow, e.g. RestartPod
    """
    started_at: AwareDatetime | None = None
    """
    When the PipelineRun started execution
    """
    completed_at: AwareDatetime | None = None
    """
    When the PipelineRun finished (success or failure)
    """
    duration: str | None = None
    """
    Execution duration as Go duration text (e.g. "2m30s")
    """
    failure_reason: FailureReason | None = None
    """
    Categorized failure reason
    """
    failure_message: str | None = None
    """
    Detailed failure message
    """
    failed_task_name: str | None = None
    """
    Name of the failed task (if identified)
    """
    error_details: ErrorDetails | None = None
    pipelinerun_name: str | None = None
    """
    Name of the associated Tekton PipelineRun
    """
    parameters: dict[str, str] | None = None
    """
    The parameters the run received (after the catalog's filtering)
    """
    retry_count: int | None = None
    """
    Pod failures the Job engine tolerated before the run ended (only when > 0)
    """


class AuditEventRequest(BaseModel):
    """
    One audit event (ADR-034 envelope). Besides the schema, the server requires
    event_timestamp within [now - 7 days, now + 5 minutes], event_data.event_type equal to
    event_type, and event_category workflowexecution for workflowexecution.* events.

    """

    version: Annotated[str, Field(max_length=20, min_length=1)]
    """
    Schema version ("1.0")
    """
    event_type: Annotated[str, Field(max_length=100, min_length=1)]
    """
    Event type identifier; must equal event_data.event_type.
    """
    event_timestamp: AwareDatetime
    """
    When the event occurred (RFC 3339); at most 5 minutes ahead, 7 days old.
    """
    event_category: EventCategory
    """
    Service-level event category (ADR-034 v1.5); workflowexecution.* events must use
    workflowexecution.

    """
    event_action: Annotated[str, Field(max_length=50, min_length=1)]
    """
    Action performed (ADR-034)
    """
    event_outcome: EventOutcome
    """
    Result of the event
    """
    actor_type: str | None = None
    actor_id: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    correlation_id: Annotated[str, Field(max_length=255, min_length=1)]
    """
    Identifier correlating the events of one remediation
    """
    parent_event_id: UUID | None = None
    namespace: str | None = None
    cluster_id: str | None = None
    """
    Identifier of the cluster the event comes from; absent for the hub cluster
    """
    severity: str | None = None
    duration_ms: int | None = None
    event_data: Annotated[WorkflowExecutionAuditPayload, Field(discriminator="event_type")]
    """
    Service-specific payload, a discriminated union on event_type. This subset carries
    only the WorkflowExecution member; any other discriminator value is a 400.

    """


class AuditEvent(AuditEventRequest):
    event_id: UUID | None = None
    event_date: date | None = None
    """
    Date of the event (YYYY-MM-DD).
    """


class AuditEventsQueryResponse(BaseModel):
    data: list[AuditEvent] | None = None
    pagination: Pagination | None = None
