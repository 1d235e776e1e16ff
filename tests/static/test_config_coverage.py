"""Every configuration key of the controller (spec §6) is in the mapping table of the two
spellings (`core.config_keys`), settable from the chart and shown in deploy/'s ConfigMap in the
platform's spelling, and documented in docs/deployment.md with both spellings; every flag of
`run` sets one."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
import yaml

from kubernaut_wfe.commands import run
from kubernaut_wfe.core.config import ControllerConfig
from kubernaut_wfe.core.config_keys import KEY_SPELLINGS, UNSUPPORTED_PLATFORM_KEYS, platform_key
from kubernaut_wfe_tools.testing.trees import dotted_leaves

from .conftest import CHART_DIR, REPO_ROOT, Documents, find  # noqa: TID252

CHART_ONLY_ELSEWHERE = {"controller.leader_election"}
"""Set by the chart's `leaderElection.enabled`, not under `config:`."""
NOT_IN_CONFIG_FILE = {
    "execution.max_create_attempts",
    "execution.deleting_run_backoff",
    "audit.shutdown_flush_timeout",
    "audit.deletion_delivery_timeout",
}
"""Tuning knobs outside spec §6: they keep their defaults in the shipped files."""
FLAGS_OUTSIDE_THE_CONFIG = {"help", "kubeconfig", "config"}
"""Where the settings are; every other flag sets a key."""
UNSET_BY_DEFAULT = {
    "audit.ca_file",
    "audit.token_file",
    "audit.datastorage_health_url",
    "controller.leader_election_namespace",
}
"""Optional keys: deploy/ leaves them out (a comment there shows them)."""
DOCUMENTATION = REPO_ROOT / "docs" / "deployment.md"


def _model_keys() -> set[str]:
    dumped = ControllerConfig().model_dump()
    return {f"{section}.{key}" for section, keys in dumped.items() for key in keys}


def _platform(keys: set[str]) -> set[str]:
    return {platform_key(key) for key in keys}


def test_the_mapping_table_has_every_key_of_the_model_once() -> None:
    ours = [entry.ours for entry in KEY_SPELLINGS]
    platforms = [entry.platform for entry in KEY_SPELLINGS]
    assert sorted(ours) == sorted(_model_keys())
    assert len(set(platforms)) == len(platforms)
    assert not set(platforms) & (
        set(ours) - {e.ours for e in KEY_SPELLINGS if e.ours == e.platform}
    )


def test_the_model_has_the_spec_sections() -> None:
    keys = _model_keys()
    assert "execution.cooldown_period" in keys
    assert "controller.health_probe_addr" in keys
    assert "controller.leader_election_lease_duration" in keys
    assert "audit.max_retries" in keys
    assert "logging.level" in keys


def test_every_flag_sets_a_key() -> None:
    parser = argparse.ArgumentParser()
    run.configure(parser)
    flags = {action.dest for action in parser._actions} - FLAGS_OUTSIDE_THE_CONFIG
    given = argparse.Namespace(**{flag: f"<{flag}>" for flag in flags})
    keys = run.overrides(given)
    assert set(keys.values()) == {f"<{flag}>" for flag in flags}
    assert set(keys) <= _model_keys()


def test_the_chart_exposes_every_key_in_the_platforms_spelling() -> None:
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8"))
    expected = _model_keys() - CHART_ONLY_ELSEWHERE - NOT_IN_CONFIG_FILE
    assert dotted_leaves(values["config"]) == _platform(expected)


def test_deploy_shows_every_key_in_the_platforms_spelling(kustomized: Documents) -> None:
    text = find(kustomized, "ConfigMap", "kubernaut-wfe-config")["data"]["config.yaml"]
    shown = dotted_leaves(yaml.safe_load(text))
    assert shown == _platform(_model_keys() - NOT_IN_CONFIG_FILE - UNSET_BY_DEFAULT)


@pytest.mark.parametrize("entry", KEY_SPELLINGS, ids=lambda entry: entry.ours)
def test_the_key_is_documented_in_both_spellings(entry: Any) -> None:
    documentation = DOCUMENTATION.read_text(encoding="utf-8")
    assert f"| `{entry.ours}` | `{entry.platform}` |" in documentation


@pytest.mark.parametrize("key", sorted(UNSUPPORTED_PLATFORM_KEYS))
def test_the_unsupported_platform_key_is_documented(key: str) -> None:
    assert f"| `{key}` |" in DOCUMENTATION.read_text(encoding="utf-8")
