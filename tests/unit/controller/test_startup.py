"""Start-up pieces: the CRD check, bind addresses, the `run` command's flags."""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubernaut_wfe.commands import run
from kubernaut_wfe.controller.crdcheck import missing_status_fields
from kubernaut_wfe.controller.health import parse_bind_address

CRD_PATH = Path(__file__).parents[3] / "deploy" / "crds" / "kubernaut.ai_workflowexecutions.yaml"


def crd() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CRD_PATH.read_text(encoding="utf-8"))
    return loaded


def status_properties(document: dict[str, Any]) -> dict[str, Any]:
    version = document["spec"]["versions"][0]
    properties: dict[str, Any] = version["schema"]["openAPIV3Schema"]["properties"]["status"][
        "properties"
    ]
    return properties


def test_the_shipped_crd_has_every_field_the_controller_writes() -> None:
    assert missing_status_fields(crd()) == []


@pytest.mark.parametrize(
    ("remove", "missing"),
    [
        (("auditedEvents",), "status.auditedEvents"),
        (("rejectedAuditEvents",), "status.rejectedAuditEvents"),
        (("pipelineRunStatus", "blockedReason"), "status.pipelineRunStatus.blockedReason"),
    ],
)
def test_an_old_crd_is_reported_with_the_missing_paths(
    remove: tuple[str, ...], missing: str
) -> None:
    document = copy.deepcopy(crd())
    node = status_properties(document)
    for part in remove[:-1]:
        node = node[part]["properties"]
    del node[remove[-1]]
    assert missing_status_fields(document) == [missing]


def test_a_crd_without_our_version_is_reported() -> None:
    document = copy.deepcopy(crd())
    document["spec"]["versions"][0]["name"] = "v9"
    assert missing_status_fields(document) == ["version v1alpha1 with a status schema"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (":9090", ("0.0.0.0", 9090)),
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        ("[::1]:8081", ("::1", 8081)),
    ],
)
def test_bind_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_bind_address(text) == expected


@pytest.mark.parametrize(
    "text", ["9090", "host:", "host:http", ":70000", "[::1:80", "::1:80", "[]:80", "[::1]]:80"]
)
def test_bad_bind_addresses_are_errors(text: str) -> None:
    with pytest.raises(ValueError, match="bind address"):
        parse_bind_address(text)


def test_flags_become_config_overrides() -> None:
    parser = argparse.ArgumentParser()
    run.configure(parser)
    args = parser.parse_args(
        ["--cooldown-period", "3", "--namespace", "a", "--namespace", "b", "--leader-elect"]
    )
    overrides = run.overrides(args)
    assert overrides["execution.cooldown_period"] == "3"
    assert overrides["controller.namespaces"] == ["a", "b"]
    assert overrides["controller.leader_election"] is True
    assert overrides["execution.namespace"] is None


def test_no_flags_override_nothing() -> None:
    parser = argparse.ArgumentParser()
    run.configure(parser)
    assert set(run.overrides(parser.parse_args([])).values()) == {None}
