from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from kubernaut_wfe_tools.tekton_simulator.samples import (
    FAILING_BUNDLE,
    HELLO_WORLD_BUNDLE,
    sample_pipelinerun,
)
from kubernaut_wfe_tools.tekton_simulator.scenario import (
    Outcome,
    ScenarioError,
    parse_bundle,
    read_scenario,
)

LAG = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("reference", "repository", "uri", "registry", "path"),
    [
        (
            "quay.io/acme/hello-world:v1",
            "hello-world",
            "quay.io/acme/hello-world",
            "quay.io",
            "acme/hello-world",
        ),
        (
            "quay.io/acme/failing@sha256:abc",
            "failing",
            "quay.io/acme/failing",
            "quay.io",
            "acme/failing",
        ),
        (
            "quay.io/a/b/failing:v2@sha256:abc",
            "failing",
            "quay.io/a/b/failing",
            "quay.io",
            "a/b/failing",
        ),
        (
            "localhost:5000/hello-world:v1",
            "hello-world",
            "localhost:5000/hello-world",
            "localhost:5000",
            "hello-world",
        ),
        ("hello-world", "hello-world", "hello-world", "index.docker.io", "library/hello-world"),
        ("acme/failing:latest", "failing", "acme/failing", "index.docker.io", "acme/failing"),
    ],
)
def test_bundle_repository_is_the_last_segment_without_tag_or_digest(
    reference: str, repository: str, uri: str, registry: str, path: str
) -> None:
    bundle = parse_bundle(reference)
    assert (bundle.repository, bundle.uri, bundle.registry, bundle.path) == (
        repository,
        uri,
        registry,
        path,
    )


def test_pinned_bundle_digest_is_the_provenance_digest() -> None:
    assert parse_bundle("quay.io/acme/failing@sha256:abc").content_digest == "abc"
    unpinned = parse_bundle("quay.io/acme/failing:v1").content_digest
    assert len(unpinned) == 64
    assert unpinned == parse_bundle("quay.io/acme/failing:v1").content_digest


@pytest.mark.parametrize(
    ("bundle", "params", "outcome"),
    [
        (HELLO_WORLD_BUNDLE, {}, Outcome.SUCCEED),
        (HELLO_WORLD_BUNDLE, {"FAILURE_MODE": "oom"}, Outcome.SUCCEED),
        (FAILING_BUNDLE, {}, Outcome.EXIT),
        (FAILING_BUNDLE, {"FAILURE_MODE": "no-such-mode"}, Outcome.EXIT),
        (FAILING_BUNDLE, {"FAILURE_MODE": "succeed"}, Outcome.EXIT),
        (FAILING_BUNDLE, {"FAILURE_MODE": "oom"}, Outcome.OOM),
        (FAILING_BUNDLE, {"FAILURE_MODE": "tasktimeout"}, Outcome.TASK_TIMEOUT),
        (FAILING_BUNDLE, {"FAILURE_MODE": "invalid"}, Outcome.INVALID),
        (FAILING_BUNDLE, {"FAILURE_MODE": "invalid", "REQUIRED_PARAM": "x"}, Outcome.EXIT),
        (FAILING_BUNDLE, {"FAILURE_MODE": "missing"}, Outcome.MISSING),
        ("quay.io/acme/restart-workflow:v1", {}, Outcome.MISSING),
    ],
)
def test_outcome_is_chosen_by_repository_and_failure_mode(
    bundle: str, params: dict[str, str], outcome: Outcome
) -> None:
    run = sample_pipelinerun(bundle=bundle, params=params)
    assert read_scenario(run, start_lag=LAG).outcome is outcome


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (None, timedelta(hours=1)),
        ("10s", timedelta(seconds=10)),
        ("0", None),
        ("1h30m", timedelta(minutes=90)),
    ],
)
def test_pipeline_timeout_defaults_to_an_hour_and_zero_means_none(
    timeout: str | None, expected: timedelta | None
) -> None:
    run = sample_pipelinerun(timeout=timeout)
    assert read_scenario(run, start_lag=LAG).pipeline_timeout == expected


def test_delay_defaults_to_two_seconds_and_is_read_from_params() -> None:
    assert read_scenario(sample_pipelinerun(), start_lag=LAG).delay == timedelta(seconds=2)
    run = sample_pipelinerun(params={"DELAY_SECONDS": "0.5"})
    assert read_scenario(run, start_lag=LAG).delay == timedelta(seconds=0.5)


def test_task_timeout_expires_delay_seconds_after_the_step_started() -> None:
    run = sample_pipelinerun(
        bundle=FAILING_BUNDLE, params={"FAILURE_MODE": "tasktimeout", "DELAY_SECONDS": "3"}
    )
    assert read_scenario(run, start_lag=LAG).task.timeout == timedelta(seconds=4)


def _with(run: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, leaf = path.split(".")
    target = run
    for key in parents:
        target = target[key]
    target[leaf] = value
    return run


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        ("spec.params", [{"value": "x"}], r"spec\.params\[0\]\.name"),
        ("spec.timeouts", {"pipeline": "ten seconds"}, r"spec\.timeouts\.pipeline"),
        ("spec.pipelineRef", {"name": "local"}, r"spec\.pipelineRef\.resolver"),
        (
            "spec.pipelineRef",
            {"resolver": "bundles", "params": []},
            r"spec\.pipelineRef\.params\[bundle\]",
        ),
        ("metadata.uid", None, "metadata"),
    ],
)
def test_unplayable_runs_are_refused_with_the_field(path: str, value: Any, error: str) -> None:
    run = _with(sample_pipelinerun(), path, value)
    with pytest.raises(ScenarioError, match=error):
        read_scenario(run, start_lag=LAG)


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "", "1e99"])
def test_a_delay_sleep_cannot_read_fails_the_step_at_once(value: str) -> None:
    """The bundle runs `sleep "$DELAY_SECONDS"` under `set -eu`: a value sleep refuses makes the
    step exit 1 straight away (never a run that stays Running)."""
    run = _with(sample_pipelinerun(), "spec.params", [{"name": "DELAY_SECONDS", "value": value}])
    scenario = read_scenario(run, start_lag=LAG)
    assert scenario.outcome is Outcome.EXIT
    assert scenario.delay == timedelta(0)
    assert (scenario.task.pipeline_task, scenario.task.step) == ("hello", "echo")
