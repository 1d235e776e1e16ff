"""The workload played against the real API server as the platform and its users would: WFEs
created at a steady pace, followers created when their holder is running or has just finished,
WFEs deleted while Pending or Running, runs deleted by someone else. The runner's own requests go
straight to the API server (as the admin), never through the fault proxy."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos.workload import Case, Role
from kubernaut_wfe.constants import ExecutionEngine
from kubernaut_wfe_tools.testing.catalog_fixtures import catalog_variant
from kubernaut_wfe_tools.testing.stack import EXECUTION_NAMESPACE, FAILING, HELLO, wfe_body
from kubernaut_wfe_tools.testing.targets import WFE_API

WFES = f"{WFE_API}/namespaces/default/workflowexecutions"
JOB_BUNDLE = "quay.io/kubernaut/workflows/remediate:v1"
RUN_COLLECTIONS = {
    ExecutionEngine.TEKTON: f"/apis/tekton.dev/v1/namespaces/{EXECUTION_NAMESPACE}/pipelineruns",
    ExecutionEngine.JOB: f"/apis/batch/v1/namespaces/{EXECUTION_NAMESPACE}/jobs",
}
POLL = 1.0


def document(case: Case) -> dict[str, Any]:
    """The WFE of `case`: the January shape for Tekton, the catalog snapshot for the Job
    engine, with the simulators' DELAY_SECONDS and FAILURE_MODE."""
    parameters = {"DELAY_SECONDS": str(case.delay_seconds)}
    if case.failure_mode is not None:
        parameters["FAILURE_MODE"] = case.failure_mode
    if case.engine is ExecutionEngine.TEKTON:
        image = HELLO if case.failure_mode is None else FAILING
        # A TaskRun over its quota waits until the run's timeout (examples/failing-quota.yaml).
        timeout = "10s" if case.failure_mode == "quota" else None
        return wfe_body(
            case.name, target=case.target, image=image, parameters=parameters, timeout=timeout
        )
    changes = {
        "workflowRef.executionEngine": "job",
        "workflowRef.executionBundle": JOB_BUNDLE,
        "targetResource": case.target,
        "parameters": parameters,
    }
    return catalog_variant(changes, name=case.name)


def groups_of(cases: Sequence[Case]) -> list[list[Case]]:
    """Each case alone, or a holder with the follower that meets it (in that order)."""
    by_holder = {case.holder: case for case in cases if case.holder is not None}
    followers = set(by_holder.values())
    return [
        [case, by_holder[case.name]] if case.name in by_holder else [case]
        for case in cases
        if case not in followers
    ]


@dataclass
class Driver:
    admin: httpx.AsyncClient
    patience: float
    """How long a step waits for a WFE to reach a phase before giving up on it."""
    problems: list[str] = field(default_factory=list)

    async def run(self, cases: Sequence[Case], started: float, spread: float) -> None:
        """Start the groups evenly over `spread` seconds from `started`; return once every
        group has played its part."""
        loop = asyncio.get_running_loop()
        groups = groups_of(cases)
        tasks = []
        for index, group in enumerate(groups):
            await asyncio.sleep(max(0.0, started + index * spread / len(groups) - loop.time()))
            tasks.append(asyncio.create_task(self._play(group)))
        await asyncio.gather(*tasks)

    async def _play(self, group: list[Case]) -> None:
        first = group[0]
        await self._create(first)
        if len(group) == 2:
            follower = group[1]
            wanted = "Running" if follower.role is Role.DUPLICATE else "Completed"
            if not await self._wait_phase(first.name, wanted):
                return
            await self._create(follower)
            if follower.role is Role.DELETED_PENDING:
                await asyncio.sleep(2)
                await self._delete(f"{WFES}/{follower.name}")
        elif first.role is Role.DELETED_RUNNING and await self._wait_phase(first.name, "Running"):
            await asyncio.sleep(1)
            await self._delete(f"{WFES}/{first.name}")
        elif first.role is Role.RUN_DELETED and await self._wait_phase(first.name, "Running"):
            wfe = await self._read(f"{WFES}/{first.name}")
            reference = (wfe or {}).get("status", {}).get("executionRef") or {}
            if reference.get("name"):
                await self._delete(f"{RUN_COLLECTIONS[first.engine]}/{reference['name']}")
            else:
                self.problems.append(f"{first.name}: Running without an executionRef")

    async def _create(self, case: Case) -> None:
        for _ in range(30):
            try:
                answer = await self.admin.post(WFES, json=document(case))
            except httpx.HTTPError:
                await asyncio.sleep(POLL)
                continue
            if answer.status_code in (201, 409):
                return
            self.problems.append(f"{case.name}: create answered {answer.status_code}")
            return

    async def _delete(self, path: str) -> None:
        params = {"propagationPolicy": "Background"}
        for _ in range(30):
            try:
                answer = await self.admin.delete(path, params=params)
            except httpx.HTTPError:
                await asyncio.sleep(POLL)
                continue
            if answer.status_code not in (200, 202, 404):
                self.problems.append(f"DELETE {path} answered {answer.status_code}")
            return

    async def _read(self, path: str) -> dict[str, Any] | None:
        try:
            answer = await self.admin.get(path)
        except httpx.HTTPError:
            return None
        found: dict[str, Any] | None = answer.json() if answer.status_code == 200 else None
        return found

    async def _wait_phase(self, name: str, phase: str) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.patience
        seen = None
        while loop.time() < deadline:
            wfe = await self._read(f"{WFES}/{name}")
            seen = (wfe or {}).get("status", {}).get("phase")
            if seen == phase:
                return True
            if seen in ("Completed", "Failed") and seen != phase:
                break
            await asyncio.sleep(POLL)
        self.problems.append(f"{name}: waited for {phase}, last saw {seen}")
        return False
