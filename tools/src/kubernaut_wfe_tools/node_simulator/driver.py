"""`NodeSimulator`: a kubelet (and its containerd) for the Job engine's pods, against a real API
server where nothing else schedules or runs pods; on the API emulator, where no Job controller
runs either, it plays that too (`play_job_controller`, `job_controller.py`).

It registers its Node and renews its Lease (`heartbeat.py`), watches the pods that carry the
`kubernaut.ai/workflow-execution` label, binds each unbound one to its node as the scheduler
would, and plays each of its pods' timelines (`timeline.py`): status through `pods/status`,
kubelet Events. A pod deleted before it ended is stopped, reported Failed and deleted with
grace period 0, as a kubelet does. A restarted stand-in resumes each pod from its status.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

import httpx

from kubernaut_wfe.constants import Label
from kubernaut_wfe_tools.node_simulator._api import ApiError, CoreApi, GoneError, NotFoundError
from kubernaut_wfe_tools.node_simulator.documents.node import NodeIdentity
from kubernaut_wfe_tools.node_simulator.heartbeat import LEASE_RENEWAL, NodeHeartbeat
from kubernaut_wfe_tools.node_simulator.job_controller import JobController
from kubernaut_wfe_tools.node_simulator.pod_player import PodGoneError, PodPlayer
from kubernaut_wfe_tools.node_simulator.scenario import (
    Outcome,
    ScenarioError,
    creation_rank,
    read_scenario,
    with_disruption_rank,
    with_missing,
)
from kubernaut_wfe_tools.node_simulator.service_pods.images import ImageConfig
from kubernaut_wfe_tools.node_simulator.service_pods.kubelet import ServicePods
from kubernaut_wfe_tools.node_simulator.timeline import Pacing
from kubernaut_wfe_tools.node_simulator.vocabulary import JOB_NAME_LABEL
from kubernaut_wfe_tools.tekton_simulator.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

POD_SELECTOR = Label.WORKFLOW_EXECUTION.value
"""The pods played: those carrying the label (whatever its value)."""
RETRY_SECONDS = 1.0


CONNECTIONS = httpx.Limits(max_connections=400, max_keepalive_connections=400)
"""A node runs many pods at once (a benchmark's burst runs 1,000), each with its own writes: a
pool of httpx's default size (100) made pods wait for a connection until they gave up."""


class NodeSimulator:
    """Plays the node `node` for the labelled pods of `namespaces` (None: all namespaces)."""

    def __init__(
        self,
        base_url: str,
        *,
        namespaces: Sequence[str] | None = None,
        node: NodeIdentity | None = None,
        clock: Clock | None = None,
        pacing: Pacing | None = None,
        lease_renewal: timedelta = LEASE_RENEWAL,
        headers: Mapping[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
        remove_node_on_exit: bool = False,
        play_job_controller: bool = False,
        images: Mapping[str, ImageConfig] | None = None,
        services: Mapping[tuple[str, int], tuple[str, int]] | None = None,
        state_dir: Path | None = None,
    ) -> None:
        """`tls` verifies the API server and may carry a client certificate (a real server).
        The Node and its Lease stay when the stand-in stops unless `remove_node_on_exit`.
        `play_job_controller`: also run the labelled Jobs of `namespaces`, as
        kube-controller-manager's Job controller does (for the API emulator; never beside a
        real one). `images` (repository name → its configuration, e.g. `controller_image()`):
        pods of these images are run as local processes (`service_pods/`), reaching the API
        server through the `kubernetes` Service's cluster IP and each of `services` (cluster IP
        and port → where it really listens); their files live under `state_dir` (a temporary
        directory by default)."""
        self._base_url = base_url
        self._tls = tls
        self._headers = dict(headers or {})
        self._namespaces: list[str | None] = list(namespaces) if namespaces else [None]
        self.node = node or NodeIdentity()
        self._clock: Clock = clock or SystemClock()
        self._pacing = pacing or Pacing()
        self._lease_renewal = lease_renewal
        self._remove_node_on_exit = remove_node_on_exit
        self._play_job_controller = play_job_controller
        self._client: httpx.AsyncClient | None = None
        self._api: CoreApi | None = None
        self._heartbeat: NodeHeartbeat | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._pods: dict[str, asyncio.Task[None]] = {}
        """The task playing (or terminating) each pod, by uid."""
        self._terminating: set[str] = set()
        self._pulled_images: set[str] = set()
        """The node's image store: an image pulled once is there for the next pod."""
        self._images = dict(images or {})
        self._services = dict(services or {})
        self._state_dir = state_dir
        self._service_pods: ServicePods | None = None

    @property
    def api(self) -> CoreApi:
        if self._api is None:
            raise RuntimeError("the stand-in is not started: use `async with NodeSimulator(…)`")
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
        """Register the node, then renew its Lease and watch the pods in the background."""
        self._client = httpx.AsyncClient(
            base_url=self._base_url,
            headers=self._headers,
            timeout=30.0,
            verify=self._tls or True,
            limits=CONNECTIONS,
        )
        self._api = CoreApi(self._client)
        if not self.node.kubelet_version:
            self.node = replace(self.node, kubelet_version=await self._api.server_version())
        self._heartbeat = NodeHeartbeat(
            self._api, self.node, self._clock, lease_renewal=self._lease_renewal
        )
        await self._heartbeat.register()
        self._tasks.append(asyncio.create_task(self._heartbeat.run(), name="heartbeat"))
        for namespace in self._namespaces:
            self._tasks.append(asyncio.create_task(self._watch(namespace)))
        if self._play_job_controller:
            jobs = JobController(self._api, self._namespaces, self._clock)
            self._tasks.append(asyncio.create_task(jobs.run(), name="job-controller"))
        if self._images:
            self._service_pods = ServicePods(
                self._api,
                self.node,
                self._clock,
                api_url=self._base_url,
                images=self._images,
                services=self._services,
                state_dir=self._state_dir,
            )
            self._tasks.extend(await self._service_pods.start())

    @property
    def service_pods(self) -> ServicePods:
        """The pods run as local processes (only with `images`)."""
        if self._service_pods is None:
            raise RuntimeError("the stand-in runs no service pods: pass `images`")
        return self._service_pods

    async def stop(self) -> None:
        """Stop playing (pods stay as they are), remove the node if asked, close the client."""
        tasks = [*self._tasks, *self._pods.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._pods.clear()
        self._terminating.clear()
        if self._service_pods is not None:
            await self._service_pods.stop()
            self._service_pods = None
        if self._remove_node_on_exit and self._heartbeat is not None:
            await self._heartbeat.remove()
        if self._client is not None:
            await self._client.aclose()
        self._client = self._api = self._heartbeat = None

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
                logger.exception("pod watch failed; listing again")
                await self._clock.sleep(RETRY_SECONDS)

    async def _list_and_watch(self, namespace: str | None) -> None:
        listing = await self.api.list_pods(namespace, POD_SELECTOR)
        present: set[str] = set()
        for item in listing.get("items") or []:
            present.add(item["metadata"]["uid"])
            self._observe(item)
        for uid, task in list(self._pods.items()):
            if uid not in present and (
                namespace is None or task.get_name().startswith(f"{namespace}/")
            ):
                self._forget(uid)
        version = listing["metadata"]["resourceVersion"]
        async for event in self.api.watch_pods(namespace, POD_SELECTOR, version):
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                return
            if kind in {"ADDED", "MODIFIED"}:
                self._observe(obj)
            elif kind == "DELETED":
                self._forget(obj["metadata"]["uid"])

    def _observe(self, pod: Mapping[str, Any]) -> None:
        metadata, spec = pod["metadata"], pod.get("spec") or {}
        uid, bound_to = metadata["uid"], spec.get("nodeName")
        if bound_to and bound_to != self.node.name:
            return  # another node's pod
        name = f"{metadata['namespace']}/{metadata['name']}"
        if metadata.get("deletionTimestamp"):
            # An unbound pod is deleted at once by the API server: only ours need a kubelet.
            if bound_to and uid not in self._terminating:
                self._terminating.add(uid)
                previous = self._pods.pop(uid, None)
                self._pods[uid] = asyncio.create_task(self._terminate(pod, previous), name=name)
            return
        if uid not in self._pods:
            self._pods[uid] = asyncio.create_task(self._play(pod), name=name)

    def _forget(self, uid: str) -> None:
        self._terminating.discard(uid)
        task = self._pods.pop(uid, None)
        if task is not None:
            task.cancel()

    # --- one pod ----------------------------------------------------------------------------

    async def _play(self, pod: Mapping[str, Any]) -> None:
        where = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        try:
            scenario = read_scenario(pod)
        except ScenarioError as error:
            logger.warning("not running pod %s: %s", where, error)
            return
        try:
            missing = [
                dependency
                for dependency in scenario.dependencies
                if not await self.api.exists(
                    dependency.kind.plural, scenario.namespace, dependency.name
                )
            ]
            scenario = with_missing(scenario, missing)
            if scenario.outcome is Outcome.DISRUPTION and scenario.job_name:
                siblings = await self.api.list_pods(
                    scenario.namespace, f"{JOB_NAME_LABEL}={scenario.job_name}"
                )
                rank = creation_rank(pod, siblings.get("items") or [])
                scenario = with_disruption_rank(scenario, rank)
            player = PodPlayer(self.api, self.node, self._clock, self._pacing, scenario)
            await player.play(pod, self._pulled_images)
        except PodGoneError as gone:
            logger.info("pod %s: %s; no longer running it", where, gone)
        except (httpx.HTTPError, ApiError) as error:
            logger.error("giving up running pod %s: %s", where, error)

    async def _terminate(self, pod: Mapping[str, Any], playing: asyncio.Task[None] | None) -> None:
        """Stop the pod's container, report it Failed, delete it with grace period 0."""
        if playing is not None:
            playing.cancel()
            await asyncio.gather(playing, return_exceptions=True)
        where = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        try:
            scenario = read_scenario(pod)
        except ScenarioError as error:
            logger.warning("not terminating pod %s: %s", where, error)
            return
        player = PodPlayer(self.api, self.node, self._clock, self._pacing, scenario)
        try:
            await player.terminate()
        except (PodGoneError, NotFoundError):
            pass
        except (httpx.HTTPError, ApiError) as error:
            logger.error("could not terminate pod %s: %s", where, error)


class _Served(Protocol):
    @property
    def url(self) -> str: ...


def companion(**options: Any) -> Callable[[_Served], Coroutine[Any, Any, None]]:
    """A companion for `ApiEmulator.companions`: the stand-in runs while the emulator serves,
    playing the Job controller too (no other runs there). `options` are `NodeSimulator`'s
    keyword arguments."""

    async def run(server: _Served) -> None:
        async with NodeSimulator(server.url, play_job_controller=True, **options):
            await asyncio.Event().wait()

    return run
