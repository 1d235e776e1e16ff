"""The config file re-read while running: a new `logging.level` applied at once, other changes
logged as needing a restart, an invalid or missing file logged while the settings stay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import structlog

from kubernaut_wfe.controller.config_watch import ConfigFileWatcher
from kubernaut_wfe.core.config import LogLevel, load_config

START = "execution: {cooldownPeriod: 5m}\nlogging: {level: INFO}\n"
FLAGS = {"controller.metrics_addr": "127.0.0.1:0"}
KEPT = "config file not applied: keeping the settings in effect"
RESTART = "config file changed: restart to apply"


class Watched:
    def __init__(self, path: Path, logs: list[MutableMapping[str, Any]]) -> None:
        self.path = path
        self.logs = logs
        self.levels: list[LogLevel] = []

    def events(self, name: str) -> list[MutableMapping[str, Any]]:
        return [line for line in self.logs if line["event"] == name]

    async def until(self, condition: Callable[[], object]) -> None:
        for _ in range(2000):
            if condition():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the watcher never got there")


@pytest.fixture
async def watched(tmp_path: Path) -> AsyncIterator[Watched]:
    path = tmp_path / "config.yaml"
    path.write_text(START, encoding="utf-8")
    with structlog.testing.capture_logs() as logs:
        state = Watched(path, logs)
        watcher = ConfigFileWatcher(
            path,
            FLAGS,
            load_config(START, FLAGS),
            START,
            apply_level=state.levels.append,
            interval=0.01,
        )
        watcher.start()
        yield state
        await watcher.stop()


@pytest.mark.timeout(30)
async def test_a_new_level_applies_and_other_changes_ask_for_a_restart(watched: Watched) -> None:
    watched.path.write_text(
        "execution: {cooldownPeriod: 1m}\nlogging: {level: debug}\n"
        "controller: {metricsAddr: ':1'}\n",
        encoding="utf-8",
    )
    await watched.until(lambda: watched.events(RESTART))
    assert watched.levels == [LogLevel.DEBUG]
    (changed,) = watched.events("log level changed")
    assert changed["level"] == "DEBUG"
    (restart,) = watched.events(RESTART)
    assert restart["keys"] == ["execution.cooldownPeriod"]  # the flag keeps the address


@pytest.mark.timeout(30)
async def test_an_invalid_file_keeps_the_settings_until_a_valid_one(watched: Watched) -> None:
    watched.path.write_text("logging: {level: DEBUG}\nexecution: {cooldownPeriod: soon}\n")
    await watched.until(lambda: watched.events(KEPT))
    (kept,) = watched.events(KEPT)
    assert kept["problems"] == ['execution.cooldownPeriod: invalid duration "soon"']
    assert kept["log_level"] == "error"
    watched.path.unlink()
    await watched.until(lambda: len(watched.events(KEPT)) == 2)
    assert "No such file or directory" in watched.logs[-1]["problems"][0]
    assert watched.levels == []
    watched.path.write_text("execution: {cooldownPeriod: 5m}\nlogging: {level: WARN}\n")
    await watched.until(lambda: watched.levels)
    assert watched.levels == [LogLevel.WARN]
    assert watched.events(RESTART) == []
