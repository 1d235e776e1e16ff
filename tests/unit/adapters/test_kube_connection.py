"""The one connection: its bearer token (static, or a file read again while running, loudly when
it cannot be), its TLS context (kopf's) and what kopf's login handler gets."""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from kubernaut_wfe.adapters.kube_connection import (
    BearerToken,
    CredentialsError,
    KubeConnection,
    connect,
)
from kubernaut_wfe.adapters.kubeconfig import KubeConfig, KubeConfigError

NOT_A_CERTIFICATE = b"-----BEGIN CERTIFICATE-----\nTOPSECRETKEY\n-----END CERTIFICATE-----\n"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def token_file(tmp_path: Path, content: str | bytes = "first\n") -> Path:
    path = tmp_path / "token"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


async def test_a_static_token_is_the_token() -> None:
    token = BearerToken(token="static")
    assert not token.rereads
    assert await token.current() == "static"
    assert await token.current(fresh=True) == "static"


async def test_a_token_file_is_read_again_when_its_interval_has_passed(tmp_path: Path) -> None:
    path = token_file(tmp_path)
    clock = FakeClock()
    token = BearerToken(token_file=str(path), reread_interval=60, clock=clock)
    assert token.read_now() == "first"
    path.write_text("second", encoding="utf-8")
    clock.now += 59
    assert await token.current() == "first"
    clock.now += 1
    assert await token.current() == "second"


async def test_a_fresh_token_is_read_at_once(tmp_path: Path) -> None:
    path = token_file(tmp_path)
    token = BearerToken(token_file=str(path), clock=FakeClock())
    assert await token.current() == "first"
    path.write_text("rotated\n", encoding="utf-8")
    assert await token.current(fresh=True) == "rotated"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read: No such file or directory"),
        ("  \n", "empty"),
        (b"\x80\x81", "not UTF-8 text"),
    ],
)
async def test_a_token_file_without_a_token_fails_naming_it_and_never_falls_back(
    tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = token_file(tmp_path, "good")
    token = BearerToken(token_file=str(path), clock=FakeClock())
    assert await token.current() == "good"
    if content is None:
        path.unlink()
    else:
        token_file(tmp_path, content)
    with capture_logs() as logs, pytest.raises(CredentialsError) as caught:
        await token.current(fresh=True)
    assert str(caught.value) == f"bearer token file {path}: {message}"
    assert [(log["log_level"], log["path"]) for log in logs] == [("error", str(path))]


async def test_a_failing_token_file_is_logged_once_and_its_recovery_once(tmp_path: Path) -> None:
    path = token_file(tmp_path, "good")
    token = BearerToken(token_file=str(path), clock=FakeClock())
    path.unlink()
    with capture_logs() as logs:
        for _ in range(3):
            with pytest.raises(CredentialsError):
                await token.current()
        token_file(tmp_path, "back")
        assert await token.current() == "back"
    assert [log["log_level"] for log in logs] == ["error", "info"]


def test_a_token_or_a_token_file_one_of_them() -> None:
    with pytest.raises(ValueError, match="either"):
        BearerToken()
    with pytest.raises(ValueError, match="either"):
        BearerToken(token="a", token_file="/b")


def test_opening_reads_the_token_file_and_names_it_when_it_cannot(tmp_path: Path) -> None:
    path = token_file(tmp_path, "projected")
    connection = KubeConnection.open(KubeConfig(server="http://api:8080", token_file=str(path)))
    assert connection.token is not None
    assert connection.token.read_now() == "projected"
    assert connection.tls is None  # plain HTTP
    path.unlink()
    with pytest.raises(CredentialsError, match=f"bearer token file {path}: cannot read"):
        KubeConnection.open(KubeConfig(server="http://api:8080", token_file=str(path)))


def test_a_connection_without_a_token_sends_none() -> None:
    assert KubeConnection.open(KubeConfig(server="http://api:8080")).token is None


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ("https://", "kubeconfig server: 'https://' has no host"),
        ("https://127.0.0.1:99999", "is not a URL: Port out of range"),
    ],
)
def test_a_server_that_is_no_base_url_is_refused(server: str, message: str) -> None:
    with pytest.raises(KubeConfigError, match=message):
        KubeConnection.open(KubeConfig(server=server))


def test_insecure_tls_verifies_nothing() -> None:
    connection = KubeConnection.open(KubeConfig(server="https://x", insecure_skip_tls_verify=True))
    assert connection.tls is not None
    assert connection.tls.verify_mode == ssl.CERT_NONE
    assert not connection.tls.check_hostname


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            KubeConfig(server="https://x", ca_file="/nonexistent/ca.crt"),
            "certificate authority /nonexistent/ca.crt: cannot read: No such file or directory",
        ),
        (
            KubeConfig(
                server="https://x", client_cert_file="/nonexistent/c.crt", client_key_data=b"K"
            ),
            "client certificate /nonexistent/c.crt: cannot read",
        ),
        (KubeConfig(server="https://x", ca_data=NOT_A_CERTIFICATE), "cannot be loaded"),
        (
            KubeConfig(
                server="https://x",
                insecure_skip_tls_verify=True,
                client_cert_data=NOT_A_CERTIFICATE,
                client_key_data=NOT_A_CERTIFICATE,
            ),
            "TLS certificates cannot be loaded",
        ),
    ],
)
def test_unusable_tls_material_is_a_clear_error(config: KubeConfig, message: str) -> None:
    with pytest.raises(KubeConfigError, match=message) as caught:
        KubeConnection.open(config)
    assert "TOPSECRETKEY" not in str(caught.value)


def test_client_key_data_never_outlives_the_tls_set_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    config = KubeConfig(
        server="https://x",
        insecure_skip_tls_verify=True,
        client_cert_data=NOT_A_CERTIFICATE,
        client_key_data=NOT_A_CERTIFICATE,
    )
    with pytest.raises(KubeConfigError):
        KubeConnection.open(config)
    assert list(tmp_path.iterdir()) == []


async def test_kopf_logs_in_with_the_token_file_read_again(tmp_path: Path) -> None:
    path = token_file(tmp_path, "first")
    config = KubeConfig(
        server="https://api:6443",
        namespace="home",
        insecure_skip_tls_verify=True,
        token_file=str(path),
    )
    connection = KubeConnection.open(config)
    path.write_text("rotated", encoding="utf-8")
    info = await connection.login()
    assert (info.server, info.default_namespace, info.insecure) == (
        "https://api:6443",
        "home",
        True,
    )
    assert info.as_http_headers() == {"Authorization": "Bearer rotated"}
    assert info.expiration is None
    path.unlink()
    with pytest.raises(CredentialsError, match=str(path)):
        await connection.login()


async def test_kopf_logs_in_without_a_token_when_there_is_none() -> None:
    info = await KubeConnection.open(KubeConfig(server="http://api:8080")).login()
    assert info.as_http_headers() == {}


def test_connect_reads_the_kubeconfig_it_is_given(tmp_path: Path) -> None:
    token_file(tmp_path, "from-file")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "clusters: [{name: c, cluster: {server: 'http://api:8080'}}]\n"
        "users: [{name: u, user: {tokenFile: token}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u, namespace: team}}]\n"
        "current-context: x\n",
        encoding="utf-8",
    )
    connection = connect(str(kubeconfig))
    assert (connection.server, connection.namespace) == ("http://api:8080", "team")
    assert connection.token is not None
    assert connection.token.file == str(tmp_path / "token")
    assert connection.token.read_now() == "from-file"
