"""KubeClient over real TLS: CA and client-certificate data from a kubeconfig, rotating tokens."""

from __future__ import annotations

import base64
import random
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from kubernaut_wfe.adapters.kube import (
    NAMESPACES,
    ApiError,
    KubeClient,
    KubeConnection,
    RetryPolicy,
    Transient,
)
from kubernaut_wfe.adapters.kubeconfig import load_kubeconfig


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}", "-days", "1",
    )  # fmt: skip
    return cert, key


def make_leaf(directory: Path, name: str, ca: tuple[Path, Path], extensions: str) -> None:
    csr, ext = directory / f"{name}.csr", directory / f"{name}.ext"
    ext.write_text(extensions, encoding="utf-8")
    openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(directory / f"{name}.key"), "-out", str(csr), "-subj", f"/CN={name}",
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
        "-CAcreateserial", "-out", str(directory / f"{name}.crt"), "-days", "1",
        "-extfile", str(ext),
    )  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca = make_ca(directory, "ca")
    other_ca, _ = make_ca(directory, "other-ca")
    make_leaf(directory, "server", ca, "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    make_leaf(directory, "controller", ca, "extendedKeyUsage=clientAuth\n")
    return Pki(
        ca=ca[0],
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
        client_cert=directory / "controller.crt",
        client_key=directory / "controller.key",
        other_ca=other_ca,
    )


@dataclass
class FakeApiServer:
    """Answers `GET /api/v1/namespaces` to a verified client certificate and the valid token."""

    valid_token: str = "token-1"
    seen: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""

    async def namespaces(self, request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        subject = dict(item[0] for item in peer["subject"]) if peer else {}
        authorization = request.headers.get("Authorization", "")
        self.seen.append((subject.get("commonName", ""), authorization))
        if authorization != f"Bearer {self.valid_token}":
            return web.json_response(
                {"kind": "Status", "code": 401, "reason": "Unauthorized", "message": "no"},
                status=401,
            )
        return web.json_response({"kind": "NamespaceList", "items": [{"metadata": {"name": "a"}}]})


@pytest.fixture
async def server(pki: Pki) -> AsyncIterator[FakeApiServer]:
    fake = FakeApiServer()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca))
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.verify_mode = ssl.CERT_REQUIRED
    app = web.Application()
    app.router.add_get("/api/v1/namespaces", fake.namespaces)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"https://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def write_kubeconfig(tmp_path: Path, server: str, cluster: dict[str, object]) -> str:
    token_file = tmp_path / "token"
    if not token_file.exists():
        token_file.write_text("token-1", encoding="utf-8")
    document = {
        "clusters": [{"name": "c", "cluster": {"server": server, **cluster}}],
        "users": [
            {
                "name": "u",
                "user": {
                    "client-certificate-data": b64(tmp_path / "client.crt"),
                    "client-key-data": b64(tmp_path / "client.key"),
                    "tokenFile": "token",
                },
            }
        ],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return str(path)


@pytest.fixture
def client_files(pki: Pki, tmp_path: Path) -> Path:
    (tmp_path / "client.crt").write_bytes(pki.client_cert.read_bytes())
    (tmp_path / "client.key").write_bytes(pki.client_key.read_bytes())
    return tmp_path


async def no_sleep(_: float) -> None:
    return None


def client_for(kubeconfig: str) -> KubeClient:
    policy = RetryPolicy(max_attempts=2)
    connection = KubeConnection.open(load_kubeconfig(kubeconfig))
    return KubeClient(connection, retry=policy, sleep=no_sleep, rng=random.Random(0))


async def test_ca_and_client_certificate_data_and_token(
    server: FakeApiServer, pki: Pki, client_files: Path
) -> None:
    kubeconfig = write_kubeconfig(
        client_files, server.url, {"certificate-authority-data": b64(pki.ca)}
    )
    async with client_for(kubeconfig) as kube:
        assert [item["metadata"]["name"] for item in await kube.list(NAMESPACES)] == ["a"]
    assert server.seen == [("controller", "Bearer token-1")]


async def test_a_rotated_token_is_picked_up_after_a_401(
    server: FakeApiServer, pki: Pki, client_files: Path
) -> None:
    kubeconfig = write_kubeconfig(client_files, server.url, {"certificate-authority": str(pki.ca)})
    async with client_for(kubeconfig) as kube:
        await kube.list(NAMESPACES)
        (client_files / "token").write_text("token-2\n", encoding="utf-8")
        server.valid_token = "token-2"
        await kube.list(NAMESPACES)
    assert [token for _, token in server.seen] == [
        "Bearer token-1",
        "Bearer token-1",
        "Bearer token-2",
    ]


async def test_a_server_signed_by_another_ca_is_refused(
    server: FakeApiServer, pki: Pki, client_files: Path
) -> None:
    kubeconfig = write_kubeconfig(
        client_files, server.url, {"certificate-authority-data": b64(pki.other_ca)}
    )
    async with client_for(kubeconfig) as kube:
        with pytest.raises(ApiError, match="CERTIFICATE_VERIFY_FAILED") as caught:
            await kube.list(NAMESPACES)
    assert not isinstance(caught.value, Transient)  # never retried: it cannot get better
    assert caught.value.reason == "CertificateVerificationFailed"
    assert server.seen == []


async def test_insecure_skip_tls_verify_still_sends_the_client_certificate(
    server: FakeApiServer, client_files: Path
) -> None:
    kubeconfig = write_kubeconfig(client_files, server.url, {"insecure-skip-tls-verify": True})
    async with client_for(kubeconfig) as kube:
        await kube.list(NAMESPACES)
    assert server.seen == [("controller", "Bearer token-1")]
