"""One target, one lock: every spelling of a kind resolves to the canonical target, whose run
name is the contract's hash; what cannot be resolved is refused with a reason."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from kubernaut_wfe.core.naming import pipelinerun_name
from kubernaut_wfe.core.targets import (
    KindTable,
    UnresolvedTarget,
    canonical_target,
    kind_table,
    lock_target,
    object_key,
    target_identity,
)


def resource(
    plural: str,
    kind: str,
    *,
    singular: str | None = None,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
) -> dict[str, Any]:
    """An APIResource entry as the real API server's discovery lists it."""
    entry: dict[str, Any] = {
        "name": plural,
        "singularName": kind.lower() if singular is None else singular,
        "namespaced": namespaced,
        "kind": kind,
        "verbs": ["get", "list"],
    }
    if short:
        entry["shortNames"] = list(short)
    return entry


CORE = (
    "",
    [
        resource("nodes", "Node", namespaced=False, short=("no",)),
        resource("nodes/status", "Node", singular="", namespaced=False),
        resource("events", "Event", short=("ev",)),
        resource("endpoints", "Endpoints", singular="endpoints", short=("ep",)),
    ],
)
APPS = (
    "apps",
    [
        resource("deployments", "Deployment", short=("deploy",)),
        resource("deployments/scale", "Scale", singular=""),
        resource("deployments/status", "Deployment", singular=""),
    ],
)
EVENTS = ("events.k8s.io", [resource("events", "Event", short=("ev",))])
TABLE = kind_table([CORE, APPS, EVENTS])

DEPLOYMENT_SPELLINGS = [
    "default/deployment/web",
    "default/Deployment/web",
    "default/deployments/web",
    "default/deployment.apps/web",
    "default/deployments.apps/web",
    "default/deploy/web",
    "default/deploy.apps/web",
    "default/DEPLOYMENTS/web",
    "default/Deployment.apps/web",
]


@pytest.mark.parametrize("target", DEPLOYMENT_SPELLINGS)
def test_every_spelling_of_a_deployment_is_one_canonical_target(target: str) -> None:
    assert canonical_target(target, TABLE) == "default/deployment/web"


def test_the_canonical_spelling_keeps_the_contracts_run_name() -> None:
    digest = hashlib.sha256(b"default/deployment/web").hexdigest()[:16]
    names = {
        pipelinerun_name(lock_target(t, canonical_target(t, TABLE))) for t in DEPLOYMENT_SPELLINGS
    }
    assert names == {f"wfe-{digest}"}


@pytest.mark.parametrize(
    ("target", "name"),
    [
        ("default/deployment/nginx", "wfe-f3457dcc8fbcb6d9"),
        ("payment/deployment/payment-api", "wfe-cf0cc089293b1165"),
        ("node/worker-node-1", "wfe-ac45b7d6911e97a5"),
        ("Nodes/worker-node-1", "wfe-ac45b7d6911e97a5"),
    ],
)
def test_the_contracts_test_vectors_hold_after_canonicalisation(target: str, name: str) -> None:
    assert pipelinerun_name(lock_target(target, canonical_target(target, TABLE))) == name


def test_namespace_and_name_are_kept_as_written() -> None:
    assert canonical_target("Team-A/Deployment/Web", TABLE) == "Team-A/deployment/Web"


def test_an_unknown_kind_is_refused_naming_it_and_what_to_do() -> None:
    resolved = canonical_target("default/nosuchkind/web", TABLE)
    assert isinstance(resolved, UnresolvedTarget)
    assert resolved.kind_unknown
    assert resolved.message.startswith("spec.targetResource: 'default/nosuchkind/web'")
    assert "the kind 'nosuchkind'" in resolved.message
    assert "install its CRD first" in resolved.message
    assert "deployment.apps" in resolved.message
    assert "create the WorkflowExecution again" in resolved.message
    assert "discovery of" not in resolved.message


def test_an_unknown_kind_names_the_groups_whose_discovery_failed() -> None:
    table = kind_table([CORE, APPS], unavailable_groups=["metrics.k8s.io", "custom.metrics.k8s.io"])
    resolved = canonical_target("default/podmetrics/web", table)
    assert isinstance(resolved, UnresolvedTarget)
    assert "discovery of custom.metrics.k8s.io, metrics.k8s.io failed" in resolved.message


def test_a_namespace_on_a_cluster_scoped_kind_names_the_same_object() -> None:
    assert canonical_target("default/node/worker-1", TABLE) == "node/worker-1"
    assert canonical_target("Nodes/worker-1", TABLE) == "node/worker-1"


def test_a_namespaced_kind_without_a_namespace_is_refused() -> None:
    resolved = canonical_target("deploy/web", TABLE)
    assert isinstance(resolved, UnresolvedTarget)
    assert not resolved.kind_unknown
    assert "namespaced" in resolved.message
    assert "<namespace>/deploy/web" in resolved.message


@pytest.mark.parametrize("target", ["web", "a/b/c/d", "default//web", ""])
def test_a_malformed_target_is_refused_but_not_as_an_unknown_kind(target: str) -> None:
    resolved = canonical_target(target, TABLE)
    assert isinstance(resolved, UnresolvedTarget)
    assert not resolved.kind_unknown


def test_subresources_are_no_kinds() -> None:
    assert "deployments/scale" not in TABLE.spellings
    assert "scale" not in TABLE.spellings
    assert isinstance(canonical_target("default/scale/web", TABLE), UnresolvedTarget)


def test_a_resource_without_a_singular_name_is_spelled_as_its_kind() -> None:
    table = kind_table([("example.com", [resource("widgets", "Widget", singular="")])])
    assert canonical_target("default/widgets/w", table) == "default/widget/w"


def test_two_groups_serving_one_name_share_the_lock_and_the_first_decides_the_scope() -> None:
    first = ("a.example.com", [resource("certificates", "Certificate", namespaced=False)])
    second = ("b.example.com", [resource("certificates", "Certificate")])
    table = kind_table([first, second])
    assert canonical_target("certificate/c", table) == "certificate/c"  # a.example.com's
    assert canonical_target("ns/certificate/c", table) == "certificate/c"
    assert canonical_target("ns/certificates.b.example.com/c", table) == "ns/certificate/c"
    assert canonical_target("default/events.events.k8s.io/x", TABLE) == "default/event/x"
    assert canonical_target("default/ev/x", TABLE) == "default/event/x"


def test_a_name_wins_over_another_resources_short_name_whatever_the_order() -> None:
    shadowing = ("a.example.com", [resource("gadgets", "Gadget", short=("deployment", "dp"))])
    other = ("b.example.com", [resource("doodads", "Doodad", short=("dp",))])
    table = kind_table([("", []), shadowing, APPS, other])
    assert canonical_target("default/deployment/web", table) == "default/deployment/web"
    assert canonical_target("default/dp/web", table) == "default/gadget/web"  # first group


def test_lock_target_falls_back_to_the_target_as_written() -> None:
    assert lock_target("default/Deployment/web", "default/deployment/web") == (
        "default/deployment/web"
    )
    unresolved = UnresolvedTarget("no", kind_unknown=True)
    assert lock_target("default/nosuchkind/web", unresolved) == "default/nosuchkind/web"
    assert lock_target("default/Deployment/web", None) == "default/Deployment/web"


def test_target_identity_compares_objects_not_spellings() -> None:
    assert target_identity("default/Deployment/web", TABLE) == target_identity(
        "default/deploy/web", TABLE
    )
    assert target_identity("default/deploy/web", TABLE) != target_identity(
        "default/deploy/other", TABLE
    )
    assert target_identity("default/Deployment/web", None) == "default/Deployment/web"
    assert target_identity("default/Deployment/web", KindTable()) == "default/Deployment/web"


def test_the_object_key_is_the_name_whatever_the_spelling() -> None:
    keys = {object_key(t) for t in DEPLOYMENT_SPELLINGS}
    assert keys == {"web"}
    assert object_key("node/worker-1") == object_key("default/node/worker-1") == "worker-1"
    assert object_key("default/deployment/other") != "web"
