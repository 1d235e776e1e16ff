"""The container runtime's memory cgroup paths and OOM verdicts (pure)."""

from __future__ import annotations

import pytest

from kubernaut_wfe_tools.node_simulator.runtime.cgroups import (
    cgroup_name,
    counter,
    oom_killed_v1,
    oom_killed_v2,
    own_cgroup_path,
)

PROC_SELF_CGROUP_V1 = (
    "9:name=systemd:/\n5:devices:/\n4:memory:/process_api/a003c163\n2:cpu,cpuacct:/\n0::/\n"
)
PROC_SELF_CGROUP_V2 = "0::/user.slice/session-3.scope\n"


def test_the_own_memory_cgroup_is_read_per_hierarchy() -> None:
    assert own_cgroup_path(PROC_SELF_CGROUP_V1, 1) == "/process_api/a003c163"
    assert own_cgroup_path(PROC_SELF_CGROUP_V1, 2) == "/"
    assert own_cgroup_path(PROC_SELF_CGROUP_V2, 2) == "/user.slice/session-3.scope"
    assert own_cgroup_path(PROC_SELF_CGROUP_V2, 1) is None


def test_a_memory_controller_listed_with_others_counts() -> None:
    assert own_cgroup_path("3:cpu,memory:/a/b\n", 1) == "/a/b"


def test_each_container_start_has_its_own_cgroup() -> None:
    assert cgroup_name("3f2a9c1b7d", "controller", 2) == "kwfe-3f2a9c1b7d-controller-2"


def test_counters_are_read_by_key() -> None:
    text = "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"
    assert counter(text, "oom_kill") == 2
    assert counter(text, "oom") is None


@pytest.mark.parametrize(
    ("oom_control", "failcnt", "code", "killed"),
    [
        ("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n", "12", 137, True),
        ("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", "12", 137, False),
        ("oom_kill_disable 0\nunder_oom 0\n", "12", 137, True),
        ("oom_kill_disable 0\nunder_oom 0\n", "12", 1, False),
        ("oom_kill_disable 0\nunder_oom 0\n", "0", 137, False),
    ],
)
def test_v1_oom_kills_are_counted_or_inferred(
    oom_control: str, failcnt: str, code: int, killed: bool
) -> None:
    assert oom_killed_v1(oom_control, failcnt, code) is killed


def test_v2_oom_kills_are_counted_in_memory_events() -> None:
    assert oom_killed_v2("low 0\nhigh 0\nmax 40\noom 1\noom_kill 1\n") is True
    assert oom_killed_v2("low 0\nhigh 0\nmax 40\noom 1\noom_kill 0\n") is False
    assert oom_killed_v2("") is False
