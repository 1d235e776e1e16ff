"""Pure helpers for the one status write of a reconcile: the merge patch that turns the current
status into the new one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubernaut_wfe.constants import RunKind
from kubernaut_wfe.core.engines import run_kind
from kubernaut_wfe.core.models import WorkflowExecution, WorkflowExecutionStatus
from kubernaut_wfe.core.platform_status import engine_neutral_only


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7386) from `old` to `new`: all of `new`, plus nulls for the keys
    that `new` no longer has (recursively in objects; lists are replaced whole)."""
    patch: dict[str, Any] = {}
    for key in old:
        if key not in new:
            patch[key] = None
    for key, value in new.items():
        previous = old.get(key)
        if isinstance(value, Mapping) and isinstance(previous, Mapping):
            patch[key] = merge_patch(previous, value)
        else:
            patch[key] = value
    return patch


def status_document(status: WorkflowExecutionStatus, wfe: WorkflowExecution) -> dict[str, Any]:
    """The status as the controller writes it for `wfe` (and compares it): without the
    Tekton-named fields when a Job runs it (`core.platform_status`)."""
    if run_kind(wfe.spec) == RunKind.JOB:
        return engine_neutral_only(status).to_api()
    return status.to_api()
