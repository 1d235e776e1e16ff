"""The kubeconfig reach corpus (`tests/corpus/kubeconfig_reach.yaml`): `kubernaut-wfe run` with a
kubeconfig whose server is not there, is not Kubernetes, or refuses its certificate authority,
address or credentials. A setting no wait can make work stops the start with exit 2 and one line
naming the kubeconfig, the key at fault, the server and the cause; what may pass keeps the
controller alive and NotReady, `/readyz` saying why, asking again with back-off. Every case runs
as its own process, a few at a time; the servers that are not the test cluster are played here."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import itertools
import json
import os
import signal
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from kubernaut_wfe_tools.testing.corpus import ReachCase, fill, reach_cases
from kubernaut_wfe_tools.testing.relay import tcp_relay
from kubernaut_wfe_tools.testing.stack import json_lines
from kubernaut_wfe_tools.testing.testcluster import TestCluster
from kubernaut_wfe_tools.testing.testcluster.pki import issue, subject_name

pytestmark = pytest.mark.timeout(300)

CASES = reach_cases()
AT_ONCE = 4
EXIT_DEADLINE = 90.0
"""Seconds a start that must stop has to stop (generous: other suites share the 2 cores)."""
RETRY_DEADLINE = 90.0
"""Seconds a start that must wait has to show two tries (one connect timeout is 10 s)."""
LONGEST_LINE = 500
RETRY_EVENT = "the Kubernetes API server cannot be reached; trying again"
FIRST_RETRY_DELAY = 1.0
"""`core.api_reach`'s first back-off; each try waits at least half the doubled base."""
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


# --- certificates -----------------------------------------------------------------------------


def _pem(item: x509.Certificate | ec.EllipticCurvePrivateKey) -> bytes:
    if isinstance(item, x509.Certificate):
        return item.public_bytes(serialization.Encoding.PEM)
    return item.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class OtherPki:
    """A certificate authority of the test's own (it signed nothing of the test cluster), a
    serving certificate for 127.0.0.1 and a client certificate it signed."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir()
        ca_pair, ca_cert, ca_key = issue(directory, "ca", subject_name("another CA"), issuer=None)
        self.ca = (ca_cert, ca_key)
        serving, _, _ = issue(
            directory, "server", subject_name("not the API server"), issuer=self.ca,
            usage=ExtendedKeyUsageOID.SERVER_AUTH, addresses=("127.0.0.1",),
        )  # fmt: skip
        _, client_cert, client_key = issue(
            directory, "client", subject_name("someone"), issuer=self.ca,
            usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        )  # fmt: skip
        self.client = (client_cert, client_key)
        self.ca_file = ca_pair.cert
        self.server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_tls.load_cert_chain(serving.cert, serving.key)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- servers that are not the test cluster ----------------------------------------------------


def _answer(
    status: str, content_type: str, body: bytes, *, at_first_bytes: bool = False
) -> Handler:
    """A server that answers each request so; `at_first_bytes`, as soon as anything arrives
    (as nginx answers what is not HTTP, a TLS hello included)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ssl.SSLError):
            await (reader.read(1) if at_first_bytes else reader.readuntil(b"\r\n\r\n"))
            head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            await writer.drain()
        writer.close()

    return handle


class ClosingServer:
    """Accepts each connection and closes it at once; counts them."""

    def __init__(self) -> None:
        self.connections = 0

    async def handle(self, _: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.transport.abort()


async def _serve(
    stack: contextlib.AsyncExitStack, handle: Handler, tls: ssl.SSLContext | None
) -> str:
    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    await stack.enter_async_context(server)
    return f"{'https' if tls else 'http'}://127.0.0.1:{server.sockets[0].getsockname()[1]}"


def _blackhole(stack: contextlib.ExitStack) -> str:
    """An address whose connections are never accepted: a listening socket whose backlog one
    connection fills, so that the kernel drops every later SYN (a TEST-NET address would do the
    same, but is not unrouted on every machine)."""
    listener = stack.enter_context(socket.socket())
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    stack.enter_context(socket.create_connection(("127.0.0.1", port)))
    return f"https://127.0.0.1:{port}"


def _refused() -> str:
    """An address nothing listens on (a port just freed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"https://127.0.0.1:{probe.getsockname()[1]}"


# --- running a case ---------------------------------------------------------------------------


async def _start(
    case: ReachCase, directory: Path, values: dict[str, str]
) -> asyncio.subprocess.Process:
    def write_files() -> None:
        directory.mkdir()
        (directory / "kubeconfig").write_text(case.kubeconfig(values), encoding="utf-8")
        (directory / "other-ca.crt").write_bytes(base64.b64decode(values["other_ca"]))

    await asyncio.to_thread(write_files)
    environment = {name: value for name, value in os.environ.items() if name != "KUBECONFIG"}
    environment["HOME"] = str(directory)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kubernaut_wfe", "run", "--kubeconfig", str(directory / "kubeconfig"),
        "--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address", "127.0.0.1:0",
        "--log-format", "json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=environment,
    )  # fmt: skip


def _error_lines(output: str) -> list[str]:
    """The lines that are not JSON log lines."""
    found = []
    for line in output.splitlines():
        try:
            json.loads(line)
        except ValueError:
            found.append(line)
    return found


async def _exits(case: ReachCase, directory: Path, values: dict[str, str]) -> list[str]:
    process = await _start(case, directory, values)
    communicating = asyncio.create_task(process.communicate())
    if not (await asyncio.wait({communicating}, timeout=EXIT_DEADLINE))[0]:
        process.kill()
    out, err = await communicating
    output = (out + err).decode(errors="replace")
    expected, lines = case.expected(values), _error_lines(output)
    found = []
    if process.returncode != case.exits:
        found.append(f"exits {process.returncode}, not {case.exits}")
    if "Traceback" in output:
        found.append("prints a traceback")
    if len(lines) != 1 or expected not in lines[0]:
        found.append(f"does not say, on one line of its own, {expected!r}")
    if any(len(line) > LONGEST_LINE for line in lines):
        found.append(f"prints a line of more than {LONGEST_LINE} characters")
    return found + ([f"the output was:\n{output[-3000:]}"] if found else [])


async def _readiness(log: list[dict[str, Any]]) -> dict[str, Any] | None:
    for line in log:
        if line.get("event") == "endpoints serving":
            port = line["endpoints"]["probes"][1]
            async with httpx.AsyncClient(timeout=5, trust_env=False) as probe:
                answer = await probe.get(f"http://127.0.0.1:{port}/readyz")
            body: dict[str, Any] = {"code": answer.status_code, **answer.json()}
            return body
    return None


def _backoff_problems(tries: list[dict[str, Any]]) -> list[str]:
    """How the tries fail to back off: the n-th wait is at least half of 1 s doubled n-1 times."""
    moments = [datetime.datetime.fromisoformat(line["timestamp"]) for line in tries]
    found = []
    for index, (before, after) in enumerate(itertools.pairwise(moments)):
        least = FIRST_RETRY_DELAY * 2**index / 2
        if (after - before).total_seconds() < least * 0.95:
            found.append(f"try {index + 2} came {after - before} after the previous one")
    return found


async def _retries(case: ReachCase, directory: Path, values: dict[str, str]) -> list[str]:
    process = await _start(case, directory, values)
    assert process.stderr is not None
    lines: list[bytes] = []

    async def read() -> None:
        assert process.stderr is not None
        while line := await process.stderr.readline():
            lines.append(line)

    reading = asyncio.create_task(read())
    expected, server = case.expected(values), fill(case.cluster["server"], values)
    loop = asyncio.get_running_loop()
    deadline, readiness, tries = loop.time() + RETRY_DEADLINE, None, []
    while loop.time() < deadline and process.returncode is None:
        log = json_lines(b"".join(lines).decode(errors="replace"))
        tries = [line for line in log if line.get("event") == RETRY_EVENT]
        readiness = await _readiness(log) if tries else None
        if len(tries) >= 2 and readiness is not None and expected in readiness.get("reason", ""):
            break
        await asyncio.sleep(0.2)
    found = []
    if process.returncode is not None:
        found.append(f"exited {process.returncode} instead of waiting")
    if readiness is None or readiness["code"] != 503 or expected not in readiness.get("reason", ""):
        found.append(f"/readyz does not say {expected!r}: {readiness}")
    if len(tries) < 2 or any(line.get("server") != server for line in tries):
        found.append(f"no two log lines {RETRY_EVENT!r} naming {server}")
    found += _backoff_problems(tries)
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        if await asyncio.wait_for(process.wait(), 60) != 0:
            found.append(f"a SIGTERM while waiting ends it with {process.returncode}")
    await reading
    output = b"".join(lines).decode(errors="replace")
    if "Traceback" in output:
        found.append("prints a traceback")
    return found + ([f"the output was:\n{output[-3000:]}"] if found else [])


async def _run(cases: list[ReachCase], tmp_path: Path, values: dict[str, str]) -> None:
    gate = asyncio.Semaphore(AT_ONCE)

    async def check(case: ReachCase) -> list[str]:
        directory = tmp_path / case.name
        case_values = {**values, "tmp": str(directory)}
        async with gate:
            outcome = _retries if case.retries else _exits
            return [
                f"{case.name}: {found}" for found in await outcome(case, directory, case_values)
            ]

    results = await asyncio.gather(*(check(case) for case in cases))
    failures = [failure for result in results for failure in result]
    assert failures == [], "\n".join(failures)


@pytest.fixture
async def servers(tmp_path: Path) -> AsyncIterator[tuple[dict[str, str], ClosingServer]]:
    """The placeholders of the servers played here, and the one that closes at once."""
    pki = OtherPki(tmp_path / "other-pki")
    closing = ClosingServer()
    html = b"<!DOCTYPE html><html><body><h1>Welcome</h1></body></html>"
    with contextlib.ExitStack() as sockets:
        async with contextlib.AsyncExitStack() as stack:
            values = {
                "other_ca": _b64(_pem(pki.ca[0])),
                "other_client_cert": _b64(_pem(pki.client[0])),
                "other_client_key": _b64(_pem(pki.client[1])),
                "refused": _refused(),
                "blackhole": _blackhole(sockets),
                "closes": (await _serve(stack, closing.handle, None)).replace("http:", "https:"),
                "unavailable": await _serve(
                    stack, _answer("503 Service Unavailable", "text/html", html), pki.server_tls
                ),
                "plain_http": (
                    await _serve(
                        stack,
                        _answer(
                            "400 Bad Request", "text/html", b"<html>400</html>", at_first_bytes=True
                        ),
                        None,
                    )
                ).replace("http:", "https:"),
                "not_found": await _serve(
                    stack,
                    _answer("404 Not Found", "text/plain", b"404 page not found\n"),
                    pki.server_tls,
                ),
                "html": await _serve(stack, _answer("200 OK", "text/html", html), pki.server_tls),
            }
            yield values, closing


def _real_server_values(cluster: TestCluster) -> dict[str, str]:
    controller = yaml.safe_load(cluster.controller_kubeconfig.read_text(encoding="utf-8"))
    ca_file = Path(controller["clusters"][0]["cluster"]["certificate-authority"])
    return {
        "real_server": cluster.url,
        "real_ca": _b64(ca_file.read_bytes()),
        "real_token": controller["users"][0]["user"]["token"],
    }


async def test_servers_that_are_not_there_or_not_kubernetes(
    tmp_path: Path, servers: tuple[dict[str, str], ClosingServer]
) -> None:
    values, closing = servers
    cases = [case for case in CASES if not case.needs_real_server]
    await _run(cases, tmp_path, values)
    # Each try is one connection: the back-off the log shows is the rate the server sees.
    assert 2 <= closing.connections <= 12, closing.connections


async def test_the_real_server_refusing_the_ca_the_address_or_the_credentials(
    cluster: TestCluster, tmp_path: Path, servers: tuple[dict[str, str], ClosingServer]
) -> None:
    values, _ = servers
    async with contextlib.AsyncExitStack() as stack:
        values = {**values, **_real_server_values(cluster)}
        values["not_in_sans"] = await stack.enter_async_context(
            tcp_relay(cluster.url, host="127.0.0.2")
        )
        await _run([case for case in CASES if case.needs_real_server], tmp_path, values)


def test_the_corpus_has_both_outcomes_and_every_server() -> None:
    named = frozenset().union(*(case.placeholders for case in CASES))
    assert {"refused", "blackhole", "closes", "plain_http", "not_found", "html"} <= named
    assert {"other_ca", "not_in_sans", "other_client_cert"} <= named
    assert any(case.retries for case in CASES)
    assert any(not case.retries for case in CASES)
