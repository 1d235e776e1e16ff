"""The per-target lock: deduplication, cooldown, lock release, stale locks, adoption."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kubernaut_wfe.constants import Annotation
from kubernaut_wfe.core.naming import pipelinerun_name
from kubernaut_wfe_tools.testing.stack import RUNS_PATH, finished_status, wfe_body

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(120)
TARGET = "default/deployment/shared"
RUN = pipelinerun_name(TARGET)
SUCCEEDED = "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0"


def phase(obj: dict[str, Any] | None) -> str | None:
    return ((obj or {}).get("status") or {}).get("phase")


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in obj["status"].get("conditions") or [] if c["type"] == kind), None)


async def complete(stack: Stack, name: str) -> dict[str, Any]:
    running = await stack.wait_phase(name, "Running")
    run_name = running["status"]["pipelineRunRef"]["name"]
    await stack.write_run_status(run_name, finished_status("True", "Succeeded", SUCCEEDED))
    return await stack.wait_phase(name, "Completed")


async def test_five_wfes_on_one_target_make_one_run(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller()
    names = [f"dup-{index}" for index in range(5)]
    await asyncio.gather(*(stack.create(wfe_body(n, target=TARGET)) for n in names))

    async def settled() -> list[str | None] | None:
        phases = [phase(await stack.wfe(n)) for n in names]
        return phases if all(p in ("Running", "Failed") for p in phases) else None

    phases = await stack.wait_for(settled, what="all five to settle")
    assert sorted(phases) == ["Failed"] * 4 + ["Running"]
    assert len(await stack.runs()) == 1
    winner = names[phases.index("Running")]
    winner_wfe = await stack.wfe(winner)
    assert winner_wfe is not None
    (run,) = await stack.runs()
    assert (
        run["metadata"]["annotations"][Annotation.WORKFLOW_EXECUTION_UID]
        == (winner_wfe["metadata"]["uid"])
    )
    for name in names:
        if name != winner:
            details = (await stack.wfe(name))["status"]["failureDetails"]  # type: ignore[index]
            assert details["reason"] == "Deduplicated"
            assert details["wasExecutionFailure"] is False
            assert winner in details["message"]


async def test_second_wfe_on_a_busy_target_is_deduplicated(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller()
    await stack.create(wfe_body("first", target=TARGET))
    await stack.wait_phase("first", "Running")
    await stack.create(wfe_body("second", target=TARGET))
    failed = await stack.wait_phase("second", "Failed")
    assert failed["status"]["failureDetails"]["reason"] == "Deduplicated"
    assert "pipelineRunRef" not in failed["status"]
    assert len(await stack.runs()) == 1


async def test_wfe_within_cooldown_waits_then_starts(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller(cooldown="6s")
    await stack.create(wfe_body("earlier", target=TARGET))
    earlier = await complete(stack, "earlier")
    await stack.create(wfe_body("later", target=TARGET))

    async def waiting() -> dict[str, Any] | None:
        obj = await stack.wfe("later")
        locked = condition(obj, "ResourceLocked") if obj and obj.get("status") else None
        return obj if locked and locked["status"] == "True" else None

    pending = await stack.wait_for(waiting, what="later to wait for the cooldown")
    assert phase(pending) in (None, "Pending")
    assert condition(pending, "ResourceLocked")["reason"] == "RecentlyRemediated"  # type: ignore[index]
    running = await stack.wait_phase("later", "Running")
    later_uid = running["metadata"]["uid"]
    run = await stack.run(RUN)
    assert run is not None
    assert run["metadata"]["annotations"][Annotation.WORKFLOW_EXECUTION_UID] == later_uid
    assert condition(running, "ResourceLocked")["status"] == "False"  # type: ignore[index]
    assert earlier["metadata"]["uid"] != later_uid


async def test_lock_released_after_cooldown(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller(cooldown="2s")
    await stack.create(wfe_body("holder", target=TARGET))
    await complete(stack, "holder")
    await stack.wait_run_gone(RUN)

    # The Event is posted after the run is deleted: wait for it rather than race it.
    async def released() -> bool:
        return any(e["reason"] == "LockReleased" for e in await stack.events("default"))

    await stack.wait_for(
        released,
        what="the LockReleased Event",
    )
    assert phase(await stack.wfe("holder")) == "Completed"


async def test_lock_release_deletes_only_the_owners_run(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller(cooldown="5s")
    await stack.create(wfe_body("owner", target=TARGET))
    await complete(stack, "owner")
    response = await stack.client.delete(f"{RUNS_PATH}/{RUN}")
    assert response.status_code in (200, 202)
    await stack.wait_run_gone(RUN)
    foreign = await stack.put_run(RUN, holder="default/someone-else", holder_uid="not-the-owner")
    stack.requests.clear()
    # Wait past the owner's cooldown: its release must leave the foreign run alone.
    await stack.wait_for(
        lambda: stack.requests.filter(verb="get", resource="pipelineruns"),
        what="the owner's lock-release check",
    )
    await asyncio.sleep(0.5)
    still = await stack.run(RUN)
    assert still is not None
    assert still["metadata"]["uid"] == foreign["metadata"]["uid"]
    assert not stack.requests.filter(verb="delete", resource="pipelineruns")


async def test_stale_lock_of_a_vanished_wfe_is_taken_over(bare_stack: Stack) -> None:
    stack = bare_stack
    stale = await stack.put_run(RUN, holder="default/long-gone", holder_uid="gone-uid")
    await stack.start_controller()
    created = await stack.create(wfe_body("taker", target=TARGET))
    await stack.wait_phase("taker", "Running")
    run = await stack.run(RUN)
    assert run is not None
    assert run["metadata"]["uid"] != stale["metadata"]["uid"]
    assert (
        run["metadata"]["annotations"][Annotation.WORKFLOW_EXECUTION_UID]
        == (created["metadata"]["uid"])
    )


async def test_own_preexisting_run_is_adopted(bare_stack: Stack) -> None:
    stack = bare_stack
    created = await stack.create(wfe_body("adopter", target=TARGET))
    own = await stack.put_run(RUN, holder="default/adopter", holder_uid=created["metadata"]["uid"])
    await stack.start_controller()
    running = await stack.wait_phase("adopter", "Running")
    assert running["status"]["pipelineRunRef"]["name"] == RUN
    assert (await stack.run(RUN))["metadata"]["uid"] == own["metadata"]["uid"]  # type: ignore[index]
    assert stack.run_creations() == 0  # the run is adopted, never created again


async def test_recreated_wfe_never_adopts_its_predecessors_run(bare_stack: Stack) -> None:
    stack = bare_stack
    first = await stack.create(wfe_body("phoenix", target=TARGET))
    old = await stack.put_run(RUN, holder="default/phoenix", holder_uid=first["metadata"]["uid"])
    await stack.delete("phoenix")
    second = await stack.create(wfe_body("phoenix", target=TARGET))
    assert second["metadata"]["uid"] != first["metadata"]["uid"]
    await stack.start_controller()
    running = await stack.wait_phase("phoenix", "Running")
    run = await stack.run(RUN)
    assert run is not None
    assert run["metadata"]["uid"] != old["metadata"]["uid"]
    assert (
        run["metadata"]["annotations"][Annotation.WORKFLOW_EXECUTION_UID]
        == (running["metadata"]["uid"])
    )


async def test_run_being_deleted_is_never_adopted(bare_stack: Stack) -> None:
    stack = bare_stack
    created = await stack.create(wfe_body("patient", target=TARGET))
    uid = created["metadata"]["uid"]
    old = await stack.put_run(
        RUN, holder="default/patient", holder_uid=uid, finalizers=["kubernaut.ai/test-hold"]
    )
    response = await stack.client.delete(f"{RUNS_PATH}/{RUN}")
    assert response.status_code in (200, 202)
    stack.requests.clear()
    await stack.start_controller()
    await stack.wait_for(
        lambda: stack.requests.filter(verb="get", resource="pipelineruns"),
        what="the controller to look at the lock",
    )
    await asyncio.sleep(0.5)
    assert phase(await stack.wfe("patient")) in (None, "Pending")
    await stack.patch_json(f"{RUNS_PATH}/{RUN}", {"metadata": {"finalizers": None}})
    await stack.wait_phase("patient", "Running")
    run = await stack.run(RUN)
    assert run is not None
    assert run["metadata"]["uid"] != old["metadata"]["uid"]
