"""Bearer tokens (static, from a rotating file) and the TLS context."""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

import httpx
import pytest

from kubernaut_wfe.adapters.kube_auth import BearerTokenAuth, build_ssl_context
from kubernaut_wfe.adapters.kubeconfig import KubeConfig, KubeConfigError


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_static_token() -> None:
    assert await BearerTokenAuth(token="static").token() == "static"


async def test_token_file_is_reread_when_the_interval_has_passed(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first\n", encoding="utf-8")
    clock = FakeClock()
    auth = BearerTokenAuth(token_file=str(token_file), refresh_interval=60, clock=clock)
    assert await auth.token() == "first"
    token_file.write_text("second", encoding="utf-8")
    clock.now += 59
    assert await auth.token() == "first"
    clock.now += 1
    assert await auth.token() == "second"


async def test_the_last_good_token_survives_a_missing_or_empty_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("good", encoding="utf-8")
    auth = BearerTokenAuth(token="static", token_file=str(token_file))
    assert await auth.token() == "good"
    token_file.write_text("  \n", encoding="utf-8")
    assert await auth.token(force=True) == "good"
    token_file.unlink()
    assert await auth.token(force=True) == "good"


async def test_static_token_is_the_fallback_of_an_unreadable_file(tmp_path: Path) -> None:
    auth = BearerTokenAuth(token="static", token_file=str(tmp_path / "absent"))
    assert await auth.token() == "static"


async def test_no_token_at_all_is_a_clear_error(tmp_path: Path) -> None:
    auth = BearerTokenAuth(token_file=str(tmp_path / "absent"))
    with pytest.raises(KubeConfigError, match="cannot be read"):
        await auth.token()
    with pytest.raises(ValueError, match="needs a token"):
        BearerTokenAuth()


async def test_a_401_rereads_the_token_file_and_retries_once(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("old", encoding="utf-8")
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        if request.headers["Authorization"] == "Bearer new":
            return httpx.Response(200, json={})
        token_file.write_text("new", encoding="utf-8")  # the kubelet rotated it meanwhile
        return httpx.Response(401, json={"kind": "Status", "reason": "Unauthorized"})

    auth = BearerTokenAuth(token_file=str(token_file))
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as client:
        response = await client.get("http://api/api/v1/namespaces")
    assert response.status_code == 200
    assert seen == ["Bearer old", "Bearer new"]


async def test_a_401_with_an_unchanged_token_is_not_retried(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("same", encoding="utf-8")
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(401)

    auth = BearerTokenAuth(token_file=str(token_file))
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as client:
        response = await client.get("http://api/api/v1/namespaces")
    assert response.status_code == 401
    assert len(calls) == 1


def test_insecure_context_verifies_nothing() -> None:
    context = build_ssl_context(KubeConfig(server="https://x", insecure_skip_tls_verify=True))
    assert context.verify_mode == ssl.CERT_NONE
    assert not context.check_hostname


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (KubeConfig(server="https://x", ca_data=b"garbage"), "certificate authority"),
        (KubeConfig(server="https://x", ca_file="/nonexistent/ca.crt"), "certificate authority"),
        (
            KubeConfig(server="https://x", insecure_skip_tls_verify=True, client_cert_data=b"C"),
            "without its client key",
        ),
        (
            KubeConfig(
                server="https://x",
                insecure_skip_tls_verify=True,
                client_cert_data=b"CERT",
                client_key_data=b"TOPSECRETKEY",
            ),
            "client certificate cannot be loaded",
        ),
    ],
)
def test_bad_tls_material_is_a_clear_error(config: KubeConfig, message: str) -> None:
    with pytest.raises(KubeConfigError, match=message) as caught:
        build_ssl_context(config)
    assert "TOPSECRETKEY" not in str(caught.value)


def test_client_key_data_never_outlives_the_context_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    config = KubeConfig(
        server="https://x",
        insecure_skip_tls_verify=True,
        client_cert_data=b"CERT",
        client_key_data=b"KEY",
    )
    with pytest.raises(KubeConfigError):
        build_ssl_context(config)
    assert list(tmp_path.iterdir()) == []
