"""A Running WFE whose workflow runs as a Job (job-engine.md §5, §6): what the Job, its pods and
the Warning Events about them say, mirrored into the WFE; an end decided as precisely as for a
PipelineRun (`core.jobstatus`). A cause that can only end in the deadline (an image that cannot
be pulled, a missing Secret or ConfigMap, a container that cannot be configured, a pod the API
server refuses for good) ends the WFE at once; the Job is then suspended so that it stops
(`core.rebuild.decide_stop_request`, as for any Failed WFE whose run goes on), and keeps holding
the target until the cooldown ends. The WFE's end is written before the Job is suspended: the
suspension deletes the pods that are the evidence, so a controller stopped between the two
would otherwise leave the next one a suspended Job that says nothing (found by `make chaos`)."""

from __future__ import annotations

from datetime import datetime

from kubernaut_wfe.constants import ConditionStatus
from kubernaut_wfe.core import tekton
from kubernaut_wfe.core.actions import Decision, ReadJobPods
from kubernaut_wfe.core.conditions import truncate
from kubernaut_wfe.core.endings import run_failed, run_succeeded
from kubernaut_wfe.core.failure import job_failure_details
from kubernaut_wfe.core.jobstatus import JobProgress, job_progress
from kubernaut_wfe.core.models import PipelineRunSummary, WorkflowExecution
from kubernaut_wfe.core.observation import Observation
from kubernaut_wfe.core.runstatus import SUMMARY_MESSAGE_MAX
from kubernaut_wfe.core.transitions import refresh_running

JOB_TASKS = 1
"""A Job runs the workflow as one task (its one container)."""


def job_summary(progress: JobProgress) -> PipelineRunSummary:
    """The run summary of a Job: Unknown while it runs, True/False once it ended; its message
    bounded as a PipelineRun's (a pod's termination message or waiting reason may be huge)."""
    ending = progress.ending
    if ending is None:
        return PipelineRunSummary(
            status=ConditionStatus.UNKNOWN,
            reason="Running",
            message=truncate(progress.message, SUMMARY_MESSAGE_MAX) or None,
            completed_tasks=0,
            total_tasks=JOB_TASKS,
            retry_count=progress.retry_count,
        )
    return PipelineRunSummary(
        status=ConditionStatus.TRUE if ending.succeeded else ConditionStatus.FALSE,
        reason="Succeeded" if ending.succeeded else "Failed",
        message=truncate(ending.message or progress.message, SUMMARY_MESSAGE_MAX) or None,
        completed_tasks=JOB_TASKS if ending.succeeded else 0,
        total_tasks=JOB_TASKS,
        retry_count=progress.retry_count,
    )


def observed_progress(job: tekton.Document, obs: Observation) -> JobProgress:
    """The Job's progress from the pods and Events the watches delivered."""
    return job_progress(job, obs.pods or (), obs.run_events or ())


def decide_job_running(
    wfe: WorkflowExecution, job: tekton.Document, obs: Observation, now: datetime
) -> Decision:
    """Refresh the summary of a running Job, or end the WFE as the Job (or an early cause)
    says."""
    if obs.pods is None:
        namespace = str(tekton.metadata(job).get("namespace") or "")
        return Decision(actions=(ReadJobPods(namespace, tekton.name_of(job)),))
    progress = observed_progress(job, obs)
    summary = job_summary(progress)
    ending = progress.ending
    if ending is None:
        return Decision(status=refresh_running(wfe, summary, now))
    if ending.succeeded:
        return run_succeeded(wfe, job, summary, now)
    return run_failed(wfe, job_failure_details(wfe, ending, now), summary, now)
