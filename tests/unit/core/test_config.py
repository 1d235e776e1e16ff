from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml

from kubernaut_wfe.core.config import ConfigError, ControllerConfig, load_config


def test_defaults_match_spec_section_6() -> None:
    config = load_config(None)
    execution, audit, controller = config.execution, config.audit, config.controller
    assert execution.namespace == "kubernaut-workflows"
    assert execution.service_account == "kubernaut-workflow-runner"
    assert execution.allowed_service_accounts == ()
    assert execution.cooldown_period == timedelta(minutes=5)
    assert execution.resync_period == timedelta(seconds=10)
    assert execution.max_create_attempts == 3
    assert execution.job_active_deadline == timedelta(minutes=30)
    assert audit.datastorage_url == "http://datastorage-service:8080"
    assert audit.timeout == timedelta(seconds=10)
    assert (audit.buffer_size, audit.batch_size) == (50000, 1000)
    assert audit.flush_interval == timedelta(seconds=1)
    assert audit.ca_file is None
    assert audit.token_file is None
    assert controller.metrics_addr == ":9090"
    assert controller.health_probe_addr == ":8081"
    assert controller.leader_election is False
    assert controller.leader_election_id == "workflowexecution.kubernaut.ai"
    assert controller.leader_election_namespace is None
    assert controller.leader_election_lease_duration == timedelta(seconds=15)
    assert controller.leader_election_renew_deadline == timedelta(seconds=10)
    assert controller.leader_election_retry_period == timedelta(seconds=2)
    assert controller.watch_timeout == timedelta(minutes=5)
    assert controller.namespaces == ()


def test_every_setting_is_documented() -> None:
    for section in ControllerConfig.model_fields.values():
        assert section.description
        model = section.annotation
        assert isinstance(model, type)
        for name, field in model.model_fields.items():
            assert field.description, name


def test_yaml_overrides_defaults_and_flags_override_yaml() -> None:
    yaml_text = """
execution:
  namespace: from-yaml
  cooldown_period: 2m
  allowed_service_accounts: [special-runner]
audit:
  datastorage_url: https://ds.example:8443
controller:
  namespaces: [a, b]
"""
    config = load_config(
        yaml_text,
        {"execution.namespace": "from-flag", "execution.cooldown_period": None},
    )
    assert config.execution.namespace == "from-flag"
    assert config.execution.cooldown_period == timedelta(minutes=2)
    assert "special-runner" in config.execution.allowed_service_accounts
    assert config.audit.datastorage_url == "https://ds.example:8443"
    assert config.controller.namespaces == ("a", "b")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", timedelta(minutes=7)), (7, timedelta(minutes=7)), ("90s", timedelta(seconds=90))],
)
def test_cooldown_flag_bare_integer_means_minutes(value: Any, expected: timedelta) -> None:
    config = load_config(None, {"execution.cooldown_period": value})
    assert config.execution.cooldown_period == expected


@pytest.mark.parametrize(
    ("yaml_text", "overrides", "message"),
    [
        (
            "execution:\n  cooldown_period: 5x\n",
            {},
            'execution.cooldown_period: invalid duration "5x"',
        ),
        (
            "",
            {"execution.cooldown_period": "-1m"},
            "execution.cooldown_period: must not be negative",
        ),
        (
            "execution:\n  resync_period: 0s\n",
            {},
            "execution.resync_period: must be greater than zero",
        ),
        (
            "execution:\n  job_active_deadline: 999ms\n",
            {},
            "execution.job_active_deadline: must be at least 1s",
        ),
        ("audit:\n  timeout: 10\n", {}, 'audit.timeout: invalid duration "10"'),
        ("audit:\n  flush_interval: soon\n", {}, 'audit.flush_interval: invalid duration "soon"'),
        (
            "audit:\n  batch_size: 5000\n",
            {},
            "audit.batch_size: Input should be less than or equal",
        ),
        (
            "audit:\n  buffer_size: 0\n",
            {},
            "audit.buffer_size: Input should be greater than or equal",
        ),
        ("audit:\n  datastorage_url: ftp://x\n", {}, "audit.datastorage_url: String should match"),
        ("execution:\n  namespace: ''\n", {}, "execution.namespace: String should have at least"),
        ("execution:\n  max_create_attempts: 0\n", {}, "execution.max_create_attempts: Input"),
        ("execution:\n  nmespace: typo\n", {}, "execution.nmespace: unknown setting"),
        ("bogus: {}\n", {}, "bogus: unknown setting"),
        ("controller:\n  leader_election: maybe\n", {}, "controller.leader_election: Input should"),
        ("- a list\n", {}, "<config file>: must be a mapping of sections"),
        ("execution: [\n", {}, "<config file>: not valid YAML"),
    ],
)
def test_validation_errors_name_the_key(
    yaml_text: str, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(yaml_text, overrides)
    assert any(line.startswith(message) for line in caught.value.problems), caught.value.problems


def test_all_problems_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config("execution:\n  cooldown_period: 5x\n  resync_period: nope\n")
    assert len(caught.value.problems) == 2
    assert "\n" in str(caught.value)


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("execution", "namespace", "Runs_Here", "is not a namespace name"),
        ("execution", "namespace", "a" * 64, "at most 63 characters"),
        ("execution", "service_account", "runner sa", "is not a Kubernetes object name"),
        ("execution", "allowed_service_accounts", ["ok", "Not-OK"], "'Not-OK' is not"),
        ("controller", "namespaces", ["team-a", "team a"], "'team a' is not a namespace name"),
        ("controller", "leader_election_id", "lease/id", "is not a Kubernetes object name"),
    ],
)
def test_names_are_checked_at_start_naming_the_key(
    section: str, key: str, value: object, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(yaml.safe_dump({section: {key: value}}))
    assert f"{section}.{key}" in str(raised.value)
    assert message in str(raised.value)


LEADER_ELECTION_ON = "controller:\n  leader_election: true\n"


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        ("leader_election_lease_duration", "1m30s", timedelta(seconds=90)),
        ("leader_election_renew_deadline", "12.5s", timedelta(seconds=12.5)),
        ("leader_election_retry_period", "1500ms", timedelta(seconds=1.5)),
        ("watch_timeout", "1h", timedelta(hours=1)),
        ("watch_timeout", "1s", timedelta(seconds=1)),
    ],
)
def test_operation_timings_are_go_durations(key: str, text: str, expected: timedelta) -> None:
    from_file = load_config(yaml.safe_dump({"controller": {key: text}}))
    from_flag = load_config(None, {f"controller.{key}": text})
    assert getattr(from_file.controller, key) == getattr(from_flag.controller, key) == expected


def test_a_flag_timing_beats_the_file() -> None:
    config = load_config(
        "controller:\n  watch_timeout: soon\n  leader_election_namespace: Not_A_Name\n",
        {"controller.watch_timeout": "2m", "controller.leader_election_namespace": "leases"},
    )
    assert config.controller.watch_timeout == timedelta(minutes=2)
    assert config.controller.leader_election_namespace == "leases"


def test_the_timings_order_is_only_checked_with_leader_election() -> None:
    text = "controller:\n  leader_election_retry_period: 20s\n"
    assert load_config(text).controller.leader_election_retry_period == timedelta(seconds=20)
    with pytest.raises(ConfigError) as raised:
        load_config(text, {"controller.leader_election": True})
    assert raised.value.problems == [
        "controller.leader_election_retry_period: 20s must be shorter than "
        "controller.leader_election_renew_deadline (10s)"
    ]


@pytest.mark.parametrize(
    ("timings", "message"),
    [
        (
            {"leader_election_lease_duration": "10s"},
            "controller.leader_election_renew_deadline: 10s must be shorter than "
            "controller.leader_election_lease_duration (10s)",
        ),
        (
            {"leader_election_renew_deadline": "2s"},
            "controller.leader_election_retry_period: 2s must be shorter than "
            "controller.leader_election_renew_deadline (2s)",
        ),
        (
            {"leader_election_renew_deadline": "1.5s", "leader_election_retry_period": "1500ms"},
            "controller.leader_election_retry_period: 1.5s must be shorter than "
            "controller.leader_election_renew_deadline (1.5s)",
        ),
        (
            {"leader_election_lease_duration": "1s", "leader_election_retry_period": "5s"},
            "controller.leader_election_renew_deadline: 10s must be shorter than "
            "controller.leader_election_lease_duration (1s)",
        ),
    ],
)
def test_leader_election_timings_must_be_ordered(timings: dict[str, str], message: str) -> None:
    overrides = {f"controller.{key}": value for key, value in timings.items()}
    with pytest.raises(ConfigError) as raised:
        load_config(LEADER_ELECTION_ON, overrides)
    assert raised.value.problems == [message]


def test_ordered_timings_are_taken() -> None:
    config = load_config(
        LEADER_ELECTION_ON,
        {
            "controller.leader_election_lease_duration": "4s",
            "controller.leader_election_renew_deadline": "3s",
            "controller.leader_election_retry_period": "1s",
        },
    )
    assert config.controller.leader_election_retry_period == timedelta(seconds=1)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("leader_election_lease_duration", "0s", "must be greater than zero"),
        ("leader_election_renew_deadline", "0", "must be greater than zero"),
        ("leader_election_retry_period", "-2s", "must be greater than zero"),
        ("watch_timeout", "0s", "must be at least 1s"),
        ("watch_timeout", "400ms", "must be at least 1s"),
        ("watch_timeout", 300, 'invalid duration "300" (missing unit, e.g. "300s")'),
        ("leader_election_lease_duration", "15", 'invalid duration "15"'),
        ("leader_election_retry_period", True, "true is a boolean, not a number or a duration"),
        ("leader_election_renew_deadline", "P10S", 'invalid duration "P10S"'),
        ("leader_election_namespace", "Lease NS", "'Lease NS' is not a namespace name"),
        ("leader_election_namespace", "", "'' is not a namespace name"),
        ("leader_election_namespace", "a" * 64, "(DNS-1123 label, at most 63)"),
        ("leader_election_namespace", 7, "Input should be a valid string"),
    ],
)
def test_bad_operation_settings_name_the_key(key: str, value: object, message: str) -> None:
    for enabled in (False, True):
        with pytest.raises(ConfigError) as raised:
            load_config(yaml.safe_dump({"controller": {"leader_election": enabled, key: value}}))
        [problem] = raised.value.problems
        assert problem.startswith(f"controller.{key}: ")
        assert message in problem
