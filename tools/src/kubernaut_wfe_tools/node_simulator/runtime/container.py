"""`RunningContainer`: one started container process, its log, its end and its cleanup."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import deque
from datetime import datetime
from pathlib import Path

from kubernaut_wfe_tools.node_simulator.runtime.cgroups import MemoryCgroup, MemoryCgroups
from kubernaut_wfe_tools.node_simulator.runtime.spec import ExitStatus, exit_code


class RunningContainer:
    """A container's process (`pid`), started by `PodSandbox.run`."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        *,
        log_path: Path,
        started_at: datetime,
        cgroup: MemoryCgroup | None,
        cgroups: MemoryCgroups,
    ) -> None:
        self._process = process
        self.pid = process.pid
        self.log_path = log_path
        self.started_at = started_at
        self.memory_limit_enforced = cgroup is not None
        """False when the memory limit asked for could not be set (see the log's warning)."""
        self._cgroup = cgroup
        self._cgroups = cgroups
        self._ended: asyncio.Task[ExitStatus] | None = None

    async def wait(self) -> ExitStatus:
        """Its exit status, once it ended (any number of callers)."""
        if self._ended is None:
            self._ended = asyncio.ensure_future(self._reap())
        return await asyncio.shield(self._ended)

    def signal(self, sig: int) -> None:
        """Send `sig` to the container's process (nothing when it already ended)."""
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    async def stop(self, grace_seconds: float) -> ExitStatus:
        """SIGTERM, then SIGKILL when it still runs after `grace_seconds`."""
        self.signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.wait(), grace_seconds)
        except TimeoutError:
            self.signal(signal.SIGKILL)
            return await self.wait()

    def tail(self, lines: int = 40) -> str:
        """The log's last `lines` lines."""
        try:
            with self.log_path.open(errors="replace") as log:
                return "".join(deque(log, maxlen=lines))
        except FileNotFoundError:
            return ""

    @property
    def ended(self) -> bool:
        """Whether the process has been reaped."""
        return self._process.returncode is not None

    async def _reap(self) -> ExitStatus:
        code = exit_code(await self._process.wait())
        # Whatever it started in its session (same process group) goes with it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        oom_killed = False
        if self._cgroup is not None:
            oom_killed = self._cgroups.oom_killed(self._cgroup, code)
            await asyncio.to_thread(self._cgroups.remove, self._cgroup)
        return ExitStatus(code=code, oom_killed=oom_killed)
