"""`kubernaut-wfe` commands as child processes: the controller (`run`, as users deploy it) and
the audit service, started, awaited and stopped; and free ports. Used by the sandbox, the
integration stack and the benchmarks, so it imports nothing of theirs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import httpx

CONTROLLER_STOP_SECONDS = 20.0
"""How long a SIGTERMed controller may take to finish its in-flight work before SIGKILL."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


async def stop_process(
    process: asyncio.subprocess.Process,
    timeout: float,  # noqa: ASYNC109
    sig: int = signal.SIGTERM,
) -> int:
    """Send `sig` (0 sends none), wait up to `timeout` seconds, then SIGKILL; the exit code."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
    try:
        return await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        return await process.wait()


def rss_mib(pid: int) -> float:
    """Resident set size (VmRSS) of a process in MiB (OSError once the process is gone)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ProcessLookupError(f"no VmRSS for process {pid}")


class ProcessError(Exception):
    """A child process exited or never became ready; the message ends with its log's tail."""


@dataclass
class KubernautProcess:
    """`python -m kubernaut_wfe COMMAND ARGS` (the subclass names the command), in a session of
    its own, with stdout and stderr appended to `log_path`; `env` is set over ours."""

    command: ClassVar[str]
    title: ClassVar[str]
    """What it is called in messages."""
    stop_timeout: ClassVar[float] = CONTROLLER_STOP_SECONDS
    """How long `stop` waits after the signal before SIGKILL, unless told."""

    args: list[str]
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    interpreter: Sequence[str] = (sys.executable,)
    """How Python is started: another environment's, or under a profiler."""
    process: asyncio.subprocess.Process | None = field(default=None, init=False)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode if self.process else None

    async def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        log = await asyncio.to_thread(self.log_path.open, "ab")
        try:
            # A session of its own: a terminal's Ctrl-C reaches only the parent, which then stops
            # the child with SIGTERM and waits for it, in order.
            self.process = await asyncio.create_subprocess_exec(
                *self.interpreter, "-m", "kubernaut_wfe", self.command, *self.args,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                start_new_session=True,
            )  # fmt: skip
        finally:
            log.close()

    async def stop(
        self,
        sig: int = signal.SIGTERM,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> int | None:
        """`stop_process` with the class's `stop_timeout` unless told; None if never started."""
        if self.process is None:
            return None
        return await stop_process(
            self.process, self.stop_timeout if timeout is None else timeout, sig
        )

    async def wait(self) -> int:
        """Until the process exits; its exit code."""
        if self.process is None:
            raise RuntimeError(f"{self.title} was never started")
        return await self.process.wait()

    async def log_tail(self, lines: int = 30) -> str:
        def read() -> str:
            try:
                text = self.log_path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                return ""
            return "\n".join(text.splitlines()[-lines:])

        return await asyncio.to_thread(read)

    async def wait_ready(self, ready_url: str, timeout: float) -> None:  # noqa: ASYNC109
        """Until `ready_url` answers 200; ProcessError if the process exits or time runs out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
            while True:
                if self.returncode is not None:
                    raise ProcessError(
                        f"{self.title} exited with code {self.returncode}:\n"
                        + await self.log_tail()
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(ready_url)).status_code == 200:
                        return
                if loop.time() > deadline:
                    raise ProcessError(
                        f"{self.title} was not ready ({ready_url}) within"
                        f" {timeout:.0f}s:\n" + await self.log_tail()
                    )
                await asyncio.sleep(0.1)


class ControllerProcess(KubernautProcess):
    """The controller as users deploy it: `kubernaut-wfe run`."""

    command = "run"
    title = "the controller"


class AuditServerProcess(KubernautProcess):
    """The development audit service: `kubernaut-wfe audit-server`."""

    command = "audit-server"
    title = "the audit service"
