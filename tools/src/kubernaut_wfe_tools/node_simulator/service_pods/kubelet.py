"""The part of the node stand-in that runs service pods (pods of an image it knows, such as the
controller's own Deployment) as local processes: their watch, one `ServicePodPlayer` per pod,
the Service cluster IPs the pods reach (kube-proxy's part, in user space)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from kubernaut_wfe.constants import Label
from kubernaut_wfe_tools.node_simulator._api import CoreApi, GoneError
from kubernaut_wfe_tools.node_simulator.documents.node import NodeIdentity
from kubernaut_wfe_tools.node_simulator.runtime import ServiceProxy
from kubernaut_wfe_tools.node_simulator.service_pods.images import ImageConfig, repository_of
from kubernaut_wfe_tools.node_simulator.service_pods.player import PodGoneError, ServicePodPlayer
from kubernaut_wfe_tools.tekton_simulator.clock import Clock

logger = logging.getLogger(__name__)

RETRY_SECONDS: Final = 1.0
RELEASE_GRACE_SECONDS: Final = 5.0
Address = tuple[str, int]


class ServicePods:
    """Runs the pods of `images` (by repository name) that nothing else runs, on `node`."""

    def __init__(
        self,
        api: CoreApi,
        node: NodeIdentity,
        clock: Clock,
        *,
        api_url: str,
        images: Mapping[str, ImageConfig],
        services: Mapping[Address, Address],
        state_dir: Path | None,
    ) -> None:
        self._api, self._node, self._clock = api, node, clock
        self._images = dict(images)
        self._services = dict(services)
        self._api_upstream: Address = _address_of(api_url)
        self._own_state = state_dir is None
        self._state_dir = state_dir or Path(tempfile.mkdtemp(prefix="kwfe-node-"))
        self._players: dict[str, ServicePodPlayer] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._deleting: set[str] = set()
        """The pods being stopped for their deletion."""
        self._releasing: set[asyncio.Task[None]] = set()
        """Sandboxes being removed for pods that went away."""
        self._proxies: list[ServiceProxy] = []
        self._probes = httpx.AsyncClient()
        self._kubernetes: Address = ("", 0)

    async def start(self) -> list[asyncio.Task[None]]:
        """Proxy the `kubernetes` Service (and `services`) to their upstreams, then watch
        pods; the watch task, for the caller to cancel."""
        service = await self._api.request("GET", "/api/v1/namespaces/default/services/kubernetes")
        port = next(p["port"] for p in service["spec"]["ports"] if p.get("name") == "https")
        self._kubernetes = (service["spec"]["clusterIP"], int(port))
        for listen, upstream in {self._kubernetes: self._api_upstream, **self._services}.items():
            self._proxies.append(await ServiceProxy.start(listen, upstream))
        return [asyncio.create_task(self._watch(), name="service-pods")]

    async def stop(self) -> None:
        """Stop every process and sandbox (the pods stay as they are in the API)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(
            *(player.release(RELEASE_GRACE_SECONDS) for player in self._players.values()),
            return_exceptions=True,
        )
        await asyncio.gather(*self._releasing, return_exceptions=True)
        self._players.clear()
        self._tasks.clear()
        for proxy in self._proxies:
            await proxy.close()
        self._proxies.clear()
        await self._probes.aclose()
        if self._own_state:
            shutil.rmtree(self._state_dir, ignore_errors=True)

    def log_tails(self, lines: int = 40) -> dict[str, str]:
        """The last lines each running service pod's container printed, by pod name."""
        return {player.subject.name: player.log_tail(lines) for player in self._players.values()}

    def container_pid(self, pod_name: str) -> int | None:
        """The process of the pod's container while it runs (a test may kill it)."""
        for player in self._players.values():
            container = player.container
            if player.subject.name == pod_name and container is not None and not container.ended:
                return container.pid
        return None

    # --- watching ---------------------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            try:
                listing = await self._api.list_pods(None, "")
                present = {item["metadata"]["uid"] for item in listing.get("items") or []}
                for item in listing.get("items") or []:
                    self._observe(item)
                for uid in [uid for uid in self._players if uid not in present]:
                    self._forget(uid)
                version = listing["metadata"]["resourceVersion"]
                async for event in self._api.watch_pods(None, "", version):
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":
                        break
                    if kind in {"ADDED", "MODIFIED"}:
                        self._observe(obj)
                    elif kind == "DELETED":
                        self._forget(obj["metadata"]["uid"])
            except asyncio.CancelledError:
                raise
            except GoneError:
                continue
            except Exception:
                # Whatever went wrong (API, network, a malformed event), the watch must go on.
                logger.exception("service pod watch failed; listing again")
                await self._clock.sleep(RETRY_SECONDS)

    def _image_of(self, pod: Mapping[str, Any]) -> ImageConfig | None:
        """The image config when the stand-in runs this pod: one container of a known image,
        not a Job engine's pod (played by the kubelet part), unbound or bound here."""
        metadata, spec = pod["metadata"], pod.get("spec") or {}
        if Label.WORKFLOW_EXECUTION.value in (metadata.get("labels") or {}):
            return None
        if spec.get("nodeName") not in {None, "", self._node.name}:
            return None
        containers: Sequence[Mapping[str, Any]] = spec.get("containers") or []
        if len(containers) != 1:
            return None
        return self._images.get(repository_of(containers[0].get("image", "")))

    def _observe(self, pod: Mapping[str, Any]) -> None:
        uid = pod["metadata"]["uid"]
        if pod["metadata"].get("deletionTimestamp"):
            player = self._players.get(uid)
            if player is not None and uid not in self._deleting:
                self._deleting.add(uid)
                self._tasks[uid].cancel()
                self._tasks[uid] = asyncio.create_task(self._delete(player, pod, self._tasks[uid]))
            return
        if uid in self._players:
            return
        image = self._image_of(pod)
        if image is None:
            return
        player = ServicePodPlayer(
            self._api,
            self._node,
            self._clock,
            pod,
            image,
            state_dir=self._state_dir,
            kubernetes_service=self._kubernetes,
            service_ips=[address for address, _ in {self._kubernetes, *self._services}],
            probes=self._probes,
        )
        self._players[uid] = player
        self._tasks[uid] = asyncio.create_task(self._run(player), name=player.subject.name)

    def _forget(self, uid: str) -> None:
        self._deleting.discard(uid)
        task = self._tasks.pop(uid, None)
        player = self._players.pop(uid, None)
        if task is not None:
            task.cancel()
        if player is not None:
            releasing = asyncio.create_task(player.release())
            self._releasing.add(releasing)
            releasing.add_done_callback(self._releasing.discard)

    async def _run(self, player: ServicePodPlayer) -> None:
        where = f"{player.subject.namespace}/{player.subject.name}"
        try:
            await player.run()
        except PodGoneError as gone:
            logger.info("service pod %s: %s; no longer running it", where, gone)
            await player.release()
        except Exception:
            logger.exception("giving up running service pod %s", where)
            await player.release()

    async def _delete(
        self, player: ServicePodPlayer, pod: Mapping[str, Any], running: asyncio.Task[None]
    ) -> None:
        await asyncio.gather(running, return_exceptions=True)
        try:
            await player.delete(pod)
        except Exception:
            logger.exception("could not finish deleting service pod %s", player.subject.name)
            await player.release()


def _address_of(url: str) -> Address:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.hostname or "127.0.0.1", parts.port or default
