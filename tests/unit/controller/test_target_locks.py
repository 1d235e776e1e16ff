"""One reconcile at a time per lock name (`reconcile.target_locks`), and two WFEs of two engines
on one target reconciled at once create one run."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from kubernaut_wfe.constants import FailureReason
from kubernaut_wfe.core.naming import pipelinerun_name
from kubernaut_wfe.reconcile.cache import ObjectCache
from kubernaut_wfe.reconcile.target_locks import TargetLocks

from .conftest import KubeFactory, reconciler_on, wfe_document  # noqa: TID252

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LOCK = pipelinerun_name("team/deployment/x")


async def test_a_lock_name_is_held_by_one_at_a_time_and_forgotten_when_free() -> None:
    locks = TargetLocks()
    order: list[str] = []

    async def use(who: str) -> None:
        async with locks.hold("wfe-1"):
            order.append(f"{who} in")
            await asyncio.sleep(0.01)
            order.append(f"{who} out")

    await asyncio.gather(use("a"), use("b"), use("c"))
    assert order == ["a in", "a out", "b in", "b out", "c in", "c out"]
    assert len(locks) == 0


class Api:
    """An API that stores the runs created (by kind) and answers GETs from them."""

    def __init__(self) -> None:
        self.runs: dict[str, dict[str, Any]] = {}
        self.holders = {"w": wfe_document({}), "j": self._job_wfe()}

    @staticmethod
    def _job_wfe() -> dict[str, Any]:
        document = wfe_document({}, name="j", uid="job-uid")
        document["spec"]["workflowRef"]["executionEngine"] = "job"
        return document

    def __call__(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        kind = "jobs" if "/jobs" in path else "pipelineruns" if "/pipelineruns" in path else ""
        if path.endswith("/events"):
            return 201, body
        if kind and method == "POST":
            if kind in self.runs:  # a name is unique per kind only
                return 409, {"kind": "Status", "reason": "AlreadyExists", "code": 409}
            self.runs[kind] = {**body, "metadata": {**body["metadata"], "uid": f"{kind}-uid"}}
            return 201, self.runs[kind]
        if kind and method == "GET" and kind in self.runs:
            return 200, self.runs[kind]
        if method == "GET" and "/workflowexecutions/" in path:
            return 200, self.holders[path.rsplit("/", 1)[-1]]
        if method == "PATCH" and "/workflowexecutions/" in path:
            name = path.split("/workflowexecutions/")[1].split("/", maxsplit=1)[0]
            document = dict(self.holders[name])
            if "/status" in path:
                document["status"] = (body or {}).get("status") or {}
            else:
                document["metadata"] = {**document["metadata"], **body.get("metadata", {})}
                document["metadata"]["resourceVersion"] = "6"
            self.holders[name] = document
            return 200, document
        return 404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404}


async def test_two_engines_racing_for_one_target_create_one_run(
    scripted_kube: KubeFactory,
) -> None:
    cache = ObjectCache()
    api = Api()
    for document in api.holders.values():
        cache.store_wfe(document)
    subject = reconciler_on(await scripted_kube(api), cache, now=lambda: NOW)
    await asyncio.gather(subject.reconcile(("team", "w")), subject.reconcile(("team", "j")))
    assert len(api.runs) == 1
    loser = [
        document
        for document in api.holders.values()
        if (document.get("status") or {}).get("phase") == "Failed"
    ]
    assert len(loser) == 1
    assert loser[0]["status"]["failureDetails"]["reason"] == FailureReason.DEDUPLICATED
