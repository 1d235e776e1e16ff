"""Rotating credentials: token and CA files are re-read when they change, without a restart."""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kubernaut_wfe.datastorage.client import AuditUnavailable, DataStorageClient
from kubernaut_wfe.datastorage.credentials import CaBundle, FileToken

QUERY_RESPONSE = b'{"data": [], "pagination": {"limit": 100, "offset": 0, "total": 0}}'


def bump_mtime(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_token_file_is_reread_when_it_changes(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first-token\n")
    token = FileToken(token_file)
    assert token() == "first-token"
    token_file.write_text("second\n")
    bump_mtime(token_file)
    assert token() == "second"


def test_empty_token_file_means_no_token(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("\n")
    assert FileToken(token_file)() is None


def test_missing_token_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="token"):
        FileToken(tmp_path / "token")()


async def test_opening_with_a_missing_ca_file_is_a_clear_error(tmp_path: Path) -> None:
    client = DataStorageClient("https://127.0.0.1:1", verify=CaBundle(tmp_path / "ca.crt"))
    with pytest.raises(FileNotFoundError, match=r"ca\.crt"):
        await client.open()
    await client.aclose()


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", f"/CN={name}", "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, cert


def make_server_cert(directory: Path, ca_key: Path, ca_cert: Path) -> tuple[Path, Path]:
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    extensions = directory / "san.cnf"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n")
    subprocess.run(
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", key, "-out", csr],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key,
         "-CAcreateserial", "-days", "1", "-extfile", extensions, "-out", cert],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, cert


async def answer_queries(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(QUERY_RESPONSE)}\r\n\r\n".encode()
            + QUERY_RESPONSE
        )
        await writer.drain()
    except (ssl.SSLError, ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[tuple[str, Path, Path]]:
    """A minimal HTTPS server on 127.0.0.1; yields its URL, its CA and an unrelated CA."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    server_ca_key, server_ca = make_ca(tmp_path, "server-ca")
    _, other_ca = make_ca(tmp_path, "other-ca")
    key, cert = make_server_cert(tmp_path, server_ca_key, server_ca)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = await asyncio.start_server(answer_queries, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"https://127.0.0.1:{port}", server_ca, other_ca


async def test_ca_file_is_reread_when_it_changes(
    tmp_path: Path, tls_server: tuple[str, Path, Path]
) -> None:
    url, server_ca, other_ca = tls_server
    ca_file = tmp_path / "ca.crt"
    shutil.copyfile(other_ca, ca_file)
    async with DataStorageClient(url, verify=CaBundle(ca_file), timeout=5) as client:
        with pytest.raises(AuditUnavailable):
            await client.query_audit_events()
        shutil.copyfile(server_ca, ca_file)
        bump_mtime(ca_file)
        page = await client.query_audit_events()
    assert page.data == []
