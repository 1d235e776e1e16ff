"""The configuration file in the platform's spelling (platform contract 2026-08 §8): the
platform's own file loads, each of its keys lands on ours, both spellings mean the same, and every
refusal names the key as the file wrote it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml

from kubernaut_wfe.core.config import (
    ConfigError,
    ControllerConfig,
    LogFormat,
    LogLevel,
    effective_settings,
    load_config,
    read_config,
    without_user_info,
)
from kubernaut_wfe.core.config_keys import KEY_SPELLINGS
from kubernaut_wfe_tools.testing.oracles import UPSTREAM_CONFIG

UPSTREAM_TEXT = UPSTREAM_CONFIG.read_text(encoding="utf-8")

# Each key of the platform's file: another valid value, and where it must land in our model
# (written out here, not taken from the mapping table, so that a wrong row fails).
UPSTREAM_KEYS: dict[str, tuple[Any, Any]] = {
    "execution.namespace": ("runs-elsewhere", lambda c: c.execution.namespace),
    "execution.cooldownPeriod": ("7m", lambda c: c.execution.cooldown_period),
    "datastorage.url": ("https://ds.example:8443", lambda c: c.audit.datastorage_url),
    "datastorage.timeout": ("3s", lambda c: c.audit.timeout),
    "datastorage.buffer.bufferSize": (777, lambda c: c.audit.buffer_size),
    "datastorage.buffer.batchSize": (77, lambda c: c.audit.batch_size),
    "datastorage.buffer.flushInterval": ("250ms", lambda c: c.audit.flush_interval),
    "datastorage.buffer.maxRetries": (9, lambda c: c.audit.max_retries),
    "controller.metricsAddr": ("127.0.0.1:19090", lambda c: c.controller.metrics_addr),
    "controller.healthProbeAddr": ("127.0.0.1:18081", lambda c: c.controller.health_probe_addr),
    "controller.leaderElection": (True, lambda c: c.controller.leader_election),
    "controller.leaderElectionId": ("other-lease", lambda c: c.controller.leader_election_id),
}
LANDED = {
    "execution.cooldownPeriod": timedelta(minutes=7),
    "datastorage.timeout": timedelta(seconds=3),
    "datastorage.buffer.flushInterval": timedelta(milliseconds=250),
}


def _leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    leaves: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            leaves.update(_leaves(value, f"{prefix}{key}."))
        else:
            leaves[f"{prefix}{key}"] = value
    return leaves


def _with(dotted: str, value: Any, tree: dict[str, Any]) -> dict[str, Any]:
    *sections, leaf = dotted.split(".")
    node = tree
    for section in sections:
        node = node.setdefault(section, {})
    node[leaf] = value
    return tree


def test_the_platforms_file_loads_with_its_values() -> None:
    config = load_config(UPSTREAM_TEXT)
    assert config.execution.namespace == "kubernaut-workflows"
    assert config.execution.cooldown_period == timedelta(minutes=5)
    assert config.audit.datastorage_url == "http://data-storage-service:8080"
    assert config.audit.timeout == timedelta(seconds=10)
    assert (config.audit.buffer_size, config.audit.batch_size) == (10000, 100)
    assert config.audit.flush_interval == timedelta(seconds=1)
    assert config.audit.max_retries == 3
    assert (config.controller.metrics_addr, config.controller.health_probe_addr) == (
        ":9090",
        ":8081",
    )
    assert config.controller.leader_election is False
    assert config.controller.leader_election_id == "workflowexecution.kubernaut.ai"


def test_the_table_covers_every_key_of_the_platforms_file() -> None:
    assert set(_leaves(yaml.safe_load(UPSTREAM_TEXT))) == set(UPSTREAM_KEYS)


@pytest.mark.parametrize("key", sorted(UPSTREAM_KEYS))
def test_each_key_of_the_platforms_file_takes_effect(key: str) -> None:
    value, where = UPSTREAM_KEYS[key]
    changed = load_config(yaml.safe_dump(_with(key, value, yaml.safe_load(UPSTREAM_TEXT))))
    assert where(changed) == LANDED.get(key, value)
    assert where(changed) != where(load_config(UPSTREAM_TEXT))


# A valid value other than the default for every key, in our spelling.
SAMPLES: dict[str, Any] = {
    "execution.namespace": "runs",
    "execution.service_account": "runner-b",
    "execution.allowed_service_accounts": ["runner-c"],
    "execution.cooldown_period": "2m",
    "execution.resync_period": "20s",
    "execution.max_create_attempts": 5,
    "execution.deleting_run_backoff": "3s",
    "execution.max_run_timeout": "2h",
    "execution.job_active_deadline": "45m",
    "audit.datastorage_url": "https://ds.example:8443",
    "audit.datastorage_health_url": "https://ds.example:8081/readyz",
    "audit.timeout": "4s",
    "audit.buffer_size": 2000,
    "audit.batch_size": 50,
    "audit.flush_interval": "100ms",
    "audit.max_retries": 0,
    "audit.require_datastorage_for_readiness": True,
    "audit.ca_file": "/etc/ca.crt",
    "audit.token_file": "/etc/token",
    "audit.shutdown_flush_timeout": "20s",
    "audit.deletion_delivery_timeout": "9s",
    "audit.datastorage_contract": "2026-01",
    "controller.metrics_addr": ":19090",
    "controller.health_probe_addr": ":18081",
    "controller.leader_election": True,
    "controller.leader_election_id": "lease-b",
    "controller.leader_election_namespace": "leases",
    "controller.leader_election_lease_duration": "30s",
    "controller.leader_election_renew_deadline": "20s",
    "controller.leader_election_retry_period": "4s",
    "controller.watch_timeout": "1m",
    "controller.namespaces": ["team-a"],
    "logging.level": "DEBUG",
    "logging.format": "text",
}


def _file(spelling: str) -> str:
    tree: dict[str, Any] = {}
    for entry in KEY_SPELLINGS:
        _with(getattr(entry, spelling), SAMPLES[entry.ours], tree)
    return yaml.safe_dump(tree)


def test_every_key_has_a_sample() -> None:
    assert set(SAMPLES) == {entry.ours for entry in KEY_SPELLINGS}
    dumped = ControllerConfig().model_dump()
    assert set(SAMPLES) == {f"{section}.{key}" for section in dumped for key in dumped[section]}


def test_both_spellings_of_a_whole_file_load_the_same_non_default_settings() -> None:
    ours, platforms = load_config(_file("ours")), load_config(_file("platform"))
    assert ours == platforms
    default = effective_settings(ControllerConfig())
    changed = effective_settings(platforms)
    assert [key for key in default if default[key] == changed[key]] == []


def test_a_file_may_mix_the_spellings() -> None:
    config = load_config(
        "execution: {cooldownPeriod: 2m, service_account: runner-b}\n"
        "audit: {ca_file: /etc/ca.crt}\n"
        "datastorage: {url: 'http://ds:8080', buffer: {maxRetries: 5}}\n"
    )
    assert config.execution.cooldown_period == timedelta(minutes=2)
    assert config.execution.service_account == "runner-b"
    assert config.audit.ca_file == "/etc/ca.crt"
    assert (config.audit.datastorage_url, config.audit.max_retries) == ("http://ds:8080", 5)


def test_the_platforms_defaults_do_not_replace_ours() -> None:
    config = load_config("datastorage: {url: 'http://ds:8080'}\n")
    assert (config.audit.buffer_size, config.audit.batch_size) == (50000, 1000)


def _problems(text: str, overrides: dict[str, Any] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_config(text, overrides)
    return raised.value.problems


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "execution: {cooldownPeriod: 5m, cooldown_period: 1m}",
            "execution.cooldown_period: the same setting as execution.cooldownPeriod; give it once",
        ),
        (
            "audit: {batch_size: 10}\ndatastorage: {buffer: {batchSize: 20}}",
            "datastorage.buffer.batchSize: the same setting as audit.batch_size; give it once",
        ),
        ("datastorage: {bufferSize: 10}", "datastorage.bufferSize: unknown setting"),
        ("datastorage: {buffer: {maxRetry: 1}}", "datastorage.buffer.maxRetry: unknown setting"),
        ("controller: {metricsAddress: ':9090'}", "controller.metricsAddress: unknown setting"),
        ("datastorage: {buffer: 100}", "datastorage.buffer: Input should be a valid dictionary"),
        (
            "datastorage: {buffer: {maxRetries: -1}}",
            "datastorage.buffer.maxRetries: Input should be greater than or equal to 0",
        ),
        (
            "datastorage: {buffer: {maxRetries: true}}",
            "datastorage.buffer.maxRetries: true is a boolean, not a number or a duration",
        ),
        (
            "datastorage: {url: 'data-storage-service:8080'}",
            "datastorage.url: String should match pattern '^https?://'",
        ),
        (
            "datastorage: {healthUrl: 'http://ds:8080/readyz?x=1'}",
            "datastorage.healthUrl: 'http://ds:8080/readyz?x=1' has a query or a fragment",
        ),
        (
            "execution: {cooldownPeriod: soon}",
            'execution.cooldownPeriod: invalid duration "soon"',
        ),
        (
            "logging: {level: verbose}",
            "logging.level: Input should be 'DEBUG', 'INFO', 'WARN' or 'ERROR'",
        ),
        ("logging: {format: xml}", "logging.format: Input should be 'json' or 'text'"),
        ("ansible: {apiURL: 'https://awx'}", "ansible: the Ansible (AWX) engine is not part"),
        ("fleet: {endpoint: ''}", "fleet: remote clusters (the fleet gateway) are not supported"),
        ("tlsProfile: Modern", "tlsProfile: TLS profiles are not supported"),
        ("tekton: {enabled: false}", "tekton.enabled: only true is supported"),
        ("tekton: {auto: true}", "tekton.auto: unknown setting"),
    ],
)
def test_refusals_name_the_key_as_written(text: str, problem: str) -> None:
    problems = _problems(text)
    assert any(line.startswith(problem) for line in problems), problems


def test_a_file_in_the_platforms_spelling_hears_of_other_keys_in_it() -> None:
    assert _problems("controller: {leaderElection: true, leaderElectionLeaseDuration: 5s}") == [
        "controller.leaderElectionRenewDeadline: 10s must be shorter than "
        "controller.leaderElectionLeaseDuration (5s)"
    ]


def test_a_flag_is_named_as_ours_over_a_file_in_the_platforms_spelling() -> None:
    assert _problems("execution: {cooldownPeriod: 5m}", {"execution.cooldown_period": "-1m"}) == [
        "execution.cooldown_period: must not be negative"
    ]


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems("tlsProfile: Old\nexecution: {cooldownPeriod: soon, surprise: 1}\n")
    assert len(problems) == 3


def test_tekton_enabled_true_is_accepted() -> None:
    assert load_config("tekton: {enabled: true}") == load_config(None)


@pytest.mark.parametrize(
    ("level", "expected"),
    [("debug", LogLevel.DEBUG), ("Info", LogLevel.INFO), ("WARNING", LogLevel.WARN)],
)
def test_log_levels_are_read_in_any_case(level: str, expected: LogLevel) -> None:
    assert load_config(f"logging: {{level: {level}}}").logging.level is expected


def test_console_is_the_text_format_and_the_flag_overrides_the_file() -> None:
    assert load_config("logging: {format: console}").logging.format is LogFormat.TEXT
    overridden = load_config("logging: {format: console}", {"logging.format": "json"})
    assert overridden.logging.format is LogFormat.JSON


def test_the_values_flags_replaced_are_kept_for_the_log() -> None:
    loaded = read_config(UPSTREAM_TEXT, {"controller.metrics_addr": "127.0.0.1:0"})
    assert loaded.config.controller.metrics_addr == "127.0.0.1:0"
    assert loaded.replaced_by_flags == {"controller.metrics_addr": ":9090"}


def test_effective_settings_show_every_key_and_no_user_info() -> None:
    config = load_config("datastorage: {url: 'https://user:s3cret@ds.example:8443'}")
    settings = effective_settings(config)
    assert set(settings) == set(SAMPLES)
    assert settings["audit.datastorage_url"] == "https://ds.example:8443"
    assert settings["execution.cooldown_period"] == "300s"
    assert settings["logging.level"] == "INFO"
    assert "s3cret" not in str(settings)


def test_without_user_info_keeps_urls_without_any() -> None:
    assert without_user_info("http://ds:8080/x") == "http://ds:8080/x"
    assert without_user_info("http://a:b@ds:8080/x") == "http://ds:8080/x"
