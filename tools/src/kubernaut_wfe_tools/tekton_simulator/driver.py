"""`TektonSimulator`: plays Tekton v1.7 against a Kubernetes API for every PipelineRun it sees.

For each new PipelineRun it builds the run's timeline (`timeline.py`) and performs its writes when
they are due: TaskRun creation, status replacement through `/status`, the cancel spec patch. A
deleted run stops being driven and its TaskRuns are deleted, as the owner-reference GC would.
A restarted simulator resumes each run from what the objects already show.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

import httpx

from kubernaut_wfe.constants import (
    CANCEL_REQUESTS,
    PIPELINERUN_PLURAL,
    TASKRUN_PLURAL,
    PipelineRunSpecStatus,
)
from kubernaut_wfe_tools.tekton_simulator import documents as docs
from kubernaut_wfe_tools.tekton_simulator._api import ApiError, GoneError, NotFoundError, TektonApi
from kubernaut_wfe_tools.tekton_simulator.clock import Clock, SystemClock
from kubernaut_wfe_tools.tekton_simulator.durations import parse_rfc3339, whole_second
from kubernaut_wfe_tools.tekton_simulator.scenario import (
    Dependency,
    Scenario,
    ScenarioError,
    read_scenario,
    with_missing_dependencies,
)
from kubernaut_wfe_tools.tekton_simulator.timeline import (
    Pacing,
    Write,
    WriteKind,
    apply_cancellation,
    build_timeline,
    pending_writes,
)

logger = logging.getLogger(__name__)

PIPELINERUN_PENDING = str(PipelineRunSpecStatus.PENDING)
"""The `spec.status` value that holds a run back (same text as the reason it gets)."""
# With no `finally` task in the simulated bundles, each of `CANCEL_REQUESTS` ends a run as
# `Cancelled`.
RETRY_SECONDS = 1.0
WRITE_ATTEMPTS = 8
MAX_BACKOFF_SECONDS = 5.0
TRANSIENT_STATUSES = frozenset({409, 429, 500, 502, 503, 504})


class TektonSimulator:
    """Plays Tekton for the PipelineRuns of `namespaces` (None: all namespaces).

    With `auto=False` nothing is driven until `drive()` is called; the `write_*` helpers let a
    test put any status in place by hand.
    """

    def __init__(
        self,
        base_url: str,
        *,
        namespaces: Sequence[str] | None = None,
        auto: bool = True,
        clock: Clock | None = None,
        pacing: Pacing | None = None,
        headers: Mapping[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """`tls` verifies the API server and may carry a client certificate (a real server)."""
        self._base_url = base_url
        self._tls = tls
        self._namespaces: list[str | None] = list(namespaces) if namespaces else [None]
        self._auto = auto
        self._clock: Clock = clock or SystemClock()
        self._pacing = pacing or Pacing()
        self._headers = dict(headers or {})
        self._client: httpx.AsyncClient | None = None
        self._api: TektonApi | None = None
        self._watchers: list[asyncio.Task[None]] = []
        self._runs: dict[str, asyncio.Task[None]] = {}
        self._cancelling: set[str] = set()
        """Runs whose driver already plays their cancellation."""
        self._housekeeping: set[asyncio.Task[None]] = set()

    @property
    def api(self) -> TektonApi:
        if self._api is None:
            raise RuntimeError("the simulator is not started: use `async with TektonSimulator(…)`")
        return self._api

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Open the HTTP client and, when `auto`, start watching PipelineRuns."""
        self._client = httpx.AsyncClient(
            base_url=self._base_url, headers=self._headers, timeout=30.0, verify=self._tls or True
        )
        self._api = TektonApi(self._client)
        if self._auto:
            for namespace in self._namespaces:
                self._watchers.append(asyncio.create_task(self._watch(namespace)))

    async def stop(self) -> None:
        """Stop watching and driving (the objects stay as they are), close the client."""
        tasks = [*self._watchers, *self._runs.values(), *self._housekeeping]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._watchers.clear()
        self._runs.clear()
        if self._client is not None:
            await self._client.aclose()
        self._client = self._api = None

    # --- manual mode ------------------------------------------------------------------------

    async def drive(self, namespace: str, name: str) -> None:
        """Play the named PipelineRun now and return when its timeline is done."""
        pipelinerun = await self.api.get(PIPELINERUN_PLURAL, namespace, name)
        uid = pipelinerun["metadata"]["uid"]
        running = self._runs.get(uid)
        if running is None:
            running = self._runs[uid] = asyncio.create_task(
                self._drive(pipelinerun), name=f"{namespace}/{name}"
            )
        await asyncio.wait({running})

    async def write_pipelinerun_status(
        self, namespace: str, name: str, status: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Replace a PipelineRun's status with `status` (through `/status`)."""
        return await self.api.replace_status(PIPELINERUN_PLURAL, namespace, name, status)

    async def write_taskrun_status(
        self, namespace: str, name: str, status: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Replace a TaskRun's status with `status` (through `/status`)."""
        return await self.api.replace_status(TASKRUN_PLURAL, namespace, name, status)

    async def create_taskrun(self, taskrun: Mapping[str, Any]) -> dict[str, Any]:
        """Create a TaskRun object as given (e.g. from `documents.taskrun_object`)."""
        namespace = taskrun["metadata"]["namespace"]
        return await self.api.create(TASKRUN_PLURAL, namespace, taskrun)

    # --- watching ---------------------------------------------------------------------------

    async def _watch(self, namespace: str | None) -> None:
        while True:
            try:
                await self._list_and_watch(namespace)
            except asyncio.CancelledError:
                raise
            except GoneError:
                continue
            except Exception:
                # Whatever went wrong (API, network, a malformed event), the watch must go on.
                logger.exception("PipelineRun watch failed; listing again")
                await self._clock.sleep(RETRY_SECONDS)

    async def _list_and_watch(self, namespace: str | None) -> None:
        listing = await self.api.list(PIPELINERUN_PLURAL, namespace)
        present: set[str] = set()
        for item in listing.get("items") or []:
            present.add(item["metadata"]["uid"])
            self._observe(item)
        for uid in [uid for uid in self._runs if uid not in present]:
            if namespace is None or self._runs[uid].get_name().startswith(f"{namespace}/"):
                self._forget(uid, None)
        version = listing["metadata"]["resourceVersion"]
        async for event in self.api.watch(PIPELINERUN_PLURAL, namespace, version):
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                return
            if kind in {"ADDED", "MODIFIED"}:
                self._observe(obj)
            elif kind == "DELETED":
                self._forget(obj["metadata"]["uid"], obj)

    def _observe(self, pipelinerun: Mapping[str, Any]) -> None:
        metadata = pipelinerun["metadata"]
        uid = metadata["uid"]
        if metadata.get("deletionTimestamp"):
            self._forget(uid, pipelinerun)
            return
        requested = pipelinerun.get("spec", {}).get("status")
        # Not rounded: every write already made (due at or before now) stays before the cut.
        cancel_at = self._clock.now() if requested in CANCEL_REQUESTS else None
        if uid in self._runs:
            if cancel_at is None or uid in self._cancelling:
                return
            self._runs.pop(uid).cancel()  # its timeline is cut where the cancel arrived
        elif requested == PIPELINERUN_PENDING:
            return
        if cancel_at is not None:
            self._cancelling.add(uid)
        task_name = f"{metadata['namespace']}/{metadata['name']}"
        driver = self._drive(pipelinerun, cancel_at=cancel_at)
        self._runs[uid] = asyncio.create_task(driver, name=task_name)

    def _forget(self, uid: str, pipelinerun: Mapping[str, Any] | None) -> None:
        self._cancelling.discard(uid)
        task = self._runs.pop(uid, None)
        if task is None:
            return
        task.cancel()
        namespace = pipelinerun["metadata"]["namespace"] if pipelinerun else None
        namespace = namespace or task.get_name().split("/", 1)[0]
        cleanup = asyncio.create_task(self._collect_garbage(task, namespace, uid))
        self._housekeeping.add(cleanup)
        cleanup.add_done_callback(self._housekeeping.discard)

    async def _collect_garbage(self, driver: asyncio.Task[None], namespace: str, uid: str) -> None:
        """Delete the TaskRuns a deleted PipelineRun owned, as the owner-reference GC does."""
        await asyncio.gather(driver, return_exceptions=True)
        try:
            for name in await self._owned_taskruns(namespace, uid):
                with contextlib.suppress(NotFoundError):
                    await self.api.delete(TASKRUN_PLURAL, namespace, name)
        except (httpx.HTTPError, ApiError) as error:
            logger.warning("could not delete the TaskRuns of %s/%s: %s", namespace, uid, error)

    async def _owned_taskruns(self, namespace: str, uid: str) -> dict[str, dict[str, Any]]:
        listing = await self.api.list(TASKRUN_PLURAL, namespace)
        return {
            item["metadata"]["name"]: item
            for item in listing.get("items") or []
            if any(ref.get("uid") == uid for ref in item["metadata"].get("ownerReferences") or [])
        }

    # --- driving one run --------------------------------------------------------------------

    async def _drive(
        self, pipelinerun: Mapping[str, Any], *, cancel_at: datetime | None = None
    ) -> None:
        metadata = pipelinerun["metadata"]
        where = f"{metadata.get('namespace')}/{metadata.get('name')}"
        try:
            scenario = read_scenario(pipelinerun, start_lag=self._pacing.pod_start)
        except ScenarioError as error:
            logger.warning("not simulating PipelineRun %s: %s", where, error)
            return
        status = pipelinerun.get("status") or {}
        start = (
            parse_rfc3339(status["startTime"])
            if status.get("startTime")
            else whole_second(self._clock.now())
        )
        try:
            scenario = with_missing_dependencies(scenario, await self._missing(scenario))
            timeline = build_timeline(scenario, start, self._pacing)
            if cancel_at is not None:
                at = max(cancel_at, start)
                timeline = apply_cancellation(scenario, timeline, at, self._pacing)
            taskruns = await self._owned_taskruns(scenario.namespace, scenario.uid)
            writes = pending_writes(timeline, pipelinerun, taskruns)
            if docs.is_done(status) and len(writes) == len(timeline):
                return  # finished by someone else (e.g. a test writing status by hand)
            for write in writes:
                delay = (write.due - self._clock.now()).total_seconds()
                if delay > 0:
                    await self._clock.sleep(delay)
                await self._apply_with_retries(scenario, write)
        except NotFoundError:
            logger.info("PipelineRun %s is gone; no longer simulating it", where)
        except (httpx.HTTPError, ApiError) as error:
            logger.error("giving up simulating PipelineRun %s: %s", where, error)
        except Exception:
            logger.exception("giving up simulating PipelineRun %s", where)

    async def _missing(self, scenario: Scenario) -> list[Dependency]:
        """The bound Secrets and ConfigMaps the kubelet would not find. Looked up once, when the
        run starts being played: one created later does not rescue the run."""
        return [
            dependency
            for dependency in scenario.dependencies
            if not await self.api.core_object_exists(
                dependency.plural, scenario.namespace, dependency.name
            )
        ]

    async def _apply_with_retries(self, scenario: Scenario, write: Write) -> None:
        """Retry transient failures (connection errors, 409 on create/patch, 429, 5xx)."""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                await self._apply(scenario, write)
            except NotFoundError:
                raise
            except (httpx.HTTPError, ApiError) as error:
                transient = not isinstance(error, ApiError) or error.status in TRANSIENT_STATUSES
                if not transient or attempt == WRITE_ATTEMPTS - 1:
                    raise
                logger.warning("retrying %s of %s: %s", write.kind, write.name, error)
                await self._clock.sleep(min(RETRY_SECONDS * 2**attempt / 8, MAX_BACKOFF_SECONDS))
            else:
                return

    async def _apply(self, scenario: Scenario, write: Write) -> None:
        api, namespace = self.api, scenario.namespace
        if write.kind is WriteKind.PIPELINERUN_LABELS:
            patch = {"metadata": {"uid": scenario.uid, "labels": dict(write.document)}}
            await api.merge_patch(PIPELINERUN_PLURAL, namespace, write.name, patch)
        elif write.kind is WriteKind.PIPELINERUN_STATUS:
            await api.replace_status(
                PIPELINERUN_PLURAL, namespace, write.name, write.document, uid=scenario.uid
            )
        elif write.kind is WriteKind.TASKRUN_CREATE:
            await self._ensure_owner_exists(scenario)
            try:
                await api.create(TASKRUN_PLURAL, namespace, write.document)
            except ApiError as error:
                if error.reason != "AlreadyExists":
                    raise
        else:
            await self._write_taskrun(scenario, write)

    async def _ensure_owner_exists(self, scenario: Scenario) -> None:
        owner = await self.api.get(PIPELINERUN_PLURAL, scenario.namespace, scenario.name)
        if owner["metadata"].get("uid") != scenario.uid or owner["metadata"].get(
            "deletionTimestamp"
        ):
            raise NotFoundError(
                404, "GET", scenario.name, "the PipelineRun was replaced or deleted"
            )

    async def _write_taskrun(self, scenario: Scenario, write: Write) -> None:
        try:
            if write.kind is WriteKind.TASKRUN_SPEC:
                patch = {"spec": dict(write.document)}
                await self.api.merge_patch(TASKRUN_PLURAL, scenario.namespace, write.name, patch)
            else:
                await self.api.replace_status(
                    TASKRUN_PLURAL, scenario.namespace, write.name, write.document
                )
        except NotFoundError:
            # The TaskRun was deleted by someone else; the PipelineRun's writes go on.
            logger.info("TaskRun %s/%s is gone; skipping a write", scenario.namespace, write.name)


class _Served(Protocol):
    @property
    def url(self) -> str: ...


def companion(**options: Any) -> Callable[[_Served], Coroutine[Any, Any, None]]:
    """A companion for `ApiEmulator.companions`: the simulator runs while the emulator serves.

    `options` are `TektonSimulator`'s keyword arguments.
    """

    async def run(server: _Served) -> None:
        async with TektonSimulator(server.url, **options):
            await asyncio.Event().wait()

    return run


async def run_simulator(
    base_url: str,
    *,
    namespaces: Sequence[str] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the simulator against `base_url` until `stop` is set (forever without one)."""
    async with TektonSimulator(base_url, namespaces=namespaces):
        await (stop or asyncio.Event()).wait()
