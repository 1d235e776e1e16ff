"""Flags and config that shape the PipelineRun, and an unreachable DataStorage."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from kubernaut_wfe_tools.testing.stack import HELLO, wfe_body

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(120)
DIGEST = "sha256:" + "ab" * 32


def unused_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


async def test_flags_choose_the_execution_namespace_and_runner(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller(
        "--execution-namespace", "team-b", "--service-account", "custom-runner"
    )
    await stack.create(wfe_body("placed"))
    running = await stack.wait_phase("placed", "Running")
    (run,) = await stack.runs("team-b")
    assert run["metadata"]["name"] == running["status"]["pipelineRunRef"]["name"]
    assert run["spec"]["taskRunTemplate"]["serviceAccountName"] == "custom-runner"
    assert await stack.runs() == []


def write_config(path: Path) -> Path:
    path.write_text("execution:\n  allowed_service_accounts: [special-runner]\n", encoding="utf-8")
    return path


async def test_config_file_allows_a_further_runner(bare_stack: Stack) -> None:
    stack = bare_stack
    config = write_config(stack.tmp_path / "config.yaml")
    await stack.start_controller("--config", str(config))
    body = wfe_body("special")
    body["spec"]["executionConfig"] = {"serviceAccountName": "special-runner", "timeout": "90s"}
    await stack.create(body)
    running = await stack.wait_phase("special", "Running")
    run = await stack.run(running["status"]["pipelineRunRef"]["name"])
    assert run is not None
    assert run["spec"]["taskRunTemplate"]["serviceAccountName"] == "special-runner"
    assert run["spec"]["timeouts"]["pipeline"] == "90s"


async def test_pinned_digest_and_sorted_params_reach_the_run(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller()
    body = wfe_body("pinned", parameters={"ZETA": "z", "ALPHA": "a"})
    body["spec"]["workflowRef"]["containerDigest"] = DIGEST
    await stack.create(body)
    running = await stack.wait_phase("pinned", "Running")
    run = await stack.run(running["status"]["pipelineRunRef"]["name"])
    assert run is not None
    resolver = {p["name"]: p["value"] for p in run["spec"]["pipelineRef"]["params"]}
    assert resolver["bundle"] == f"{HELLO}@{DIGEST}"
    names = [p["name"] for p in run["spec"]["params"]]
    assert names == ["ALPHA", "DELAY_SECONDS", "ZETA", "TARGET_RESOURCE"]


async def test_unreachable_datastorage_blocks_nothing(stack: Stack) -> None:
    await stack.start_controller("--datastorage-url", unused_url())
    await stack.create(wfe_body("offline"))
    done = await stack.wait_phase("offline", "Completed")
    audit = conditions(done)["AuditRecorded"]
    assert audit["status"] == "False"
    assert audit["reason"] == "AuditPending"
    assert not done["status"].get("auditedEvents")


async def test_deletion_is_not_blocked_by_an_unreachable_datastorage(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller("--datastorage-url", unused_url())
    await stack.create(wfe_body("leaving"))
    await stack.wait_phase("leaving", "Running")
    await stack.delete("leaving")
    await stack.wait_wfe_gone("leaving")
    assert await stack.runs() == []


async def test_deleting_a_completed_wfe_releases_its_lock_early(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller(cooldown="1h")
    await stack.create(wfe_body("done-early"))
    running = await stack.wait_phase("done-early", "Running")
    name = running["status"]["pipelineRunRef"]["name"]
    stored = await stack.run(name)
    assert stored is not None
    await stack.write_run_status(
        name,
        {
            "conditions": [
                {
                    "type": "Succeeded",
                    "status": "True",
                    "reason": "Succeeded",
                    "message": "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0",
                    "lastTransitionTime": running["status"]["startTime"],
                }
            ],
        },
    )
    await stack.wait_phase("done-early", "Completed")
    assert await stack.run(name) is not None  # held for the cooldown
    await stack.delete("done-early")
    await stack.wait_wfe_gone("done-early")
    assert await stack.run(name) is None
