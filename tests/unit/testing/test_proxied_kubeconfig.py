"""A kubeconfig through the fault proxy: the current context's cluster points at the proxy, all
else is kept, and relative file paths still name the same files."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import yaml

from kubernaut_wfe_tools.testing.faultproxy import FaultProxy, proxied_kubeconfig

PROXY = "https://127.0.0.1:4443"


def _write(path: Path, config: dict[str, object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_the_current_contexts_cluster_points_at_the_proxy_with_the_same_credentials(
    tmp_path: Path,
) -> None:
    source = _write(
        tmp_path / "cluster" / "config",
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "other", "cluster": {"server": "https://10.0.0.1"}},
                {"name": "test", "cluster": {"server": "https://127.0.0.1:6443",
                                             "certificate-authority": "pki/ca.crt"}},
            ],
            "users": [{"name": "sa", "user": {"token": "secret-token"}},
                      {"name": "admin", "user": {"client-certificate": "/abs/admin.crt",
                                                 "client-key": "pki/admin.key"}}],
            "contexts": [{"name": "sa", "context": {"cluster": "test", "user": "sa",
                                                    "namespace": "kubernaut-system"}}],
            "current-context": "sa",
        },
    )  # fmt: skip
    written = proxied_kubeconfig(source, PROXY, tmp_path / "proxied")
    config = yaml.safe_load(written.read_text(encoding="utf-8"))
    clusters = {entry["name"]: entry["cluster"] for entry in config["clusters"]}
    assert clusters["test"]["server"] == PROXY
    assert clusters["other"]["server"] == "https://10.0.0.1"
    assert clusters["test"]["certificate-authority"] == str(tmp_path / "cluster" / "pki/ca.crt")
    users = {entry["name"]: entry["user"] for entry in config["users"]}
    assert users["sa"] == {"token": "secret-token"}
    assert users["admin"]["client-certificate"] == "/abs/admin.crt"
    assert users["admin"]["client-key"] == str(tmp_path / "cluster" / "pki/admin.key")
    assert config["contexts"][0]["context"]["namespace"] == "kubernaut-system"
    assert config["current-context"] == "sa"
    assert written.stat().st_mode & 0o777 == 0o600


def test_without_a_current_context_the_only_cluster_is_proxied(tmp_path: Path) -> None:
    source = _write(
        tmp_path / "config",
        {"clusters": [{"name": "only", "cluster": {"server": "https://127.0.0.1:6443"}}]},
    )
    config = yaml.safe_load(proxied_kubeconfig(source, PROXY, tmp_path / "out").read_text())
    assert config["clusters"][0]["cluster"]["server"] == PROXY


def test_a_kubeconfig_naming_no_cluster_to_proxy_is_refused(tmp_path: Path) -> None:
    source = _write(
        tmp_path / "config",
        {"clusters": [{"name": "a", "cluster": {"server": "https://a"}},
                      {"name": "b", "cluster": {"server": "https://b"}}]},
    )  # fmt: skip
    with pytest.raises(ValueError, match="no current context"):
        proxied_kubeconfig(source, PROXY, tmp_path / "out")


def test_the_proxy_refuses_an_upstream_context_that_does_not_verify(tmp_path: Path) -> None:
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    with pytest.raises(ValueError, match="verifies the API server"):
        FaultProxy("https://127.0.0.1:6443", unverified, tmp_path / "c", tmp_path / "k")
