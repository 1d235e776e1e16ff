"""Plays one pod's timeline against the API: the waits, the writes and their retries, the
kubelet's Event correlation (a repeated Event is counted again, not posted anew)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableSet
from datetime import datetime
from typing import Any, Final

import httpx

from kubernaut_wfe_tools.node_simulator._api import ApiError, CoreApi, NotFoundError
from kubernaut_wfe_tools.node_simulator.documents import identity
from kubernaut_wfe_tools.node_simulator.documents.node import NodeIdentity
from kubernaut_wfe_tools.node_simulator.recorder import TRANSIENT_STATUSES, EventRecorder
from kubernaut_wfe_tools.node_simulator.scenario import PodScenario
from kubernaut_wfe_tools.node_simulator.timeline import (
    Pacing,
    Write,
    WriteKind,
    build_timeline,
    pending_writes,
    termination,
)
from kubernaut_wfe_tools.node_simulator.vocabulary import KubeletEventReason
from kubernaut_wfe_tools.tekton_simulator.clock import Clock
from kubernaut_wfe_tools.tekton_simulator.durations import parse_rfc3339, whole_second

logger = logging.getLogger(__name__)

WRITE_ATTEMPTS: Final = 8
RETRY_SECONDS: Final = 1.0
MAX_BACKOFF_SECONDS: Final = 5.0


class PodGoneError(Exception):
    """The pod was deleted, replaced by one of the same name, or bound to another node."""


class PodPlayer:
    """The kubelet's work for one pod (`scenario`) on `node`."""

    def __init__(
        self,
        api: CoreApi,
        node: NodeIdentity,
        clock: Clock,
        pacing: Pacing,
        scenario: PodScenario,
    ) -> None:
        self._api = api
        self._node = node
        self._clock = clock
        self._pacing = pacing
        self.scenario = scenario
        self._resource_version: str | None = None
        self._events = EventRecorder(
            api, scenario, node.name, clock, lambda: self._resource_version
        )

    async def play(self, pod: Mapping[str, Any], image_store: MutableSet[str]) -> None:
        """Write what is still due for the pod (as read), then repeat a stuck pod's warnings
        until cancelled. Raises PodGoneError when the pod goes away."""
        self._resource_version = pod["metadata"].get("resourceVersion")
        status = pod.get("status") or {}
        started = status.get("startTime")
        start = parse_rfc3339(started) if started else whole_second(self._clock.now())
        reference = identity.containerd_reference(self.scenario.image)
        timeline = build_timeline(
            self.scenario,
            self._node,
            start,
            self._pacing,
            image_present=reference in image_store,
        )
        for write in pending_writes(timeline, pod):
            await self._wait_until(write.due)
            await self._apply_with_retries(write)
            if write.event is not None and write.event.reason == KubeletEventReason.PULLED:
                image_store.add(reference)
        repeat = timeline.repeat
        if repeat is None:
            return
        due = repeat.next_due(self._clock.now())
        while True:
            await self._wait_until(due)
            for event in repeat.events:
                await self._events.post(event, due)
            due = repeat.next_due(due)

    async def terminate(self) -> None:
        """What the kubelet does for a deleted pod: stop its container, report it Failed (unless
        it had ended), then delete it with grace period 0."""
        current = await self._current()
        self._resource_version = current["metadata"].get("resourceVersion")
        writes = termination(
            self.scenario, self._node, current.get("status") or {}, self._clock.now()
        )
        for write in writes:
            await self._apply_with_retries(write)
        try:
            await self._api.delete_pod_now(
                self.scenario.namespace, self.scenario.name, self.scenario.uid
            )
        except NotFoundError:
            pass
        except ApiError as error:
            if error.status != 409:  # the precondition: the pod was replaced
                raise

    async def _wait_until(self, due: datetime) -> None:
        delay = (due - self._clock.now()).total_seconds()
        if delay > 0:
            await self._clock.sleep(delay)

    async def _current(self) -> dict[str, Any]:
        """The pod as it is now; PodGoneError when it is not this pod any more."""
        try:
            current = await self._api.get_pod(self.scenario.namespace, self.scenario.name)
        except NotFoundError as error:
            raise PodGoneError("deleted") from error
        if current["metadata"].get("uid") != self.scenario.uid:
            raise PodGoneError("replaced by a pod of the same name")
        return current

    async def _apply_with_retries(self, write: Write) -> None:
        """Retry transient failures (connection errors, 409, 429, 5xx) with a short back-off."""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                await self._apply(write)
            except PodGoneError:
                raise
            except (httpx.HTTPError, ApiError) as error:
                transient = not isinstance(error, ApiError) or error.status in TRANSIENT_STATUSES
                if not transient or attempt == WRITE_ATTEMPTS - 1:
                    await self._current()  # a pod that went away explains the failure
                    raise
                logger.warning("retrying %s of pod %s: %s", write.kind, self.scenario.name, error)
                await self._clock.sleep(min(RETRY_SECONDS * 2**attempt / 8, MAX_BACKOFF_SECONDS))
            else:
                return

    async def _apply(self, write: Write) -> None:
        scenario = self.scenario
        if write.kind is WriteKind.EVENT:
            assert write.event is not None
            await self._events.post(write.event, write.due)
        elif write.kind is WriteKind.BIND:
            try:
                await self._api.bind(scenario.namespace, scenario.name, write.document)
            except ApiError as error:
                if error.status != 409:
                    raise
                bound_to = (await self._current()).get("spec", {}).get("nodeName")
                if bound_to != self._node.name:
                    raise PodGoneError(f"bound to node {bound_to}") from error
        else:
            try:
                updated = await self._api.patch_pod_status(
                    scenario.namespace, scenario.name, scenario.uid, write.document
                )
            except NotFoundError as error:
                raise PodGoneError("deleted") from error
            self._resource_version = updated["metadata"].get("resourceVersion")
