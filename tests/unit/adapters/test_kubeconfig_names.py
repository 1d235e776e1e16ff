"""Where each connection setting was read (`KubeConfig.names`), for the errors of a server that
cannot be used; and the CA kubectl refuses next to `insecure-skip-tls-verify`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kubernaut_wfe.adapters.kubeconfig import (
    KubeConfigError,
    SettingNames,
    in_cluster_config,
    load_kubeconfig,
)

CA_DATA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmhlbGxvCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"


def _load(tmp_path: Path, cluster: dict[str, Any], user: dict[str, Any] | None) -> SettingNames:
    context = {"cluster": "c", **({"user": "u"} if user is not None else {})}
    document = {
        "clusters": [{"name": "c", "cluster": {"server": "https://api:6443", **cluster}}],
        "users": [{"name": "u", "user": user}] if user is not None else [],
        "contexts": [{"name": "x", "context": context}],
        "current-context": "x",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return load_kubeconfig(str(path)).names


@pytest.mark.parametrize(
    ("cluster", "user", "authority", "credentials"),
    [
        (
            {"certificate-authority-data": CA_DATA},
            {"token": "t"},
            "clusters[c].cluster.certificate-authority-data",
            "users[u].user.token",
        ),
        (
            {"certificate-authority": "ca.crt"},
            {"tokenFile": "token"},
            "clusters[c].cluster.certificate-authority",
            "users[u].user.tokenFile",
        ),
        (
            {"certificate-authority-data": CA_DATA, "certificate-authority": "ca.crt"},
            {"client-certificate": "c.crt", "client-key": "c.key", "token": "t"},
            "clusters[c].cluster.certificate-authority-data",
            "users[u].user.client-certificate and .token",
        ),
        (
            {},
            None,
            "clusters[c].cluster (no certificate-authority: the system's)",
            "contexts[x].context (no credentials: anonymous)",
        ),
        ({}, {}, "clusters[c].cluster (no", "contexts[x].context (no credentials: anonymous)"),
    ],
)
def test_each_setting_is_named_by_its_entry_and_key(
    tmp_path: Path,
    cluster: dict[str, Any],
    user: dict[str, Any] | None,
    authority: str,
    credentials: str,
) -> None:
    names = _load(tmp_path, cluster, user)
    where = f"kubeconfig {tmp_path / 'kubeconfig'}: "
    assert names.server == where + "clusters[c].cluster.server"
    assert names.certificate_authority.startswith(where + authority)
    assert names.credentials == where + credentials


@pytest.mark.parametrize("key", ["certificate-authority-data", "certificate-authority"])
def test_a_ca_with_insecure_skip_tls_verify_is_refused_as_kubectl_refuses_it(
    tmp_path: Path, key: str
) -> None:
    cluster = {key: CA_DATA if key.endswith("data") else "ca.crt", "insecure-skip-tls-verify": True}
    with pytest.raises(KubeConfigError) as raised:
        _load(tmp_path, cluster, {"token": "t"})
    assert str(raised.value) == (
        f"kubeconfig {tmp_path / 'kubeconfig'}: clusters[c].cluster: insecure-skip-tls-verify "
        f"with {key}: specifying a root certificates file with the insecure flag is not allowed"
    )


def test_insecure_skip_tls_verify_alone_is_taken(tmp_path: Path) -> None:
    assert _load(tmp_path, {"insecure-skip-tls-verify": True}, {"token": "t"}).server


def test_in_cluster_names_the_environment_and_the_files(tmp_path: Path) -> None:
    environ = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    names = in_cluster_config(root=tmp_path, environ=environ).names
    account = tmp_path / "var/run/secrets/kubernetes.io/serviceaccount"
    assert names == SettingNames(
        server="in-cluster KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT",
        certificate_authority=f"in-cluster {account / 'ca.crt'}",
        credentials=f"in-cluster {account / 'token'}",
    )
