"""The chaos run's WFEs: reproducible from the seed, every role and failure mode present, holders
before the WFEs that meet them, and each WFE owing the audit events `audit.md` §1 says."""

from __future__ import annotations

from collections import Counter

from chaos.workload import (
    FAILED,
    JOB_FAILURES,
    RAN_AND_FAILED,
    RAN_TO_SUCCESS,
    TEKTON_FAILURES,
    Role,
    make_workload,
)
from kubernaut_wfe.constants import ExecutionEngine, FailureReason


def test_the_same_seed_gives_the_same_wfes() -> None:
    assert make_workload(5, 200) == make_workload(5, 200)
    assert make_workload(5, 200) != make_workload(6, 200)


def test_five_hundred_wfes_hold_every_role_and_every_failure_mode() -> None:
    cases = make_workload(11, 500)
    assert len(cases) == 500
    assert len({case.name for case in cases}) == 500
    assert set(Counter(case.role for case in cases)) == set(Role)
    for engine, modes in (
        (ExecutionEngine.TEKTON, TEKTON_FAILURES),
        (ExecutionEngine.JOB, JOB_FAILURES),
    ):
        seen = {c.failure_mode for c in cases if c.engine is engine and c.role is Role.RUN}
        assert set(modes) | {None} == seen, engine


def test_a_holder_comes_before_the_wfe_that_meets_it_on_its_target() -> None:
    cases = make_workload(3, 300)
    position = {case.name: index for index, case in enumerate(cases)}
    targets = {case.name: case.target for case in cases}
    for case in cases:
        if case.holder is not None:
            assert position[case.holder] < position[case.name]
            assert targets[case.holder] == case.target


def test_each_role_owes_the_events_of_its_end() -> None:
    for case in make_workload(8, 300):
        expected = case.expected
        if case.role is Role.DUPLICATE:
            assert (expected.phase, expected.reason, expected.events) == (
                "Failed",
                FailureReason.DEDUPLICATED,
                (FAILED,),
            )
        elif case.role is Role.DELETED_PENDING:
            assert (expected.phase, expected.events) == (None, ())
        elif case.role is Role.DELETED_RUNNING:
            assert (expected.phase, expected.events) == (None, RAN_AND_FAILED)
        elif case.role is Role.RUN_DELETED:
            assert (expected.reason, expected.events) == (FailureReason.UNKNOWN, RAN_AND_FAILED)
        elif expected.phase == "Completed":
            assert expected.events == RAN_TO_SUCCESS
        else:
            assert expected.events == RAN_AND_FAILED
