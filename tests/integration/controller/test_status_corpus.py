"""The status-write corpus (`tests/corpus/status_writes.yaml`): someone else writes a WFE's status
while its run goes on, or after its lock was released, and the controller ends each case as the
corpus says, with one run per WFE (docs/trust-model.md). The cases share one controller and run
at once: each has its own WFE, target and run."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from kubernaut_wfe.constants import AuditEventType, EventReason
from kubernaut_wfe_tools.testing.corpus import StatusCase, StatusOutcome, WriteStage, status_cases
from kubernaut_wfe_tools.testing.stack import finished_status, wfe_body
from kubernaut_wfe_tools.testing.targets import WFE_API

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(240)
CASES = status_cases()
SUCCEEDED = "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0"
TRAIL = {
    AuditEventType.SELECTION_COMPLETED.value,
    AuditEventType.EXECUTION_STARTED.value,
    AuditEventType.WORKFLOW_COMPLETED.value,
}


class CaseRun:
    """One case on the shared stack."""

    def __init__(self, stack: Stack, case: StatusCase) -> None:
        self.stack = stack
        self.case = case
        self.name = case.name
        self.path = f"{WFE_API}/namespaces/default/workflowexecutions/{self.name}"
        self.run_name = ""

    async def wfe(self) -> dict[str, Any]:
        found = await self.stack.wfe(self.name)
        assert found is not None, self.name
        return found

    async def status_where(self, what: str, check: Any) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            status = (await self.wfe()).get("status") or {}
            return status if check(status) else None

        found: dict[str, Any] = await self.stack.wait_for(probe, what=f"{self.name}: {what}")
        return found

    async def succeed(self) -> None:
        await self.stack.write_run_status(
            self.run_name, finished_status("True", "Succeeded", SUCCEEDED)
        )

    async def trail(self, expected: set[str]) -> Counter[str]:
        async def probe() -> Counter[str] | None:
            events = await self.stack.audit_events(f"rr-{self.name}")
            counts = Counter(str(event["event_type"]) for event in events)
            return counts if set(counts) >= expected else None

        counts: Counter[str] = await self.stack.wait_for(probe, what=f"{self.name}: audit trail")
        return counts

    async def play(self) -> None:
        stack = self.stack
        await stack.create(wfe_body(self.name, target=f"default/deployment/{self.name}"))
        running = await stack.wait_phase(self.name, "Running")
        self.run_name = running["status"]["pipelineRunRef"]["name"]
        if self.case.when == WriteStage.RELEASED:
            await self.succeed()
            await stack.wait_phase(self.name, "Completed")
            await stack.wait_run_gone(self.run_name)
        for _ in range(10):  # a 409: the controller wrote in between (an audit result); again
            before = await self.wfe()
            written = self.case.written(dict(before.get("status") or {}))
            body = {**before, "status": written}
            answer = await stack.client.put(f"{self.path}/status", json=body)
            if answer.status_code != 409:
                break
        if self.case.outcome == StatusOutcome.REFUSED:
            assert answer.status_code == 422, f"{self.name}: {answer.text}"
            await self.completes(running["status"])
            return
        assert answer.status_code == 200, f"{self.name}: {answer.text}"
        await getattr(self, self.case.outcome.value.replace("-", "_"))(running["status"])

    async def rebuilt(self, first: dict[str, Any]) -> None:
        async def event() -> bool:
            events = await self.stack.events("default")
            return any(
                e["involvedObject"]["name"] == self.name
                and e["reason"] == EventReason.STATUS_REBUILT
                for e in events
            )

        await self.stack.wait_for(event, what=f"{self.name}: the StatusRebuilt Event")
        status = await self.status_where(
            "Running again with its own run and start",
            lambda s: (
                s.get("phase") == "Running"
                and s.get("pipelineRunRef") == first["pipelineRunRef"]
                and s.get("startTime") == first["startTime"]
            ),
        )
        assert "completionTime" not in status, self.name
        await self.completes(first)

    async def completes(self, first: dict[str, Any]) -> None:
        await self.succeed()
        await self.stack.wait_phase(self.name, "Completed")
        await self.stack.wait_run_gone(self.run_name)
        counts = await self.trail(TRAIL)
        assert set(counts) == TRAIL, (self.name, counts)
        assert set(counts.values()) == {1}, (self.name, counts)

    async def stopped(self, first: dict[str, Any]) -> None:
        async def cancelled() -> bool:
            run = await self.stack.run(self.run_name)
            return run is None or run.get("spec", {}).get("status") == "Cancelled"

        await self.stack.wait_for(cancelled, what=f"{self.name}: the run cancelled")
        status = await self.status_where(
            "Failed with a completionTime",
            lambda s: s.get("phase") == "Failed" and "completionTime" in s,
        )
        reason = self.case.merge.get("failureReason") if self.case.merge else None
        if reason:
            assert status["failureDetails"]["message"] == reason, self.name
        await self.stack.wait_run_gone(self.run_name)
        counts = await self.trail({AuditEventType.WORKFLOW_FAILED.value})
        assert counts[AuditEventType.WORKFLOW_FAILED.value] == 1, (self.name, counts)
        assert AuditEventType.WORKFLOW_COMPLETED.value not in counts, (self.name, counts)

    async def not_run_again(self, first: dict[str, Any]) -> None:
        status = await self.status_where("Failed", lambda s: s.get("phase") == "Failed")
        assert "not run again" in status["failureDetails"]["message"], self.name
        assert self.run_name in status["failureDetails"]["message"], self.name
        assert await self.stack.run(self.run_name) is None, self.name

    async def kept(self, first: dict[str, Any]) -> None:
        status = await self.status_where(
            "Completed with a completionTime",
            lambda s: s.get("phase") == "Completed" and "completionTime" in s,
        )
        assert status["pipelineRunRef"] == first["pipelineRunRef"], self.name
        assert await self.stack.run(self.run_name) is None, self.name


async def test_every_status_write_ends_as_the_corpus_says(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller(cooldown="1s")
    await asyncio.gather(*(CaseRun(stack, case).play() for case in CASES))
    assert stack.run_creations() == len(CASES)  # one run per WFE, whatever was written
