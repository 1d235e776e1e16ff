"""The pure core: models, the PipelineRun builder, validation, failure analysis, decisions.

No I/O, no asyncio, no clock reads; the handlers around it do all of that.
"""

from kubernaut_wfe.core.actions import Decision, KubeEvent
from kubernaut_wfe.core.audit import DueAuditEvent, correlation_id, due_audit_events
from kubernaut_wfe.core.config import ConfigError, ControllerConfig, load_config
from kubernaut_wfe.core.decisions import decide, status_write_rejected
from kubernaut_wfe.core.failure import classify_failure, failure_details
from kubernaut_wfe.core.models import WorkflowExecution, WorkflowExecutionStatus
from kubernaut_wfe.core.naming import pipelinerun_name, sanitize_label_value
from kubernaut_wfe.core.observation import Observation
from kubernaut_wfe.core.pipelinerun import build_pipelinerun, owned_by
from kubernaut_wfe.core.validation import SpecProblem, parse_wfe, validate_wfe

__all__ = [
    "ConfigError",
    "ControllerConfig",
    "Decision",
    "DueAuditEvent",
    "KubeEvent",
    "Observation",
    "SpecProblem",
    "WorkflowExecution",
    "WorkflowExecutionStatus",
    "build_pipelinerun",
    "classify_failure",
    "correlation_id",
    "decide",
    "due_audit_events",
    "failure_details",
    "load_config",
    "owned_by",
    "parse_wfe",
    "pipelinerun_name",
    "sanitize_label_value",
    "status_write_rejected",
    "validate_wfe",
]
