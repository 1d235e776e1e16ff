"""The test cluster itself: the release it runs, what it has installed, the controller's
identity and the audit log the other suites count requests in."""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
import uuid
from pathlib import Path

import pytest
import yaml

from kubernaut_wfe_tools.testing.testcluster import CONTROLLER_USER, TestCluster
from kubernaut_wfe_tools.testing.testcluster.build import MODULE_DIR, cache_dir, read_pins
from kubernaut_wfe_tools.testing.testcluster.cluster import NAMESPACES, RBAC_DIR

pytestmark = pytest.mark.timeout(180)


def test_server_and_kubectl_are_the_pinned_release(cluster: TestCluster) -> None:
    versions = json.loads(cluster.kubectl("version", "-o", "json"))
    release = read_pins().kubernetes
    assert versions["serverVersion"]["gitVersion"] == release
    assert versions["clientVersion"]["gitVersion"] == release
    assert versions["serverVersion"]["minor"] == read_pins().minor
    assert versions["serverVersion"]["buildDate"] != "1970-01-01T00:00:00Z"


def test_namespaces_and_crds_are_installed(cluster: TestCluster) -> None:
    namespaces = cluster.kubectl("get", "namespaces", "-o", "jsonpath={.items[*].metadata.name}")
    assert set(NAMESPACES) <= set(namespaces.split())
    crds = json.loads(cluster.kubectl("get", "crd", "-o", "json"))["items"]
    established = {
        crd["metadata"]["name"]
        for crd in crds
        if any(
            c["type"] == "Established" and c["status"] == "True"
            for c in crd["status"]["conditions"]
        )
    }
    assert {
        "workflowexecutions.kubernaut.ai",
        "pipelineruns.tekton.dev",
        "taskruns.tekton.dev",
    } <= established


def _can(cluster: TestCluster, *args: str) -> bool:
    result = cluster.run_kubectl("auth", "can-i", *args, kubeconfig=cluster.controller_kubeconfig)
    assert result.stdout.strip() in ("yes", "no"), result.stderr
    return result.stdout.strip() == "yes"


@pytest.mark.parametrize(
    "request_args",
    [
        ("get", "secrets", "-n", "kubernaut-system"),
        ("list", "secrets", "--all-namespaces"),
        ("watch", "secrets", "-n", "kubernaut-workflows"),
        ("create", "clusterroles.rbac.authorization.k8s.io"),
        ("create", "clusterrolebindings.rbac.authorization.k8s.io"),
        ("create", "roles.rbac.authorization.k8s.io", "-n", "kubernaut-system"),
        ("create", "rolebindings.rbac.authorization.k8s.io", "-n", "kubernaut-workflows"),
        ("update", "clusterroles.rbac.authorization.k8s.io"),
        ("create", "leases.coordination.k8s.io", "-n", "default"),
        ("create", "workflowexecutions.kubernaut.ai", "-n", "default"),
        ("delete", "workflowexecutions.kubernaut.ai", "-n", "default"),
        ("create", "pods", "-n", "kubernaut-workflows"),
    ],
    ids=" ".join,
)
def test_the_controller_identity_cannot(
    cluster: TestCluster, request_args: tuple[str, ...]
) -> None:
    assert not _can(cluster, *request_args)


def _granted(path: str) -> list[tuple[str, str, str | None]]:
    """(verb, resource.group, namespace) for every rule of a deploy/rbac role."""
    role = yaml.safe_load((RBAC_DIR / path).read_text(encoding="utf-8"))
    namespace = role["metadata"].get("namespace")
    granted = []
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    granted.append((verb, f"{resource}.{group}" if group else resource, namespace))
    return granted


GRANTED = _granted("cluster_role.yaml") + _granted("leader_election_role.yaml")


@pytest.mark.parametrize(
    ("verb", "resource", "namespace"), GRANTED, ids=[" ".join(map(str, g)) for g in GRANTED]
)
def test_the_controller_identity_can_do_what_deploy_rbac_grants(
    cluster: TestCluster, verb: str, resource: str, namespace: str | None
) -> None:
    scope = ["-n", namespace] if namespace else ["--all-namespaces"]
    if "/" in resource:  # a subresource: kubectl auth can-i takes it with --subresource
        resource, subresource = resource.split("/", 1)
        name, _, group = subresource.partition(".")
        resource, scope = f"{resource}.{group}", [*scope, f"--subresource={name}"]
    assert _can(cluster, verb, resource, *scope)


def test_the_controller_token_is_valid_for_a_day_at_least(cluster: TestCluster) -> None:
    config = yaml.safe_load(cluster.controller_kubeconfig.read_text(encoding="utf-8"))
    token = config["users"][0]["user"]["token"]
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["exp"] - claims["iat"] >= 24 * 3600
    assert claims["kubernetes.io"]["serviceaccount"]["name"] == "kubernaut-wfe-controller"
    assert config["contexts"][0]["context"]["namespace"] == "kubernaut-system"


def test_the_audit_log_has_one_record_per_request_with_its_user(cluster: TestCluster) -> None:
    # The cluster is shared with the other suites: a selector of our own marks this one request.
    probe = f"probe={uuid.uuid4().hex}"
    cluster.kubectl(
        "get", "workflowexecutions", "-A", "-l", probe, "-o", "name",
        kubeconfig=cluster.controller_kubeconfig,
    )  # fmt: skip
    mine = [
        r for r in cluster.audit_records(CONTROLLER_USER)
        if r["verb"] == "list"
        and (r.get("objectRef") or {}).get("resource") == "workflowexecutions"
        and probe in urllib.parse.unquote(r["requestURI"])
    ]  # fmt: skip
    assert len(mine) == 1, mine
    assert mine[0]["responseStatus"]["code"] == 200
    assert all(r["stage"] != "RequestReceived" for r in cluster.audit_records())


def test_the_module_pins_one_release_and_the_etcd_it_requires(cluster_binaries: Path) -> None:
    """Every staging module is replaced by its published version of the pinned release, and etcd
    is exactly the version that release's own go.mod requires (read from the build's module
    cache), so version selection cannot move kube-apiserver's dependencies."""
    pins = read_pins()
    go_mod = (MODULE_DIR / "go.mod").read_text(encoding="utf-8")
    replaced = dict(re.findall(r"^\s*(k8s\.io/[\w-]+) => \1 (v\S+)$", go_mod, re.MULTILINE))
    release = "v0" + pins.kubernetes.removeprefix("v1")
    upstream = (
        cache_dir() / "gomodcache" / "cache" / "download" / "k8s.io" / "kubernetes" / "@v"
        / f"{pins.kubernetes}.mod"
    ).read_text(encoding="utf-8")  # fmt: skip
    staging = set(re.findall(r"^\s*(k8s\.io/[\w-]+) => \./staging/", upstream, re.MULTILINE))
    assert staging, "the release's go.mod lists no staging module"
    assert set(replaced) == staging
    assert set(replaced.values()) == {release}
    required_etcd = re.search(r"^\s*go\.etcd\.io/etcd/server/v3 (v\S+)", upstream, re.MULTILINE)
    assert required_etcd is not None
    assert pins.etcd == required_etcd[1]
