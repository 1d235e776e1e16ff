"""Kubeconfig files, in-cluster settings and the order in which they are tried."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubernaut_wfe.adapters.kubeconfig import (
    SERVICE_ACCOUNT_DIR,
    KubeConfig,
    KubeConfigError,
    auto_config,
    in_cluster_config,
    load_kubeconfig,
)

CA_PEM = b"-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n"
CERT_PEM = b"-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n"
KEY_PEM = b"-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def kubeconfig(
    *,
    cluster: dict[str, Any] | None = None,
    user: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    current: str | None = "dev",
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c1", "cluster": cluster or {"server": "https://api.example:6443"}}],
        "users": [{"name": "u1", "user": user if user is not None else {"token": "s3cret"}}],
        "contexts": [
            {"name": "dev", "context": context or {"cluster": "c1", "user": "u1"}},
            {"name": "prod", "context": {"cluster": "c1", "user": "u1", "namespace": "prod-ns"}},
        ],
    }
    if current is not None:
        document["current-context"] = current
    return document


def write(path: Path, document: object) -> str:
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return str(path)


def test_token_user_and_current_context(tmp_path: Path) -> None:
    config = load_kubeconfig(write(tmp_path / "config", kubeconfig()))
    assert config == KubeConfig(server="https://api.example:6443", token="s3cret")
    assert config.namespace == "default"


def test_secrets_are_not_in_the_repr(tmp_path: Path) -> None:
    user = {
        "token": "s3cret",
        "client-certificate-data": b64(CERT_PEM),
        "client-key-data": b64(KEY_PEM),
    }
    config = load_kubeconfig(write(tmp_path / "config", kubeconfig(user=user)))
    assert "s3cret" not in repr(config)
    assert "KEY" not in repr(config)


def test_explicit_context_overrides_the_current_one(tmp_path: Path) -> None:
    config = load_kubeconfig(write(tmp_path / "config", kubeconfig()), context="prod")
    assert config.namespace == "prod-ns"


def test_certificate_data_is_decoded_and_files_are_relative_to_the_kubeconfig(
    tmp_path: Path,
) -> None:
    cluster = {
        "server": "https://api.example:6443",
        "certificate-authority-data": b64(CA_PEM),
        "certificate-authority": "ca.crt",
    }
    user = {"client-certificate": "certs/client.crt", "client-key-data": b64(b"# k\n" + KEY_PEM)}
    config = load_kubeconfig(write(tmp_path / "config", kubeconfig(cluster=cluster, user=user)))
    assert config.ca_data == CA_PEM
    assert config.ca_file == str(tmp_path / "ca.crt")
    assert config.client_cert_file == str(tmp_path / "certs" / "client.crt")
    assert config.client_key_data == KEY_PEM  # from its first PEM line on


def test_token_file_and_insecure_flag(tmp_path: Path) -> None:
    cluster = {"server": "https://api.example:6443", "insecure-skip-tls-verify": True}
    user = {"tokenFile": "/var/token"}
    config = load_kubeconfig(write(tmp_path / "config", kubeconfig(cluster=cluster, user=user)))
    assert config.insecure_skip_tls_verify
    assert config.token_file == "/var/token"
    assert config.token is None


def test_a_token_file_wins_over_a_static_token(tmp_path: Path) -> None:
    user = {"token": "s3cret", "tokenFile": "token"}
    config = load_kubeconfig(write(tmp_path / "config", kubeconfig(user=user)))
    assert config.token_file == str(tmp_path / "token")
    assert config.token is None


def test_a_context_without_user_is_anonymous(tmp_path: Path) -> None:
    config = load_kubeconfig(write(tmp_path / "config", kubeconfig(context={"cluster": "c1"})))
    assert config.token is None
    assert config.token_file is None


def test_kubeconfig_list_merges_with_the_first_definition_winning(tmp_path: Path) -> None:
    first = {"current-context": "dev", "contexts": [{"name": "dev", "context": {"cluster": "c1"}}]}
    second = kubeconfig(current="prod")
    second["clusters"][0]["cluster"]["server"] = "https://second:6443"
    listed = (
        f"{write(tmp_path / 'a', first)}:{tmp_path / 'missing'}:{write(tmp_path / 'b', second)}"
    )
    config = load_kubeconfig(listed)
    assert config.server == "https://second:6443"
    assert config.token is None  # context "dev" of the first file has no user


def test_kubeconfig_env_and_home_are_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path / "env-config", kubeconfig())
    assert load_kubeconfig(environ={"KUBECONFIG": path}).token == "s3cret"
    (tmp_path / ".kube").mkdir()
    write(tmp_path / ".kube" / "config", kubeconfig(context={"cluster": "c1"}))
    assert load_kubeconfig(environ={}, home=tmp_path).token is None


@pytest.mark.parametrize(
    ("document", "context", "message"),
    [
        (kubeconfig(), "staging", r"context 'staging' not found \(known: dev, prod\)"),
        (kubeconfig(current=None), None, r"no current-context and no context given"),
        (
            kubeconfig(context={"cluster": "nope", "user": "u1"}),
            None,
            r"cluster 'nope' of context 'dev' not found \(known: c1\)",
        ),
        (
            kubeconfig(context={"cluster": "c1", "user": "ghost"}),
            None,
            r"user 'ghost' of context 'dev' not found",
        ),
        (
            kubeconfig(context={"user": "u1"}),
            None,
            r"contexts\[dev\]\.context\.cluster is required",
        ),
        (kubeconfig(cluster={"insecure-skip-tls-verify": True}), None, r"\.server is required"),
        (
            kubeconfig(cluster={"server": "api.example:6443"}),
            None,
            r"clusters\[c1\]\.cluster\.server 'api\.example:6443' must be an http",
        ),
        (
            kubeconfig(cluster={"server": "https://x", "certificate-authority-data": "@@"}),
            None,
            r"clusters\[c1\]\.cluster\.certificate-authority-data is not valid base64",
        ),
        (
            kubeconfig(
                cluster={"server": "https://x", "certificate-authority-data": b64(b"DER bytes")}
            ),
            None,
            r"clusters\[c1\]\.cluster\.certificate-authority-data is not PEM",
        ),
        (
            kubeconfig(user={"client-certificate-data": b64(CERT_PEM)}),
            None,
            r"users\[u1\]\.user: a client certificate and its client key go together; "
            r"only the certificate is given",
        ),
        (
            kubeconfig(user={"client-key": "client.key"}),
            None,
            r"only the key is given",
        ),
        (
            kubeconfig(user={"token": 42, "tokenFile": "token"}),
            None,
            r"users\[u1\]\.user\.token must be a string",
        ),
        (
            kubeconfig(cluster={"server": "https://x", "insecure-skip-tls-verify": "yes"}),
            None,
            r"insecure-skip-tls-verify must be true or false",
        ),
        (
            kubeconfig(user={"exec": {"command": "aws"}}),
            None,
            r"users\[u1\]\.user\.exec: exec credential plugins are not supported",
        ),
        (kubeconfig(user={"token": 42}), None, r"users\[u1\]\.user\.token must be a string"),
        ({"contexts": {"dev": {}}}, "dev", r"contexts must be a list"),
        ({"contexts": [{"context": {}}]}, "dev", r"contexts\[0\]\.name must be a non-empty"),
        (["not", "a", "mapping"], None, r"must be a mapping"),
    ],
)
def test_bad_kubeconfigs_say_what_and_where(
    tmp_path: Path, document: object, context: str | None, message: str
) -> None:
    path = write(tmp_path / "config", document)
    with pytest.raises(KubeConfigError, match=message) as caught:
        load_kubeconfig(path, context)
    assert path in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_unreadable_and_malformed_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError, match="cannot read"):
        load_kubeconfig(str(tmp_path / "absent"))
    (tmp_path / "broken").write_text("clusters: [", encoding="utf-8")
    with pytest.raises(KubeConfigError, match="not valid YAML"):
        load_kubeconfig(str(tmp_path / "broken"))
    with pytest.raises(KubeConfigError, match="none of"):
        load_kubeconfig(f"{tmp_path / 'x'}:{tmp_path / 'y'}")


IN_CLUSTER_ENV = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}


def service_account(root: Path, *, namespace: str | None = "kubernaut-system") -> Path:
    account = root / SERVICE_ACCOUNT_DIR
    account.mkdir(parents=True)
    (account / "token").write_text("projected-token", encoding="utf-8")
    (account / "ca.crt").write_bytes(CA_PEM)
    if namespace is not None:
        (account / "namespace").write_text(namespace, encoding="utf-8")
    return account


def test_in_cluster_reads_the_service_account(tmp_path: Path) -> None:
    account = service_account(tmp_path)
    config = in_cluster_config(root=tmp_path, environ=IN_CLUSTER_ENV)
    assert config == KubeConfig(
        server="https://10.96.0.1:443",
        namespace="kubernaut-system",
        ca_file=str(account / "ca.crt"),
        token_file=str(account / "token"),
    )


def test_in_cluster_brackets_ipv6_and_defaults_the_namespace(tmp_path: Path) -> None:
    service_account(tmp_path, namespace=None)
    environ = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
    config = in_cluster_config(root=tmp_path, environ=environ)
    assert config.server == "https://[fd00::1]:443"
    assert config.namespace == "default"


def test_in_cluster_needs_both_address_variables(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError, match="not running in a cluster"):
        in_cluster_config(root=tmp_path, environ={"KUBERNETES_SERVICE_HOST": "10.0.0.1"})


def test_auto_config_prefers_explicit_then_env_then_cluster_then_home(tmp_path: Path) -> None:
    explicit = write(tmp_path / "explicit", kubeconfig(user={"token": "explicit"}))
    from_env = write(tmp_path / "env", kubeconfig(user={"token": "env"}))
    (tmp_path / ".kube").mkdir()
    write(tmp_path / ".kube" / "config", kubeconfig(user={"token": "home"}))
    service_account(tmp_path)
    everything = {**IN_CLUSTER_ENV, "KUBECONFIG": from_env}

    def pick(kubeconfig_path: str | None, environ: dict[str, str]) -> KubeConfig:
        return auto_config(kubeconfig_path, environ=environ, root=tmp_path, home=tmp_path)

    assert pick(explicit, everything).token == "explicit"
    assert pick(None, everything).token == "env"
    assert pick(None, IN_CLUSTER_ENV).token_file is not None
    assert pick(None, {}).token == "home"


def test_auto_config_without_any_source_explains_what_it_tried(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError, match=r"\$KUBECONFIG unset, not in a cluster"):
        auto_config(None, environ={}, root=tmp_path, home=tmp_path)


@pytest.mark.parametrize("server", ["api.example:6443", "ftp://api.example", ""])
def test_a_config_needs_an_http_url(server: str) -> None:
    with pytest.raises(KubeConfigError, match="must be an http"):
        KubeConfig(server=server)
