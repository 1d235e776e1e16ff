"""Re-reads the `--config` file while the controller runs: a new `logging.level` applies at once,
any other change is logged as needing a restart, and a file that cannot be used is logged as an
error while the settings in effect stay.

The file is polled (read in a worker thread every few seconds), not watched with inotify: a
mounted ConfigMap changes by swapping a symlink, which a watch on the file's path misses, and a
small file read now and then costs nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import structlog

from kubernaut_wfe.core.config import ConfigError, ControllerConfig, LogLevel, read_config
from kubernaut_wfe.core.config_reload import reload_plan, running_after

logger = structlog.get_logger("kubernaut_wfe.config")

POLL_INTERVAL = 2.0
"""Seconds between two reads of the file."""


class ConfigFileWatcher:
    """Polls the config file and applies what can be applied without a restart."""

    def __init__(
        self,
        path: Path,
        overrides: Mapping[str, Any],
        running: ControllerConfig,
        started_with: str,
        *,
        apply_level: Callable[[LogLevel], None],
        interval: float = POLL_INTERVAL,
    ) -> None:
        """`running` is the configuration the process started with: the file's text
        `started_with` and the flags' `overrides` (which keep overriding the file)."""
        self._path = path
        self._overrides = overrides
        self._running = running
        self._apply_level = apply_level
        self._interval = interval
        self._last_read: tuple[str | None, str | None] = (started_with, None)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start polling in the running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="config-watch")

    async def stop(self) -> None:
        """Stop polling."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            state = await self._read()
            if state != self._last_read:
                self._last_read = state
                self._reload(*state)

    async def _read(self) -> tuple[str | None, str | None]:
        """The file's text, or why it cannot be read."""
        try:
            return await asyncio.to_thread(self._path.read_text, encoding="utf-8"), None
        except OSError as error:
            return None, f"cannot read {self._path}: {error.strerror or error}"
        except UnicodeDecodeError:
            return None, f"cannot read {self._path}: not a text file (not UTF-8)"

    def _reload(self, text: str | None, unreadable: str | None) -> None:
        if text is None:
            self._keep(unreadable or "unreadable")
            return
        try:
            loaded = read_config(text, self._overrides)
        except ConfigError as error:
            self._keep(*error.problems)
            return
        except RecursionError:
            self._keep("<config file>: YAML nested too deeply")
            return
        plan = reload_plan(self._running, loaded.config, loaded.names)
        if plan.level is not None:
            self._apply_level(plan.level)
            logger.info("log level changed", level=plan.level.value, config_file=str(self._path))
        if plan.restart_needed:
            logger.warning(
                "config file changed: restart to apply",
                keys=list(plan.restart_needed),
                config_file=str(self._path),
            )
        self._running = running_after(self._running, plan)

    def _keep(self, *problems: str) -> None:
        logger.error(
            "config file not applied: keeping the settings in effect",
            problems=list(problems),
            config_file=str(self._path),
        )
