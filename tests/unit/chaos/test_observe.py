"""The pure parts of the chaos runner: how the workload is grouped for driving, which runs are
orphans or stale locks, and the busiest second of the controllers' requests while failing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chaos.drive import document, groups_of
from chaos.observe import max_rate_while_failing, orphans_and_stale_locks
from chaos.plan import ChaosPlan, Fault, FaultKind
from chaos.workload import Role, make_workload
from kubernaut_wfe.constants import ExecutionEngine, Label
from kubernaut_wfe_tools.emulator.faults import RequestRecord

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
COOLDOWN = timedelta(seconds=30)


def test_every_case_is_driven_once_and_each_follower_after_its_holder() -> None:
    cases = make_workload(3, 200)
    groups = groups_of(cases)
    driven = [case for group in groups for case in group]
    assert sorted(c.name for c in driven) == sorted(c.name for c in cases)
    for group in groups:
        if len(group) == 2:
            assert group[1].holder == group[0].name
            assert group[1].role in {Role.DUPLICATE, Role.COOLDOWN_WAITER, Role.DELETED_PENDING}


def test_each_engine_gets_its_shape_and_the_simulators_parameters() -> None:
    cases = {case.engine: case for case in make_workload(5, 60) if case.failure_mode}
    tekton, job = cases[ExecutionEngine.TEKTON], cases[ExecutionEngine.JOB]
    assert "containerImage" in document(tekton)["spec"]["workflowRef"]
    job_spec = document(job)["spec"]
    assert job_spec["workflowRef"]["executionEngine"] == "job"
    assert job_spec["parameters"]["FAILURE_MODE"] == job.failure_mode
    assert job_spec["targetResource"] == job.target


def run(name: str, owner: str) -> dict[str, Any]:
    labels = {Label.WORKFLOW_EXECUTION.value: owner}
    return {"kind": "Job", "metadata": {"name": name, "labels": labels}}


def wfe(phase: str, ended: datetime | None) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if ended is not None:
        status["completionTime"] = ended.isoformat().replace("+00:00", "Z")
    return {"status": status}


def test_orphans_and_locks_past_their_cooldown_are_named() -> None:
    wfes = {
        "running": wfe("Running", None),
        "just-ended": wfe("Completed", NOW - timedelta(seconds=40)),
        "long-ended": wfe("Failed", NOW - timedelta(minutes=5)),
    }
    runs = [run(f"r-{owner}", owner) for owner in [*wfes, "gone"]]
    orphans, stale = orphans_and_stale_locks(runs, wfes, COOLDOWN, NOW)
    assert orphans == ["Job r-gone"]
    assert len(stale) == 1
    assert stale[0].startswith("Job r-long-ended")


def record(at: float, verb: str = "get") -> RequestRecord:
    return RequestRecord(
        method="GET", path="/", verb=verb, resource="workflowexecutions", namespace=None,
        name=None, subresource=None, query={}, timestamp=at,
    )  # fmt: skip


def test_the_rate_is_the_busiest_five_seconds_inside_a_failing_stretch() -> None:
    plan = ChaosPlan(1, 100.0, (Fault(10.0, 20.0, FaultKind.API_500),))
    start = 1_000_000.0
    quiet = [record(start + 50.2) for _ in range(300)]
    catch_up = [record(start + 20.5) for _ in range(300)]
    burst = [record(start + 12.1) for _ in range(5)]
    loop = [record(start + 15.0 + i / 10, "patch") for i in range(50)]
    rate, what = max_rate_while_failing([*quiet, *catch_up, *burst, *loop], plan, start)
    assert rate == 10.0
    assert what == "from +15 s: patch workflowexecutions 50"
    assert max_rate_while_failing(quiet, plan, start) == (0.0, "")
