"""`JobController`: kube-controller-manager's Job controller, played where none runs (the API
emulator) for the Jobs that carry `kubernaut.ai/workflow-execution`.

It watches those Jobs and their pods, and syncs a Job each time it or one of its pods changes
(one sync per Job at a time; a change during a sync syncs it once more), at its deadline and
after the back-off: it reads the Job and its pods, then does what `job_sync.sync_job` says
(pods deleted and created, statuses written through `jobs/status`, tracking finalizers taken
off, Events posted). The pods of a Job that is gone, or finished, lose their tracking finalizer,
as the real controller's orphan handling does; the garbage collector's part (a deleted Job's
pods deleted) is the API server's (the emulator does it at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Final

import httpx

from kubernaut_wfe.constants import EventType, Label
from kubernaut_wfe_tools.node_simulator import messages
from kubernaut_wfe_tools.node_simulator._api import (
    ApiError,
    CoreApi,
    GoneError,
    NotFoundError,
    refusal,
)
from kubernaut_wfe_tools.node_simulator.documents import events, job_pods
from kubernaut_wfe_tools.node_simulator.documents.job_pods import Backoff
from kubernaut_wfe_tools.node_simulator.documents.job_status import (
    JobEvent,
    event_object,
    is_finished,
)
from kubernaut_wfe_tools.node_simulator.job_sync import JobSync, sync_job
from kubernaut_wfe_tools.node_simulator.vocabulary import JOB_NAME_LABEL, JobEventReason
from kubernaut_wfe_tools.tekton_simulator.clock import Clock

logger = logging.getLogger(__name__)

JOB_SELECTOR: Final = Label.WORKFLOW_EXECUTION.value
"""The Jobs (and pods) played: those carrying the label, whatever its value."""
RETRY_SECONDS: Final = 1.0
MAX_RETRY_SECONDS: Final = 30.0
TIMER_SLACK: Final = timedelta(milliseconds=20)
"""A deadline's sync runs this much after it, so that it finds the deadline passed."""

JobKey = tuple[str, str]
"""(namespace, name)"""


class SyncIncompleteError(Exception):
    """A sync could not finish (a pod refused, a stale Job): sync the Job again soon."""


class JobController:
    """The Job controller for the labelled Jobs of `namespaces` (None: all namespaces)."""

    def __init__(self, api: CoreApi, namespaces: Sequence[str | None], clock: Clock) -> None:
        self._api = api
        self._namespaces = list(namespaces)
        self._clock = clock
        self._workers: dict[JobKey, asyncio.Task[None]] = {}
        self._dirty: set[JobKey] = set()
        self._timers: dict[JobKey, asyncio.Task[None]] = {}
        self._backoff: dict[str, Backoff] = {}
        """What each Job's syncs learnt of its failed pods, by the Job's uid."""
        self._retries: dict[JobKey, int] = {}
        self._last_nanos = 0

    async def run(self) -> None:
        """Watch the Jobs and their pods until cancelled; the syncs stop with it."""
        watches = [
            watch
            for namespace in self._namespaces
            for watch in (
                self._watch(namespace, self._api.list_jobs, self._api.watch_jobs, _job_key),
                self._watch(namespace, self._api.list_pods, self._api.watch_pods, _pod_job_key),
            )
        ]
        try:
            await asyncio.gather(*watches)
        finally:
            tasks = [*self._workers.values(), *self._timers.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # --- watching ---------------------------------------------------------------------------

    async def _watch(
        self,
        namespace: str | None,
        list_items: Callable[[str | None, str], Any],
        watch_items: Callable[[str | None, str, str], AsyncIterator[dict[str, Any]]],
        key_of: Callable[[Mapping[str, Any]], JobKey | None],
    ) -> None:
        while True:
            try:
                listing = await list_items(namespace, JOB_SELECTOR)
                for item in listing.get("items") or []:
                    self._enqueue(key_of(item))
                version = listing["metadata"]["resourceVersion"]
                async for event in watch_items(namespace, JOB_SELECTOR, version):
                    if event.get("type") == "ERROR":
                        break
                    if event.get("type") in {"ADDED", "MODIFIED", "DELETED"}:
                        self._enqueue(key_of(event.get("object") or {}))
            except asyncio.CancelledError:
                raise
            except GoneError:
                continue
            except Exception:
                # Whatever went wrong (API, network, a malformed event), the watch must go on.
                logger.exception("Job controller: watch failed; listing again")
                await self._clock.sleep(RETRY_SECONDS)

    def _enqueue(self, key: JobKey | None) -> None:
        if key is None:
            return
        self._dirty.add(key)
        worker = self._workers.get(key)
        if worker is None or worker.done():
            self._workers[key] = asyncio.create_task(self._work(key), name=f"job {key[0]}/{key[1]}")

    def _enqueue_later(self, key: JobKey, delay: timedelta) -> None:
        """Sync the Job after `delay` (replacing the timer an earlier sync set)."""
        previous = self._timers.pop(key, None)
        if previous is not None:
            previous.cancel()

        async def wake() -> None:
            await self._clock.sleep((delay + TIMER_SLACK).total_seconds())
            self._timers.pop(key, None)
            self._enqueue(key)

        self._timers[key] = asyncio.create_task(wake())

    async def _work(self, key: JobKey) -> None:
        while key in self._dirty:
            self._dirty.discard(key)
            try:
                await self._sync(key)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if not isinstance(error, (SyncIncompleteError, ApiError, httpx.HTTPError)):
                    logger.exception("Job controller: sync of %s/%s failed", *key)
                attempt = self._retries.get(key, 0) + 1
                self._retries[key] = attempt
                wait = min(RETRY_SECONDS * 2 ** (attempt - 1), MAX_RETRY_SECONDS)
                logger.info("Job controller: syncing %s/%s again in %.0f s: %s", *key, wait, error)
                self._enqueue_later(key, timedelta(seconds=wait))
            else:
                self._retries.pop(key, None)

    # --- one sync ---------------------------------------------------------------------------

    async def _sync(self, key: JobKey) -> None:
        namespace, name = key
        try:
            job: dict[str, Any] | None = await self._api.get_job(namespace, name)
        except NotFoundError:
            job = None
        listing = await self._api.list_pods(namespace, f"{JOB_NAME_LABEL}={name}")
        pods: list[dict[str, Any]] = listing.get("items") or []
        live = job is not None and not is_finished(job)
        uid = str(job["metadata"]["uid"]) if job is not None else ""
        owned = job_pods.owned_by(pods, uid) if live else []
        for pod in pods:
            # A pod no unfinished Job controls keeps no tracking finalizer (an orphan).
            if pod not in owned and job_pods.is_tracked(pod) and job_pods.controller_of(pod):
                await self._release(pod)
        if job is None or not live:
            self._backoff.pop(uid, None)
            timer = self._timers.pop(key, None)
            if timer is not None:
                timer.cancel()
            return
        plan = sync_job(job, owned, self._clock.now(), self._backoff.get(uid, Backoff()))
        if plan.sync_again_in is not None:
            self._enqueue_later(key, plan.sync_again_in)
        await self._enact(job, plan)

    async def _enact(self, job: dict[str, Any], plan: JobSync) -> None:
        namespace, uid = job["metadata"]["namespace"], job["metadata"]["uid"]
        for pod in plan.delete:
            if plan.release_before_delete:
                await self._release(pod)
            name = job_pods.metadata(pod)["name"]
            try:
                await self._api.delete_pod(namespace, name)
            except NotFoundError:
                continue
            except ApiError as error:
                failed = messages.error_deleting(refusal(error))
                await self._post(job, EventType.WARNING, JobEventReason.FAILED_DELETE, failed)
                raise
            await self._post(
                job, EventType.NORMAL, JobEventReason.SUCCESSFUL_DELETE, messages.deleted_pod(name)
            )
        for _ in range(plan.create):
            try:
                created = await self._api.create_pod(namespace, job_pods.pod_from_template(job))
            except ApiError as error:
                failed = messages.error_creating(refusal(error))
                await self._post(job, EventType.WARNING, JobEventReason.FAILED_CREATE, failed)
                raise SyncIncompleteError("a pod was refused") from error
            created_name = created["metadata"]["name"]
            await self._post(
                job,
                EventType.NORMAL,
                JobEventReason.SUCCESSFUL_CREATE,
                messages.created_pod(created_name),
            )
        if plan.first_status is not None:
            job = await self._write_status(job, plan.first_status)
            # Learnt once written, as the real controller does: a sync that fails before
            # would count the same failed pods again.
            self._backoff[uid] = plan.backoff
        for pod in plan.release:
            await self._release(pod)
        if plan.final_status is not None:
            job = await self._write_status(job, plan.final_status)
        for event in plan.events:
            await self._post(job, event.type, event.reason, event.message)

    async def _write_status(self, job: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        try:
            return await self._api.replace_job_status({**job, "status": status})
        except ApiError as error:
            if error.status == 409:
                raise SyncIncompleteError("the Job changed meanwhile") from error
            raise

    async def _release(self, pod: Mapping[str, Any]) -> None:
        """Take the tracking finalizer off the pod (gone already: nothing to do)."""
        meta = job_pods.metadata(pod)
        patch = job_pods.release_patch(pod)
        if not patch:
            return
        with contextlib.suppress(NotFoundError):
            await self._api.patch_pod(meta["namespace"], meta["name"], patch)

    async def _post(self, job: Mapping[str, Any], kind: EventType, reason: str, text: str) -> None:
        """Post an Event about the Job; one the API refuses is lost, as with a recorder."""
        now = self._clock.now()
        nanos = int(now.timestamp() * 1_000_000_000)
        self._last_nanos = max(nanos, self._last_nanos + 1)
        name = events.event_name(job["metadata"]["name"], self._last_nanos)
        document = event_object(job, JobEvent(kind, reason, text), name=name, at=now)
        try:
            await self._api.create_event(job["metadata"]["namespace"], document)
        except ApiError as error:
            logger.warning("Job controller: event %s refused: %s", reason, error)


def _job_key(job: Mapping[str, Any]) -> JobKey | None:
    meta = job.get("metadata") or {}
    return (meta["namespace"], meta["name"]) if meta.get("name") else None


def _pod_job_key(pod: Mapping[str, Any]) -> JobKey | None:
    """The Job that controls the pod (or whose name it carries)."""
    meta = pod.get("metadata") or {}
    name = (job_pods.controller_of(pod) or {}).get("name") or (meta.get("labels") or {}).get(
        JOB_NAME_LABEL
    )
    return (meta["namespace"], str(name)) if name and meta.get("namespace") else None
