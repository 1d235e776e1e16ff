"""`PodSandbox`: one pod's network namespace (the kubelet's "sandbox") and the containers it
runs there, each through `launch.py`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from kubernaut_wfe_tools.node_simulator.runtime import launch
from kubernaut_wfe_tools.node_simulator.runtime.addresses import (
    SandboxNames,
    sandbox_names,
    uid_hex,
)
from kubernaut_wfe_tools.node_simulator.runtime.cgroups import (
    CgroupUnavailableError,
    MemoryCgroup,
    MemoryCgroups,
    cgroup_name,
)
from kubernaut_wfe_tools.node_simulator.runtime.container import RunningContainer
from kubernaut_wfe_tools.node_simulator.runtime.network import create_network, delete_network
from kubernaut_wfe_tools.node_simulator.runtime.spec import (
    ContainerSpec,
    RootfsLayout,
    launch_document,
)

logger = logging.getLogger(__name__)

LAUNCHER = Path(launch.__file__)
_CGROUPS = MemoryCgroups()


class PodSandbox:
    """A pod's netns, reachable at `ip` from the host; its gateway is `host_ip`."""

    def __init__(
        self, pod_uid: str, names: SandboxNames, state_dir: Path, ip: str, host_ip: str
    ) -> None:
        self.pod_uid = pod_uid
        self.ip = ip
        self.host_ip = host_ip
        self.netns = names.netns
        self._names = names
        self._state_dir = state_dir
        self._starts: dict[str, int] = {}
        self._containers: list[RunningContainer] = []
        self._destroyed = False

    @classmethod
    async def create(
        cls, pod_uid: str, *, state_dir: Path, service_ips: Sequence[str] = ()
    ) -> PodSandbox:
        """The pod's netns, its veth pair and addresses; `state_dir` (created) holds the
        containers' specs, logs and overlays until `destroy`."""
        names = sandbox_names(pod_uid)
        await asyncio.to_thread(state_dir.mkdir, parents=True, exist_ok=True)
        try:
            addresses = await create_network(pod_uid, names, tuple(service_ips))
        except BaseException:
            shutil.rmtree(state_dir, ignore_errors=True)
            raise
        return cls(pod_uid, names, state_dir, addresses.pod_ip, addresses.host_ip)

    async def run(self, spec: ContainerSpec) -> RunningContainer:
        """Start `spec` in the sandbox; the process's stdout and stderr go to its log."""
        if self._destroyed:
            raise RuntimeError(f"sandbox {self.netns} is destroyed")
        start = self._starts.get(spec.name, 0)
        self._starts[spec.name] = start + 1
        stem = f"{spec.name}-{start}"
        log_path = self._state_dir / f"{stem}.log"
        cgroup = self._memory_cgroup(spec, start)
        cgroup_procs: int | None = None
        try:
            if cgroup is not None:
                cgroup_procs = os.open(cgroup.procs, os.O_WRONLY)
            document = launch_document(
                spec, RootfsLayout.under(self._state_dir / stem), cgroup_procs
            )
            spec_path = self._state_dir / f"{stem}.json"
            spec_path.write_text(json.dumps(document, indent=2))
            with log_path.open("ab") as log:
                process = await asyncio.create_subprocess_exec(
                    *self._launcher_argv(spec_path),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                    pass_fds=() if cgroup_procs is None else (cgroup_procs,),
                )
        except BaseException:
            if cgroup is not None:
                await asyncio.to_thread(_CGROUPS.remove, cgroup)
            raise
        finally:
            if cgroup_procs is not None:
                os.close(cgroup_procs)
        container = RunningContainer(
            process,
            log_path=log_path,
            started_at=datetime.now(UTC),
            cgroup=cgroup,
            cgroups=_CGROUPS,
        )
        self._containers.append(container)
        return container

    async def destroy(self) -> None:
        """Kill what still runs, then remove the netns, the host veth, the cgroups and the
        state dir. Idempotent."""
        self._destroyed = True
        for container in self._containers:
            container.signal(signal.SIGKILL)
        with contextlib.suppress(Exception):
            await asyncio.gather(*(container.wait() for container in self._containers))
        self._containers.clear()
        await delete_network(self._names)
        await asyncio.to_thread(shutil.rmtree, self._state_dir, True)

    def _launcher_argv(self, spec_path: Path) -> tuple[str, ...]:
        # Each command execs the next in place: the process started is the container's.
        return (
            "ip",
            "netns",
            "exec",
            self.netns,
            "unshare",
            "--mount",
            "--uts",
            "--propagation",
            "private",
            sys.executable,
            "-I",
            str(LAUNCHER),
            str(spec_path),
        )

    def _memory_cgroup(self, spec: ContainerSpec, start: int) -> MemoryCgroup | None:
        if spec.memory_limit_bytes is None:
            return None
        name = cgroup_name(uid_hex(self.pod_uid), spec.name, start)
        try:
            return _CGROUPS.create(name, spec.memory_limit_bytes)
        except CgroupUnavailableError as error:
            logger.warning(
                "container %s of pod %s runs without its memory limit: %s",
                spec.name,
                self.pod_uid,
                error,
            )
            return None
