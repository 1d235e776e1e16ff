"""Reading a pod: the mode, the delay, the exit code, the dependencies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from kubernaut_wfe_tools.node_simulator.scenario import (
    Dependency,
    DependencyKind,
    Outcome,
    PodScenario,
    ScenarioError,
    creation_rank,
    read_scenario,
    with_disruption_rank,
    with_missing,
)

MakeScenario = Callable[..., PodScenario]
MakePod = Callable[..., dict[str, Any]]


def test_a_pod_without_mode_succeeds_after_two_seconds(scenario_of: MakeScenario) -> None:
    scenario = scenario_of()
    assert scenario.outcome is Outcome.SUCCEED
    assert scenario.delay == timedelta(seconds=2)
    assert scenario.container == "workflow"
    assert scenario.job_name == "wfe-f3457dcc8fbcb6d9"
    assert scenario.pull_always is False


@pytest.mark.parametrize(
    ("mode", "outcome"),
    [
        ("exit", Outcome.EXIT),
        ("oom", Outcome.OOM),
        ("imagepull", Outcome.IMAGE_PULL),
        ("config", Outcome.CONFIG),
        ("timeout", Outcome.TIMEOUT),
        ("disruption", Outcome.DISRUPTION),
        ("", Outcome.SUCCEED),
        ("no-such-mode", Outcome.EXIT),
        ("missing-dependency", Outcome.EXIT),
        ("succeed", Outcome.EXIT),
    ],
)
def test_failure_mode_chooses_the_outcome(
    mode: str, outcome: Outcome, scenario_of: MakeScenario
) -> None:
    assert scenario_of({"FAILURE_MODE": mode}).outcome is outcome


@pytest.mark.parametrize(("text", "delay"), [("0", 0.0), ("5", 5.0), ("0.5", 0.5), ("", 2.0)])
def test_delay_seconds(text: str, delay: float, scenario_of: MakeScenario) -> None:
    assert scenario_of({"DELAY_SECONDS": text}).delay == timedelta(seconds=delay)


@pytest.mark.parametrize("text", ["soon", "-1", "nan", "inf"])
def test_a_delay_sleep_would_refuse_exits_1_at_once(text: str, scenario_of: MakeScenario) -> None:
    scenario = scenario_of({"DELAY_SECONDS": text, "FAILURE_MODE": "timeout"})
    assert (scenario.outcome, scenario.delay, scenario.exit_code) == (
        Outcome.EXIT,
        timedelta(0),
        1,
    )


@pytest.mark.parametrize(("text", "code"), [(None, 1), ("3", 3), ("0", 0), ("256", 1), ("x", 1)])
def test_exit_code(text: str | None, code: int, scenario_of: MakeScenario) -> None:
    env = {"FAILURE_MODE": "exit"} | ({"EXIT_CODE": text} if text is not None else {})
    assert scenario_of(env).exit_code == code


@pytest.mark.parametrize(("text", "count"), [(None, 1), ("2", 2), ("0", 0), ("many", 1)])
def test_disruptions(text: str | None, count: int, scenario_of: MakeScenario) -> None:
    env = {"FAILURE_MODE": "disruption"} | ({"DISRUPTIONS": text} if text is not None else {})
    assert scenario_of(env).disruptions == count


def test_variables_from_elsewhere_are_not_read(make_pod: MakePod) -> None:
    pod = make_pod()
    container = pod["spec"]["containers"][0]
    container["env"].append(
        {"name": "FAILURE_MODE", "valueFrom": {"configMapKeyRef": {"name": "m", "key": "k"}}}
    )
    assert read_scenario(pod).outcome is Outcome.SUCCEED


def test_secret_and_config_map_volumes_are_dependencies_in_order(scenario_of: MakeScenario) -> None:
    scenario = scenario_of(secrets=["db", "api"], config_maps=["settings"])
    assert scenario.dependencies == (
        Dependency("secret-db", DependencyKind.SECRET, "db"),
        Dependency("secret-api", DependencyKind.SECRET, "api"),
        Dependency("configmap-settings", DependencyKind.CONFIG_MAP, "settings"),
    )


def test_optional_volumes_and_other_sources_are_not_dependencies(make_pod: MakePod) -> None:
    pod = make_pod(secrets=["db"])
    pod["spec"]["volumes"][0]["secret"]["optional"] = True
    pod["spec"]["volumes"].append({"name": "token", "projected": {"sources": []}})
    assert read_scenario(pod).dependencies == ()


def test_a_missing_dependency_wins_over_any_mode(scenario_of: MakeScenario) -> None:
    scenario = scenario_of({"FAILURE_MODE": "imagepull"}, secrets=["db"], config_maps=["cm"])
    missing = with_missing(scenario, [scenario.dependencies[1]])
    assert missing.outcome is Outcome.MISSING_DEPENDENCY
    assert missing.missing == (scenario.dependencies[1],)
    assert with_missing(scenario, []) == scenario


@pytest.mark.parametrize(("rank", "outcome"), [(0, Outcome.DISRUPTION), (1, Outcome.SUCCEED)])
def test_only_the_first_pods_of_a_job_are_disrupted(
    rank: int, outcome: Outcome, scenario_of: MakeScenario
) -> None:
    scenario = scenario_of({"FAILURE_MODE": "disruption"})
    assert with_disruption_rank(scenario, rank).outcome is outcome


def test_rank_does_not_change_other_modes(scenario_of: MakeScenario) -> None:
    scenario = scenario_of({"FAILURE_MODE": "exit"})
    assert with_disruption_rank(scenario, 0) == scenario


def _created(name: str, at: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "creationTimestamp": at}}


def test_creation_rank_counts_older_pods_then_names() -> None:
    first = _created("job-b", "2025-06-01T10:00:00Z")
    same_second = _created("job-a", "2025-06-01T10:00:00Z")
    later = _created("job-c", "2025-06-01T10:00:09Z")
    siblings = [later, first, same_second]
    assert [creation_rank(pod, siblings) for pod in (same_second, first, later)] == [0, 1, 2]


@pytest.mark.parametrize(
    "broken",
    [
        lambda pod: pod["metadata"].pop("uid"),
        lambda pod: pod["spec"].update(containers=[]),
    ],
)
def test_a_pod_that_cannot_be_played_is_refused(broken: Any, make_pod: MakePod) -> None:
    pod = make_pod()
    broken(pod)
    with pytest.raises(ScenarioError):
        read_scenario(pod)
