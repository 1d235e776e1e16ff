"""The WFEs of a chaos run, from its seed: mixed outcomes on both engines, duplicates on busy
targets, cooldown waiters, deletions while Pending and while Running, runs deleted by someone
else; each with what it must end as and which audit events it owes (`audit.md` §1)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from kubernaut_wfe.constants import AuditEventType, ExecutionEngine, FailureReason

SELECTED = AuditEventType.SELECTION_COMPLETED
STARTED = AuditEventType.EXECUTION_STARTED
COMPLETED = AuditEventType.WORKFLOW_COMPLETED
FAILED = AuditEventType.WORKFLOW_FAILED
RAN_TO_SUCCESS = (SELECTED, STARTED, COMPLETED)
RAN_AND_FAILED = (SELECTED, STARTED, FAILED)

TEKTON_FAILURES: dict[str, FailureReason] = {
    "exit": FailureReason.TASK_FAILED,
    "oom": FailureReason.OOM_KILLED,
    "imagepull": FailureReason.IMAGE_PULL_BACK_OFF,
    "forbidden": FailureReason.FORBIDDEN,
    "quota": FailureReason.RESOURCE_EXHAUSTED,
    "invalid": FailureReason.CONFIGURATION_ERROR,
    "missing": FailureReason.CONFIGURATION_ERROR,
}
"""The Tekton simulator's FAILURE_MODE values and the reason each ends with (the examples'
`# outcome:` lines say the same)."""
JOB_FAILURES: dict[str, FailureReason] = {
    "exit": FailureReason.TASK_FAILED,
    "oom": FailureReason.OOM_KILLED,
    "imagepull": FailureReason.IMAGE_PULL_BACK_OFF,
    "config": FailureReason.CONFIGURATION_ERROR,
}
"""The node stand-in's FAILURE_MODE values and the reason each ends with."""


QUICK_DELAY = 2
"""Seconds a quick run lasts."""
LONG_DELAY = 120
"""Seconds a long run lasts: still running when its follower comes or its deletion does."""


ALSO: dict[tuple[ExecutionEngine, str], tuple[FailureReason, ...]] = {
    (ExecutionEngine.TEKTON, "quota"): (FailureReason.DEADLINE_EXCEEDED,),
}
"""A TaskRun over its quota that times out keeps only the timeout in its final status: a
controller that never saw it blocked (a stalled watch, a new leader) can say no more than
DeadlineExceeded, which is true."""


class Role(StrEnum):
    RUN = "run"
    """Runs to its mode's outcome."""
    DUPLICATE = "duplicate"
    """Created while its holder runs on the same target: Deduplicated."""
    COOLDOWN_WAITER = "cooldown-waiter"
    """Created while its holder's lock is in its cooldown: waits, then runs and completes."""
    DELETED_PENDING = "deleted-pending"
    """Deleted while it waits behind a cooldown: gone, owing nothing."""
    DELETED_RUNNING = "deleted-running"
    """Deleted while its run goes on: gone, owing workflow.failed (the spool keeps it)."""
    RUN_DELETED = "run-deleted"
    """Its run is deleted by someone else while it runs: Failed, Unknown."""


@dataclass(frozen=True)
class Expected:
    phase: str | None
    """None: the WFE is gone (deleted)."""
    reason: FailureReason | None
    events: tuple[AuditEventType, ...]
    also: tuple[FailureReason, ...] = ()
    """Other reasons that are right too."""


@dataclass(frozen=True)
class Case:
    name: str
    engine: ExecutionEngine
    target: str
    role: Role
    failure_mode: str | None
    """None: the run succeeds."""
    delay_seconds: int
    holder: str | None
    """The WFE already holding the target (duplicates, waiters, deletions while Pending)."""
    expected: Expected


WEIGHTS: dict[Role, int] = {
    Role.RUN: 60,
    Role.DUPLICATE: 8,
    Role.COOLDOWN_WAITER: 8,
    Role.DELETED_PENDING: 6,
    Role.DELETED_RUNNING: 12,
    Role.RUN_DELETED: 6,
}


def make_workload(seed: int, count: int, long_delay: int = LONG_DELAY) -> list[Case]:
    """`count` WFEs for `seed` (the same seed, the same WFEs); holders come before the WFEs
    that meet them. Long runs (busy holders, runs deleted while running) last `long_delay`
    seconds."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible mix, not a secret
    roles = list(WEIGHTS)
    cases: list[Case] = []
    while len(cases) < count:
        role = rng.choices(roles, weights=[WEIGHTS[r] for r in roles])[0]
        engine = rng.choice((ExecutionEngine.TEKTON, ExecutionEngine.JOB))
        index = len(cases)
        if role is Role.RUN:
            cases.append(_run(rng, index, engine))
            continue
        long = role in {Role.DUPLICATE, Role.RUN_DELETED}
        holder = _holder(index, engine, long_delay if long else QUICK_DELAY)
        if role in {Role.DUPLICATE, Role.COOLDOWN_WAITER, Role.DELETED_PENDING}:
            cases.append(holder)
            cases.append(_follower(role, index + 1, engine, holder, long_delay))
        else:
            cases.append(_follower(role, index, engine, holder, long_delay))
    return cases[:count]


def _run(rng: random.Random, index: int, engine: ExecutionEngine) -> Case:
    failures = TEKTON_FAILURES if engine is ExecutionEngine.TEKTON else JOB_FAILURES
    mode = rng.choice([None, None, *failures])
    expected = (
        Expected("Completed", None, RAN_TO_SUCCESS)
        if mode is None
        else Expected("Failed", failures[mode], RAN_AND_FAILED, ALSO.get((engine, mode), ()))
    )
    name = f"chaos-{index:04d}"
    return Case(name, engine, _target(name), Role.RUN, mode, QUICK_DELAY, None, expected)


def _holder(index: int, engine: ExecutionEngine, delay: int) -> Case:
    """A WFE that takes a target first: long-running (still running when the follower comes)
    or quick (its lock then in its cooldown)."""
    name = f"chaos-{index:04d}"
    return Case(
        name,
        engine,
        _target(name),
        Role.RUN,
        None,
        delay,
        None,
        Expected("Completed", None, RAN_TO_SUCCESS),
    )


def _follower(
    role: Role, index: int, engine: ExecutionEngine, holder: Case, long_delay: int
) -> Case:
    name = f"chaos-{index:04d}"
    target = holder.target
    if role is Role.DUPLICATE:
        expected = Expected("Failed", FailureReason.DEDUPLICATED, (FAILED,))
    elif role is Role.COOLDOWN_WAITER:
        expected = Expected("Completed", None, RAN_TO_SUCCESS)
    elif role is Role.DELETED_PENDING:
        expected = Expected(None, None, ())
    elif role is Role.DELETED_RUNNING:  # on a target of its own
        return Case(
            name,
            engine,
            _target(name),
            role,
            None,
            long_delay,
            None,
            Expected(None, None, RAN_AND_FAILED),
        )
    else:  # RUN_DELETED: the holder itself is the one whose run goes
        return Case(
            holder.name,
            engine,
            holder.target,
            Role.RUN_DELETED,
            None,
            long_delay,
            None,
            Expected("Failed", FailureReason.UNKNOWN, RAN_AND_FAILED),
        )
    return Case(name, engine, target, role, None, QUICK_DELAY, holder.name, expected)


def _target(name: str) -> str:
    return f"default/deployment/{name}"
