"""Free ports and the controller as its own process (`kubernaut-wfe run`, as users deploy it)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CONTROLLER_STOP_SECONDS = 20.0
"""How long a SIGTERMed controller may take to finish its in-flight work before SIGKILL."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class ControllerError(Exception):
    """The controller exited or never became ready; the message ends with its log's tail."""


@dataclass
class ControllerProcess:
    """`python -m kubernaut_wfe run ARGS` with stdout and stderr in `log_path`."""

    args: list[str]
    log_path: Path
    process: asyncio.subprocess.Process | None = field(default=None, init=False)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode if self.process else None

    async def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        log = await asyncio.to_thread(self.log_path.open, "ab")
        try:
            # A session of its own: a terminal's Ctrl-C reaches only the sandbox, which then stops
            # the controller with SIGTERM and waits for it, in order.
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "kubernaut_wfe", "run", *self.args,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                start_new_session=True,
            )  # fmt: skip
        finally:
            log.close()

    async def stop(self, timeout: float = CONTROLLER_STOP_SECONDS) -> int | None:  # noqa: ASYNC109
        """SIGTERM, wait up to `timeout`, then SIGKILL; the exit code (None if never started)."""
        if self.process is None:
            return None
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            return await self.process.wait()

    async def wait(self) -> int:
        """Until the process exits; its exit code."""
        if self.process is None:
            raise RuntimeError("the controller was never started")
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
        """Until `ready_url` answers 200; ControllerError if the process exits or time runs out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
            while True:
                if self.returncode is not None:
                    raise ControllerError(
                        f"the controller exited with code {self.returncode}:\n"
                        + await self.log_tail()
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(ready_url)).status_code == 200:
                        return
                if loop.time() > deadline:
                    raise ControllerError(
                        f"the controller was not ready ({ready_url}) within {timeout:.0f}s:\n"
                        + await self.log_tail()
                    )
                await asyncio.sleep(0.1)
