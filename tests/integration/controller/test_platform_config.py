"""The controller started with the platform's own config file (platform contract 2026-08 §8, read
from ../shared, never copied): each of its keys takes effect; and `logging.level` changed in a
running controller's file applies without a restart, while an invalid edit keeps the settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kubernaut_wfe_tools.testing.oracles import UPSTREAM_CONFIG
from kubernaut_wfe_tools.testing.stack import (
    EXECUTION_NAMESPACE,
    ControllerProcess,
    json_lines,
    wfe_body,
)
from kubernaut_wfe_tools.testing.trees import dotted_leaves

from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(180)

FREE_PORTS = ("--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address", "127.0.0.1:0")
"""`:9090` and `:8081` of the platform's file may be taken on a shared machine, so the flags
give free ports; the file's two addresses are checked in the effective-configuration line."""

# Each key of the platform's file: our key, and the value the controller must have taken from it.
EXPECTED: dict[str, tuple[str, Any]] = {
    "execution.namespace": ("execution.namespace", "kubernaut-workflows"),
    "execution.cooldownPeriod": ("execution.cooldown_period", "300s"),
    "datastorage.url": ("audit.datastorage_url", "http://data-storage-service:8080"),
    "datastorage.timeout": ("audit.timeout", "10s"),
    "datastorage.buffer.bufferSize": ("audit.buffer_size", 10000),
    "datastorage.buffer.batchSize": ("audit.batch_size", 100),
    "datastorage.buffer.flushInterval": ("audit.flush_interval", "1s"),
    "datastorage.buffer.maxRetries": ("audit.max_retries", 3),
    "controller.metricsAddr": ("controller.metrics_addr", ":9090"),
    "controller.healthProbeAddr": ("controller.health_probe_addr", ":8081"),
    "controller.leaderElection": ("controller.leader_election", False),
    "controller.leaderElectionId": (
        "controller.leader_election_id",
        "workflowexecution.kubernaut.ai",
    ),
}
REPLACED_BY_FLAGS = {"controller.metrics_addr", "controller.health_probe_addr"}


async def start(stack: Stack, config: Path, name: str) -> ControllerProcess:
    """`kubernaut-wfe run --config <config>` with only the flags a test machine needs (no
    DataStorage URL, cooldown or log format of the stack's), serving its endpoints."""
    proc = ControllerProcess(
        ["--config", str(config), "--kubeconfig", str(stack.kubeconfig), *FREE_PORTS],
        stack.tmp_path / f"{name}.log",
        dict(stack.controller_env),
    )
    stack.controllers.append(proc)
    await proc.start()
    await stack.wait_for(proc.ports, what="the controller's endpoints")
    return proc


async def get(proc: ControllerProcess, path: str) -> httpx.Response:
    ports = proc.ports()
    assert ports is not None
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        return await client.get(f"http://127.0.0.1:{ports['probes']}{path}")


def logged(proc: ControllerProcess, event: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(proc.log()) if line.get("event") == event]


async def test_each_key_of_the_platforms_file_takes_effect(bare_stack: Stack) -> None:
    stack = bare_stack
    assert dotted_leaves(yaml.safe_load(UPSTREAM_CONFIG.read_text(encoding="utf-8"))) == set(
        EXPECTED
    )
    controller = await start(stack, UPSTREAM_CONFIG, "platform-config")

    (effective,) = logged(controller, "effective configuration")
    assert effective["config_file"] == str(UPSTREAM_CONFIG)
    settings = effective["settings"]
    for ours, value in EXPECTED.values():
        if ours in REPLACED_BY_FLAGS:
            assert effective["replaced_by_flags"][ours] == value
            assert settings[ours] == "127.0.0.1:0"
        else:
            assert settings[ours] == value, ours
    assert set(effective["replaced_by_flags"]) == REPLACED_BY_FLAGS

    # execution.namespace: the run is created in kubernaut-workflows; the DataStorage the file
    # names is unreachable here, and nothing waits for it.
    await stack.create(wfe_body("platform-config"))
    running = await stack.wait_phase("platform-config", "Running")
    (run,) = await stack.runs(EXECUTION_NAMESPACE)
    assert run["metadata"]["name"] == running["status"]["pipelineRunRef"]["name"]

    # datastorage.url: readiness reports it unreachable, and the pod stays ready;
    # controller.leaderElection false: no Lease, and readiness says so.
    async def ready() -> httpx.Response | None:
        response = await get(controller, "/readyz")
        return response if response.status_code == 200 else None

    checks = (await stack.wait_for(ready, what="/readyz")).json()["checks"]
    assert checks["datastorage_url"] == "http://data-storage-service:8080/health"
    assert checks["datastorage"].startswith("unreachable")
    assert checks["leader"] == "disabled"
    assert stack.requests.filter(resource="leases") == []


async def test_the_log_level_changes_without_a_restart_and_a_bad_edit_keeps_it(
    bare_stack: Stack,
) -> None:
    stack = bare_stack
    config = stack.tmp_path / "workflowexecution-config.yaml"
    platform = yaml.safe_load(UPSTREAM_CONFIG.read_text(encoding="utf-8"))
    config.write_text(yaml.safe_dump({**platform, "logging": {"level": "INFO"}}), encoding="utf-8")
    controller = await start(stack, config, "reloaded")

    def debug_lines() -> list[dict[str, Any]]:
        return [line for line in json_lines(controller.log()) if line.get("level") == "debug"]

    assert (await get(controller, "/healthz")).status_code == 200
    assert debug_lines() == []

    config.write_text(yaml.safe_dump({**platform, "logging": {"level": "debug"}}), encoding="utf-8")
    await stack.wait_for(lambda: logged(controller, "log level changed"), what="the new level")
    assert (await get(controller, "/healthz")).status_code == 200
    await stack.wait_for(debug_lines, what="debug lines")

    bad = {**platform, "logging": {"level": "ERROR"}, "execution": {"cooldownPeriod": "soon"}}
    config.write_text(yaml.safe_dump(bad), encoding="utf-8")
    (kept,) = await stack.wait_for(
        lambda: logged(controller, "config file not applied: keeping the settings in effect"),
        what="the invalid edit to be refused",
    )
    assert kept["problems"] == ['execution.cooldownPeriod: invalid duration "soon"']
    assert controller.returncode is None
    before = len(debug_lines())
    assert (await get(controller, "/healthz")).status_code == 200
    await stack.wait_for(lambda: len(debug_lines()) > before, what="debug lines after the edit")

    changed = {**platform, "logging": {"level": "DEBUG"}, "execution": {"cooldownPeriod": "1m"}}
    config.write_text(yaml.safe_dump(changed), encoding="utf-8")
    (restart,) = await stack.wait_for(
        lambda: logged(controller, "config file changed: restart to apply"),
        what="the restart notice",
    )
    assert restart["keys"] == ["execution.cooldownPeriod"]
    assert len(logged(controller, "log level changed")) == 1
