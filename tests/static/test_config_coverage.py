"""Every configuration key of the controller (spec §6) is settable from the chart, shown in
deploy/'s ConfigMap and documented in docs/deployment.md; every flag of `run` sets one."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
import yaml

from kubernaut_wfe.commands import run
from kubernaut_wfe.core.config import ControllerConfig

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
FLAGS_OUTSIDE_THE_CONFIG = {"help", "kubeconfig", "config", "log_format"}
"""Where the settings are and how to log (before they are read); every other flag sets a key."""
UNSET_BY_DEFAULT = {"audit.ca_file", "audit.token_file", "controller.leader_election_namespace"}
"""Optional keys: deploy/ leaves them out (a comment there shows them)."""


def _model_keys() -> set[str]:
    return _keys(ControllerConfig().model_dump())


def _keys(tree: dict[str, Any]) -> set[str]:
    return {f"{section}.{key}" for section, keys in tree.items() for key in keys}


def test_the_model_has_the_spec_sections() -> None:
    keys = _model_keys()
    assert "execution.cooldown_period" in keys
    assert "controller.health_probe_addr" in keys
    assert "controller.leader_election_lease_duration" in keys


def test_every_flag_sets_a_key() -> None:
    parser = argparse.ArgumentParser()
    run.configure(parser)
    flags = {action.dest for action in parser._actions} - FLAGS_OUTSIDE_THE_CONFIG
    given = argparse.Namespace(**{flag: f"<{flag}>" for flag in flags})
    keys = run.overrides(given)
    assert set(keys.values()) == {f"<{flag}>" for flag in flags}
    assert set(keys) <= _model_keys()


def test_the_chart_exposes_every_key() -> None:
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8"))
    assert _keys(values["config"]) == _model_keys() - CHART_ONLY_ELSEWHERE - NOT_IN_CONFIG_FILE


def test_deploy_shows_every_key(kustomized: Documents) -> None:
    text = find(kustomized, "ConfigMap", "kubernaut-wfe-config")["data"]["config.yaml"]
    shown = _keys(yaml.safe_load(text))
    assert shown == _model_keys() - NOT_IN_CONFIG_FILE - UNSET_BY_DEFAULT


@pytest.mark.parametrize("key", sorted(_model_keys() - NOT_IN_CONFIG_FILE))
def test_the_key_is_documented(key: str) -> None:
    documentation = (REPO_ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    assert f"`{key}`" in documentation
