"""The audit-trail stack: the shared integration stack (`kubernaut_wfe_tools.testing.stack`)
with the Tekton simulator, whose audit service runs in-process or as a process of its own, and whose
stored trails are checked against both specs."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from kubernaut_wfe.constants import ConditionReason, ConditionType, Phase
from kubernaut_wfe_tools.testing.stack import (
    EXECUTION_NAMESPACE,
    IntegrationStack,
    serving_stack,
    sqlite_audit_service,
)
from kubernaut_wfe_tools.testing.testcluster import TestCluster

from .trail import SpecJudges, query_trail  # noqa: TID252

TERMINAL = (Phase.COMPLETED, Phase.FAILED)


def condition(obj: dict[str, Any] | None, kind: ConditionType) -> dict[str, Any] | None:
    """The WFE's condition of type `kind`, if any."""
    for found in ((obj or {}).get("status") or {}).get("conditions") or []:
        if found["type"] == kind:
            return dict(found)
    return None


def audit_reason(obj: dict[str, Any] | None) -> str | None:
    """`AuditRecorded`'s reason (AuditSucceeded only when its status is True)."""
    found = condition(obj, ConditionType.AUDIT_RECORDED)
    return None if found is None else str(found["reason"])


def audit_succeeded(obj: dict[str, Any] | None) -> bool:
    found = condition(obj, ConditionType.AUDIT_RECORDED)
    return bool(
        found and found["status"] == "True" and found["reason"] == ConditionReason.AUDIT_SUCCEEDED
    )


@dataclass
class Stack(IntegrationStack):
    """Everything an audit-trail test talks to."""

    judges: SpecJudges

    wait_timeout: ClassVar[float] = 60.0
    poll_interval: ClassVar[float] = 0.1

    async def wait_audited(self, name: str, within: float | None = None) -> dict[str, Any]:
        """The WFE once terminal with `AuditRecorded` True/AuditSucceeded (every due event
        acknowledged)."""

        async def probe() -> dict[str, Any] | None:
            obj = await self.wfe(name)
            terminal = ((obj or {}).get("status") or {}).get("phase") in TERMINAL
            return obj if terminal and audit_succeeded(obj) else None

        found: dict[str, Any] = await self.wait_for(
            probe, what=f"{name}'s AuditRecorded True", within=within
        )
        return found

    async def trail(self, correlation_id: str) -> list[dict[str, Any]]:
        """The stored events of `correlation_id`, each query response checked by both specs."""
        return await query_trail(self.audit_url, correlation_id, self.judges)


@pytest.fixture(scope="session")
def judges() -> SpecJudges:
    """The project's spec and the real DataStorage spec (skipped off CI when it is absent)."""
    return SpecJudges()


@contextlib.asynccontextmanager
async def make_stack(
    tmp_path: Path, audit_url: str, judges: SpecJudges, cluster: TestCluster | None
) -> AsyncIterator[Stack]:
    """The API server (`cluster`, or an emulator when None), the simulator and the means to start
    controllers; stops them all on exit."""
    async with serving_stack(
        functools.partial(Stack, judges=judges),
        tmp_path,
        audit_url,
        cluster=cluster,
        namespaces=(EXECUTION_NAMESPACE, "team-a"),
    ) as stack:
        yield stack


@pytest.fixture
async def stack(
    tmp_path: Path, judges: SpecJudges, api_cluster: TestCluster | None
) -> AsyncIterator[Stack]:
    """The whole stack with the audit service in-process on a SQLite file."""
    async with (
        sqlite_audit_service(tmp_path) as audit_url,
        make_stack(tmp_path, audit_url, judges, api_cluster) as stack,
    ):
        yield stack
