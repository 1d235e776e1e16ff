"""The kubelet's work for one pod whose container runs as a local process (the controller's own
pod): bind it, give it a sandbox (its network namespace and IP), fill its volumes, start its
container as the pod spec says, probe it, report its status and Events, restart it with back-off
after it exits or fails its liveness probe (`restartPolicy: Always`), and stop it gracefully when
the pod is deleted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import httpx

from kubernaut_wfe.constants import EventType
from kubernaut_wfe_tools.node_simulator import messages
from kubernaut_wfe_tools.node_simulator._api import ApiError, CoreApi, NotFoundError
from kubernaut_wfe_tools.node_simulator.documents.events import KubeletEvent
from kubernaut_wfe_tools.node_simulator.documents.node import NodeIdentity
from kubernaut_wfe_tools.node_simulator.documents.pod import binding
from kubernaut_wfe_tools.node_simulator.recorder import TRANSIENT_STATUSES, EventRecorder
from kubernaut_wfe_tools.node_simulator.runtime import (
    ContainerSpec,
    Mount,
    PodSandbox,
    RunningContainer,
)
from kubernaut_wfe_tools.node_simulator.service_pods import network_files, spec, status, volumes
from kubernaut_wfe_tools.node_simulator.service_pods.images import ImageConfig
from kubernaut_wfe_tools.node_simulator.service_pods.prober import http_probe
from kubernaut_wfe_tools.node_simulator.vocabulary import (
    KubeletContainerReason,
    KubeletEventReason,
)
from kubernaut_wfe_tools.tekton_simulator.clock import Clock

logger = logging.getLogger(__name__)

WRITE_ATTEMPTS: Final = 8
MOUNT_RETRY_SECONDS: Final = 2.0
CONFIG_RETRY_SECONDS: Final = 10.0
BACK_OFF_START_SECONDS: Final = 10
BACK_OFF_MAX_SECONDS: Final = 300
BACK_OFF_RESET_SECONDS: Final = 600
"""A container that ran this long before it exited restarts without back-off (the kubelet
forgets its back-off after twice the maximum)."""
LIVENESS: Final = "Liveness"
READINESS: Final = "Readiness"


class PodGoneError(Exception):
    """The pod was deleted or replaced while being played."""


@dataclass(frozen=True)
class Subject:
    """The pod the Events and statuses are about."""

    namespace: str
    name: str
    uid: str
    container: str
    generation: int


def back_off_seconds(restart: int, ran_seconds: float) -> int:
    """How long the kubelet waits before the `restart`-th start (1: the first restart): none
    for the first restart or after a long run, then 10 s doubled each time, at most 5 min."""
    if restart <= 1 or ran_seconds >= BACK_OFF_RESET_SECONDS:
        return 0
    return int(min(BACK_OFF_START_SECONDS * 2 ** (restart - 2), BACK_OFF_MAX_SECONDS))


class ServicePodPlayer:
    """Runs `pod` (one container, from `image`) on `node` until it is deleted."""

    def __init__(
        self,
        api: CoreApi,
        node: NodeIdentity,
        clock: Clock,
        pod: Mapping[str, Any],
        image: ImageConfig,
        *,
        state_dir: Path,
        kubernetes_service: tuple[str, int],
        service_ips: Sequence[str],
        probes: httpx.AsyncClient,
    ) -> None:
        metadata = pod["metadata"]
        container = pod["spec"]["containers"][0]
        self._api, self._node, self._clock = api, node, clock
        self._pod: Mapping[str, Any] = pod
        self._image = image
        self._state_dir = state_dir / metadata["uid"]
        self._kubernetes_service = kubernetes_service
        self._service_ips = tuple(service_ips)
        self._probes = probes
        self.subject = Subject(
            metadata["namespace"],
            metadata["name"],
            metadata["uid"],
            container["name"],
            int(metadata.get("generation") or 1),
        )
        self._facts = status.PodFacts(
            uid=self.subject.uid,
            container=self.subject.container,
            image=container["image"],
            generation=self.subject.generation,
            host_ip=node.internal_ip,
        )
        self._status: dict[str, Any] = dict(pod.get("status") or {})
        self._resource_version: str | None = metadata.get("resourceVersion")
        self._events = EventRecorder(
            api, self.subject, node.name, clock, lambda: self._resource_version
        )
        self._write_lock = asyncio.Lock()
        self._sandbox: PodSandbox | None = None
        self.container: RunningContainer | None = None
        self._restart = 0
        self._last: status.Ended | None = None
        self._ready = False

    # --- the pod's life -----------------------------------------------------------------------

    async def run(self) -> None:
        """Bind, set up and run the pod until cancelled; PodGoneError when it goes away."""
        if not (self._pod.get("spec") or {}).get("nodeName"):
            await self._bind()
        await self._write(status.waiting(self._facts, self._status, self._now()))
        self._sandbox = await PodSandbox.create(
            self.subject.uid,
            state_dir=self._state_dir / "sandbox",
            service_ips=self._service_ips,
        )
        self._facts = replace(self._facts, pod_ip=self._sandbox.ip)
        who = spec.identity(self._pod, pod_ip=self._sandbox.ip, host_ip=self._node.internal_ip)
        mounts = await self._mount_volumes(who)
        plan = await self._plan(who)
        await self._write(status.waiting(self._facts, self._status, self._now()))
        while True:
            started = await self._start(plan, mounts)
            ended = await self._supervise(plan, started)
            self._last, self._ready = ended, False
            self._restart += 1
            ran = (ended.finished_at - ended.started_at).total_seconds()
            delay = back_off_seconds(self._restart, ran)
            if delay:
                reference = messages.pod_reference(
                    self.subject.name, self.subject.namespace, self.subject.uid
                )
                message = messages.crash_loop_waiting(delay, self.subject.container, reference)
                await self._write(
                    status.waiting(
                        self._facts,
                        self._status,
                        self._now(),
                        reason=KubeletContainerReason.CRASH_LOOP_BACK_OFF.value,
                        message=message,
                        last=ended,
                    )
                )
                await self._event(
                    EventType.WARNING,
                    KubeletEventReason.BACK_OFF,
                    messages.back_off_restarting(self.subject.container, reference),
                )
                await self._clock.sleep(delay)

    async def delete(self, pod: Mapping[str, Any]) -> None:
        """The pod was deleted: stop its container within the grace period, report the last
        status, remove the sandbox and delete the pod for good. Call after cancelling `run`."""
        if self.container is not None and not self.container.ended:
            await self._event(
                EventType.NORMAL,
                KubeletEventReason.KILLING,
                messages.stopping_container(self.subject.container),
            )
            exit_status = await self.container.stop(spec.grace_period(pod))
            ended = self._ended(self.container, exit_status.code, exit_status.oom_killed)
            with contextlib.suppress(PodGoneError):
                await self._write(status.stopped(self._facts, self._status, self._now(), ended))
        await self.release()
        with contextlib.suppress(NotFoundError):
            try:
                await self._api.delete_pod_now(
                    self.subject.namespace, self.subject.name, self.subject.uid
                )
            except ApiError as error:
                if error.status != 409:  # the precondition: the pod was replaced
                    raise

    async def release(self, grace_seconds: float = 0.0) -> None:
        """Stop what still runs and remove the sandbox (the pod is left as it is)."""
        if self.container is not None and not self.container.ended:
            await self.container.stop(grace_seconds)
        if self._sandbox is not None:
            await self._sandbox.destroy()
            self._sandbox = None

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the container printed (its current or last run)."""
        return self.container.tail(lines) if self.container is not None else ""

    # --- steps --------------------------------------------------------------------------------

    async def _bind(self) -> None:
        try:
            await self._api.bind(
                self.subject.namespace, self.subject.name, binding(self.subject, self._node.name)
            )
        except NotFoundError as error:
            raise PodGoneError("deleted before it was bound") from error

    async def _mount_volumes(self, who: spec.Identity) -> tuple[Mount, ...]:
        """Fill every volume (a missing ConfigMap or Secret: `FailedMount`, tried again until
        it exists), then the container's mounts of them."""
        needs = volumes.needs(self._pod)
        while True:
            objects = {
                key: await self._api.get_object(key[0], self.subject.namespace, key[1])
                for key in sorted(needs.objects)
            }
            tokens = {
                source: await self._api.request_token(
                    self.subject.namespace,
                    who.service_account,
                    audience=source.audience,
                    expiration_seconds=source.expiration_seconds,
                    pod=(self.subject.name, self.subject.uid),
                )
                for source in needs.tokens
            }
            try:
                contents = volumes.volume_contents(self._pod, objects, tokens, who)
            except volumes.MountError as missing:
                await self._event(
                    EventType.WARNING,
                    KubeletEventReason.FAILED_MOUNT,
                    missing.text,
                    container=False,
                )
                await self._clock.sleep(MOUNT_RETRY_SECONDS)
                continue
            break
        fs_group = ((self._pod.get("spec") or {}).get("securityContext") or {}).get("fsGroup")
        directories = {
            name: _write_volume(self._state_dir / "volumes" / name, content, fs_group)
            for name, content in contents.items()
        }
        container = self._pod["spec"]["containers"][0]
        volume_mounts = tuple(
            Mount(directories[m["name"]], m["mountPath"], bool(m.get("readOnly")))
            for m in container.get("volumeMounts") or []
            if m["name"] in directories
        )
        return (*self._name_files(who), *volume_mounts)

    def _name_files(self, who: spec.Identity) -> tuple[Mount, ...]:
        """The kubelet's `/etc/hosts` (the pod's name on its IP) and `/etc/resolv.conf`: the
        cluster's search path and no name server (there is no cluster DNS here, so a lookup
        fails at once instead of waiting on the host's resolver, unreachable from the pod)."""
        directory = self._state_dir / "etc"
        directory.mkdir(parents=True, exist_ok=True)
        hosts, resolv = directory / "hosts", directory / "resolv.conf"
        hosts.write_text(network_files.hosts(who.pod_ip, who.name), encoding="utf-8")
        resolv.write_text(network_files.resolv_conf(who.namespace), encoding="utf-8")
        return (Mount(hosts, "/etc/hosts"), Mount(resolv, "/etc/resolv.conf"))

    async def _plan(self, who: spec.Identity) -> spec.ContainerPlan:
        """The container's plan; while it cannot be created (`CreateContainerConfigError`) the
        pod waits and is tried again."""
        container = self._pod["spec"]["containers"][0]
        host, port = self._kubernetes_service
        service_env = spec.service_environment([("kubernetes", host, port)])
        while True:
            values: dict[tuple[str, str, str], str | None] = {}
            for entry in container.get("env") or []:
                source = entry.get("valueFrom") or {}
                for kind, ref in (("configmaps", "configMapKeyRef"), ("secrets", "secretKeyRef")):
                    if ref in source:
                        found = await self._api.get_object(
                            kind, self.subject.namespace, source[ref]["name"]
                        )
                        if found is None:
                            continue  # absent from `values`: the object is missing
                        data = volumes.object_data(found, secret=kind == "secrets")
                        key = source[ref]["key"]
                        value = data.get(key)
                        values[kind, source[ref]["name"], key] = (
                            None if value is None else value.decode()
                        )
            try:
                return spec.plan_container(
                    self._pod,
                    container,
                    self._image,
                    who,
                    service_env=service_env,
                    lookup=values,
                )
            except spec.ConfigError as refused:
                await self._write(
                    status.waiting(
                        self._facts,
                        self._status,
                        self._now(),
                        reason=KubeletContainerReason.CREATE_CONTAINER_CONFIG_ERROR.value,
                        message=str(refused),
                    )
                )
                await self._event(
                    EventType.WARNING, KubeletEventReason.FAILED, messages.error_event(str(refused))
                )
                await self._clock.sleep(CONFIG_RETRY_SECONDS)

    async def _start(self, plan: spec.ContainerPlan, mounts: tuple[Mount, ...]) -> RunningContainer:
        assert self._sandbox is not None
        await self._event(
            EventType.NORMAL, KubeletEventReason.PULLED, messages.image_already_present(plan.image)
        )
        await self._event(EventType.NORMAL, KubeletEventReason.CREATED, messages.CONTAINER_CREATED)
        self.container = await self._sandbox.run(
            ContainerSpec(
                name=plan.name,
                argv=plan.argv,
                env=plan.env,
                working_dir=plan.working_dir,
                uid=plan.uid,
                gid=plan.gid,
                supplemental_groups=plan.supplemental_groups,
                read_only_root=plan.read_only_root,
                no_new_privileges=plan.no_new_privileges,
                mounts=mounts,
                memory_limit_bytes=plan.memory_limit_bytes,
                extra_binds=self._image.binds,
                host_paths=self._image.host_paths,
                hostname=(self._pod.get("spec") or {}).get("hostname") or self.subject.name,
            )
        )
        await self._event(EventType.NORMAL, KubeletEventReason.STARTED, messages.CONTAINER_STARTED)
        self._ready = plan.readiness is None
        await self._write_running()
        return self.container

    async def _supervise(
        self, plan: spec.ContainerPlan, container: RunningContainer
    ) -> status.Ended:
        """Probe the container until it exits, or until its liveness probe fails often enough
        to have it stopped; how it ended."""
        exited = asyncio.create_task(container.wait())
        helpers: list[asyncio.Task[None]] = []
        if plan.readiness is not None:
            helpers.append(asyncio.create_task(self._readiness(plan.readiness)))
        liveness = (
            asyncio.create_task(self._liveness(plan.liveness))
            if plan.liveness is not None
            else None
        )
        try:
            waited = {exited} if liveness is None else {exited, liveness}
            await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
            if not exited.done():
                await self._event(
                    EventType.NORMAL,
                    KubeletEventReason.KILLING,
                    messages.liveness_restart(self.subject.container),
                )
                await container.stop(spec.grace_period(self._pod))
            exit_status = await exited
        finally:
            for task in [*helpers, *([liveness] if liveness else [])]:
                task.cancel()
            await asyncio.gather(
                *helpers, *([liveness] if liveness else []), return_exceptions=True
            )
            if not exited.done():
                exited.cancel()
        return self._ended(container, exit_status.code, exit_status.oom_killed)

    async def _readiness(self, probe: spec.Probe) -> None:
        assert self._sandbox is not None
        await self._clock.sleep(probe.initial_delay)
        successes = failures = 0
        while True:
            result = await http_probe(self._probes, probe, self._sandbox.ip)
            if result.success:
                successes, failures = successes + 1, 0
                if not self._ready and successes >= probe.success_threshold:
                    self._ready = True
                    await self._write_running()
            else:
                successes, failures = 0, failures + 1
                await self._event(
                    EventType.WARNING,
                    KubeletEventReason.UNHEALTHY,
                    messages.probe_failed(READINESS, result.output),
                )
                if self._ready and failures >= probe.failure_threshold:
                    self._ready = False
                    await self._write_running()
            await self._clock.sleep(probe.period)

    async def _liveness(self, probe: spec.Probe) -> None:
        """Returns once the probe failed `failure_threshold` times in a row."""
        assert self._sandbox is not None
        await self._clock.sleep(probe.initial_delay)
        failures = 0
        while True:
            result = await http_probe(self._probes, probe, self._sandbox.ip)
            if result.success:
                failures = 0
            else:
                failures += 1
                await self._event(
                    EventType.WARNING,
                    KubeletEventReason.UNHEALTHY,
                    messages.probe_failed(LIVENESS, result.output),
                )
                if failures >= probe.failure_threshold:
                    return
            await self._clock.sleep(probe.period)

    # --- writes -------------------------------------------------------------------------------

    def _ended(self, container: RunningContainer, code: int, oom_killed: bool) -> status.Ended:
        return status.Ended(
            exit_code=code,
            oom_killed=oom_killed,
            started_at=container.started_at,
            finished_at=self._now(),
            restart=self._restart,
        )

    async def _write_running(self) -> None:
        assert self.container is not None
        await self._write(
            status.running(
                self._facts,
                self._status,
                self._now(),
                started_at=self.container.started_at,
                restart=self._restart,
                ready=self._ready,
                last=self._last,
            )
        )

    async def _write(self, document: Mapping[str, Any]) -> None:
        """Patch the pod's status (retrying what is transient); PodGoneError when it is gone."""
        async with self._write_lock:
            for attempt in range(WRITE_ATTEMPTS):
                try:
                    updated = await self._api.patch_pod_status(
                        self.subject.namespace, self.subject.name, self.subject.uid, document
                    )
                except NotFoundError as error:
                    raise PodGoneError("deleted") from error
                except (httpx.HTTPError, ApiError) as error:
                    transient = (
                        not isinstance(error, ApiError) or error.status in TRANSIENT_STATUSES
                    )
                    if not transient or attempt == WRITE_ATTEMPTS - 1:
                        raise
                    await self._clock.sleep(min(0.25 * 2**attempt, 5.0))
                    continue
                self._status = dict(updated.get("status") or document)
                self._resource_version = updated["metadata"].get("resourceVersion")
                return

    async def _event(
        self, kind: EventType, reason: KubeletEventReason, message: str, *, container: bool = True
    ) -> None:
        event = KubeletEvent(kind, reason.value, message, about_container=container)
        with contextlib.suppress(httpx.HTTPError, ApiError):
            await self._events.post(event, self._now())

    def _now(self) -> datetime:
        return self._clock.now()


def _write_volume(directory: Path, content: volumes.VolumeContent, fs_group: int | None) -> Path:
    """Write a volume's files under `directory` (what the container mounts): files owned by
    root with their mode, group `fs_group` when the pod sets one; an emptyDir world-writable."""
    directory.mkdir(parents=True, exist_ok=True)
    if content.empty_dir:
        directory.chmod(volumes.EMPTY_DIR_MODE)
    for relative, (data, mode) in content.files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(mode)
        if fs_group is not None:
            os.chown(path, -1, fs_group)
    if fs_group is not None:
        os.chown(directory, -1, fs_group)
    return directory
