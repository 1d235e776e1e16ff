"""The I/O behind the core's read/create/delete actions: each call turns an action into the
next `Observation` (and keeps what it read in the cache)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from kubernaut_wfe.adapters.kube import (
    PODS,
    RUN_RESOURCES,
    SERVICE_ACCOUNTS,
    TASK_RUNS,
    WORKFLOW_EXECUTIONS,
    ApiError,
    Conflict,
    KubeClient,
)
from kubernaut_wfe.constants import JOB_NAME_LABEL, PipelineRunSpecStatus, RunKind, TektonLabel
from kubernaut_wfe.core.actions import (
    CancelRun,
    CreateRun,
    DeleteRun,
    ReadHolder,
    ReadJobPods,
    ReadLock,
    ReadRun,
    ReadServiceAccount,
    ReadTaskRuns,
    RestoreRunMetadata,
    kind_of_run,
)
from kubernaut_wfe.core.observation import (
    UNREAD,
    AlreadyExists,
    ApiFailure,
    Created,
    CreateRejected,
    DeleteOutcome,
    Observation,
    ReadFailed,
)
from kubernaut_wfe.reconcile.cache import ObjectCache
from kubernaut_wfe.reconcile.memory import WfeMemory

PRECONDITION_STATUSES = frozenset({404, 409, 412})
STOP_PATCHES: dict[RunKind, Mapping[str, Any]] = {
    RunKind.PIPELINE_RUN: {"spec": {"status": PipelineRunSpecStatus.CANCELLED.value}},
    RunKind.JOB: {"spec": {"suspend": True}},
}
"""What stops a run of each kind: Tekton cancels a PipelineRun; the Job controller deletes a
suspended Job's pods."""
ReadStep = (
    ReadRun
    | ReadLock
    | ReadHolder
    | ReadServiceAccount
    | ReadTaskRuns
    | ReadJobPods
    | CreateRun
    | DeleteRun
    | RestoreRunMetadata
    | CancelRun
)


def failure_of(error: ApiError) -> ApiFailure:
    """The core's view of an API error."""
    return ApiFailure(error.status, error.message)


class StepRunner:
    """Executes one read/create/delete action and returns the observation that follows."""

    def __init__(self, kube: KubeClient, cache: ObjectCache, memory: WfeMemory) -> None:
        self._kube = kube
        self._cache = cache
        self._memory = memory

    async def run(self, step: ReadStep, obs: Observation, wfe_uid: str) -> Observation:
        """The observation after performing `step`."""
        if isinstance(step, ReadRun):
            return await self._read_run(step, obs)
        if isinstance(step, ReadLock):
            return await self._read_lock(step, obs)
        if isinstance(step, ReadHolder):
            holder = await self._kube.get(WORKFLOW_EXECUTIONS, step.name, step.namespace)
            return dataclasses.replace(obs, holder=holder)
        if isinstance(step, ReadServiceAccount):
            return await self._read_service_account(step, obs, wfe_uid)
        if isinstance(step, ReadTaskRuns):
            selector = f"{TektonLabel.PIPELINE_RUN}={step.pipelinerun}"
            items = await self._kube.list(TASK_RUNS, step.namespace, label_selector=selector)
            for item in items:
                self._cache.store_taskrun(item, owned=True)
            return dataclasses.replace(obs, taskruns=items)
        if isinstance(step, ReadJobPods):
            selector = f"{JOB_NAME_LABEL}={step.job}"
            pods = await self._kube.list(PODS, step.namespace, label_selector=selector)
            for pod in pods:
                self._cache.store_pod(pod, owned=True)
            return dataclasses.replace(obs, pods=pods, run_events=self._cache.run_events(step.job))
        if isinstance(step, CreateRun):
            return await self._create(step.body, obs, wfe_uid)
        if isinstance(step, RestoreRunMetadata):
            metadata: dict[str, Any] = {"labels": dict(step.labels)}
            if step.annotations:
                metadata["annotations"] = dict(step.annotations)
            patch = {"metadata": metadata}
            return await self._patch_run(step.kind, step.namespace, step.name, patch, obs)
        if isinstance(step, CancelRun):
            return await self._patch_run(
                step.kind, step.namespace, step.name, STOP_PATCHES[step.kind], obs
            )
        return await self._delete(step, obs)

    async def _patch_run(
        self,
        kind: RunKind,
        namespace: str,
        name: str,
        patch: Mapping[str, Any],
        obs: Observation,
    ) -> Observation:
        """Merge-patch our own run; the answer is the run observed next."""
        try:
            run = await self._kube.patch(RUN_RESOURCES[kind], name, patch, namespace)
        except ApiError as error:
            return dataclasses.replace(obs, run=UNREAD, run_error=failure_of(error))
        self._cache.store_run(run, owned=True)
        return dataclasses.replace(obs, run=run)

    async def _read_run(self, step: ReadRun, obs: Observation) -> Observation:
        cleared = dataclasses.replace(obs, create=None, delete=None, run_error=None)
        try:
            run = await self._kube.get(RUN_RESOURCES[step.kind], step.name, step.namespace)
        except ApiError as error:
            return dataclasses.replace(cleared, run=UNREAD, run_error=failure_of(error))
        if run is not None:
            self._cache.store_run(run, owned=True)
        return dataclasses.replace(cleared, run=run, holder=UNREAD)

    async def _read_lock(self, step: ReadLock, obs: Observation) -> Observation:
        """GET the lock name as each kind of run, the WFE's own kind first: the run found (of
        the WFE's kind when, against every rule, both exist) is the observed one."""
        for kind in sorted(RunKind, key=lambda kind: kind != step.kind):
            observed = await self._read_run(ReadRun(step.namespace, step.name, kind), obs)
            if observed.run_error is not None or observed.run is not None:
                return observed
        return dataclasses.replace(obs, create=None, delete=None, run_error=None, run=None)

    async def _read_service_account(
        self, step: ReadServiceAccount, obs: Observation, uid: str
    ) -> Observation:
        """Whether the ServiceAccount exists; a failed GET is counted (the retry backs off)."""
        try:
            account = await self._kube.get(SERVICE_ACCOUNTS, step.name, step.namespace)
        except ApiError as error:
            facts = self._memory.of(uid)
            facts.account_read_failures += 1
            failed = ReadFailed(failure_of(error), attempt=facts.account_read_failures)
            return dataclasses.replace(obs, service_account=failed)
        if (known := self._memory.known(uid)) is not None:
            known.account_read_failures = 0
        return dataclasses.replace(obs, service_account=account is not None)

    async def _create(self, body: Mapping[str, Any], obs: Observation, uid: str) -> Observation:
        try:
            run = await self._kube.create(RUN_RESOURCES[kind_of_run(body)], body)
        except Conflict:
            # A 409 on CREATE can only mean the name is taken: re-read the lock.
            return dataclasses.replace(obs, create=AlreadyExists(), run=UNREAD)
        except ApiError as error:
            rejected = self._memory.of(uid)
            rejected.create_attempts += 1
            return dataclasses.replace(
                obs, create=CreateRejected(failure_of(error), attempt=rejected.create_attempts)
            )
        if (created := self._memory.known(uid)) is not None:
            created.create_attempts = 0
        self._cache.store_run(run, owned=True)
        return dataclasses.replace(obs, create=Created(run), run=run)

    async def _delete(self, step: DeleteRun, obs: Observation) -> Observation:
        try:
            answer = await self._kube.delete(
                RUN_RESOURCES[step.kind],
                step.name,
                step.namespace,
                uid=step.uid or None,
                resource_version=step.resource_version or None,
            )
        except ApiError as error:
            if error.status not in PRECONDITION_STATUSES:
                raise  # transient after the client's retries: the work queue backs off
            return dataclasses.replace(obs, delete=DeleteOutcome(error.status), run=UNREAD)
        status = 404 if answer is None else 200
        return dataclasses.replace(obs, delete=DeleteOutcome(status), run=UNREAD)
