"""The controller's one API connection on the real API server, with a kubeconfig whose
`tokenFile` rotates as a projected ServiceAccount token does: each token is bound to a Secret, so
deleting the Secret makes the API server refuse the token (401), and every kind of the
controller's traffic (kopf's watches, its API client, the liveness probe's watch) must go on with
the file's new token; a token file that cannot be read fails loudly, naming the file."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kubernaut_wfe_tools.testing.stack import ControllerProcess, json_lines, wfe_body
from kubernaut_wfe_tools.testing.testcluster import CONTROLLER_USER, TestCluster
from kubernaut_wfe_tools.testing.testcluster.cluster import (
    CONTROLLER_NAMESPACE,
    CONTROLLER_SERVICE_ACCOUNT,
)

from .conftest import ServerStack  # noqa: TID252

pytestmark = pytest.mark.timeout(240)

SECRETS = f"/api/v1/namespaces/{CONTROLLER_NAMESPACE}/secrets"
TOKEN_REQUEST = (
    f"/api/v1/namespaces/{CONTROLLER_NAMESPACE}/serviceaccounts/{CONTROLLER_SERVICE_ACCOUNT}/token"
)
CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"
WATCH_TIMEOUT = ("--watch-timeout", "2s")
"""Short, so that kopf's watches and the probe's open again (and authenticate) every 2 s."""


async def bound_token(client: httpx.AsyncClient, secret: str) -> str:
    """A token of the controller's ServiceAccount that is valid while Secret `secret` exists."""
    created = await client.post(
        SECRETS, json={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": secret}}
    )
    assert created.status_code == 201, created.text
    reference = {"apiVersion": "v1", "kind": "Secret", "name": secret}
    reference["uid"] = created.json()["metadata"]["uid"]
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600, "boundObjectRef": reference},
    }
    answer = await client.post(TOKEN_REQUEST, json=request)
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["status"]["token"]
    return token


async def revoke(stack: ServerStack, cluster: TestCluster, secret: str, token: str) -> None:
    """Delete the Secret `token` is bound to, and wait until the API server refuses it."""
    answer = await stack.client.delete(f"{SECRETS}/{secret}")
    assert answer.status_code == 200, answer.text

    async def refused() -> bool:
        async with httpx.AsyncClient(
            base_url=cluster.url, verify=cluster.tls(admin=False), timeout=10
        ) as anyone:
            probe = await anyone.get("/apis", headers={"Authorization": f"Bearer {token}"})
        return probe.status_code == 401

    await stack.wait_for(refused, what=f"the token bound to {secret} to be refused")


def jwt_id(token: str) -> str:
    """The `jti` claim of a ServiceAccount token (the audit log's credential id names it)."""
    payload = token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return str(claims["jti"])


def write_token(path: Path, token: str) -> None:
    """Replace the token file in one step, as the kubelet swaps a projected volume's files."""
    staged = path.with_name(f".{path.name}.new")
    staged.write_text(token + "\n", encoding="utf-8")
    os.replace(staged, path)


def token_file_kubeconfig(stack: ServerStack, directory: Path, token: str) -> tuple[Path, Path]:
    """A copy of the controller's kubeconfig whose user reads its token from `token` in the
    same directory (a relative `tokenFile`, as the kubeconfig's directory resolves it)."""
    directory.mkdir()
    document = yaml.safe_load(stack.kubeconfig.read_text(encoding="utf-8"))
    for entry in document["users"]:
        entry["user"] = {"tokenFile": "token"}
    kubeconfig, token_path = directory / "kubeconfig", directory / "token"
    kubeconfig.write_text(yaml.safe_dump(document), encoding="utf-8")
    write_token(token_path, token)
    return kubeconfig, token_path


def used(cluster: TestCluster, since: int, token: str) -> set[tuple[str, bool]]:
    """(User-Agent product, whether a watch) of the controller's accepted requests that carried
    `token`, among the audit records from index `since` on."""
    credential = f"JTI={jwt_id(token)}"
    found = set()
    for record in cluster.audit_records()[since:]:
        user = record.get("user") or {}
        if user.get("username") != CONTROLLER_USER:
            continue
        if credential not in (user.get("extra") or {}).get(CREDENTIAL_ID, []):
            continue
        if (record.get("responseStatus") or {}).get("code", 0) >= 400:
            continue
        agent = str(record.get("userAgent") or "").split("/", 1)[0]
        found.add((agent, record.get("verb") == "watch"))
    return found


async def healthy(stack: ServerStack, proc: ControllerProcess) -> bool:
    ports = proc.ports()
    assert ports is not None
    async with httpx.AsyncClient(timeout=10) as probe:
        answer = await probe.get(f"http://127.0.0.1:{ports['probes']}/healthz")
    return answer.status_code == 200


async def test_every_connection_goes_on_with_a_rotated_token(
    stack: ServerStack, cluster: TestCluster, tmp_path: Path
) -> None:
    first = await bound_token(stack.client, "rotation-first")
    kubeconfig, token_path = token_file_kubeconfig(stack, tmp_path / "rotating", first)
    proc = await stack.start_controller(*WATCH_TIMEOUT, kubeconfig=kubeconfig)
    await stack.create(wfe_body("before-rotation"))
    await stack.wait_phase("before-rotation", "Completed")

    second = await bound_token(stack.client, "rotation-second")
    write_token(token_path, second)
    await revoke(stack, cluster, "rotation-first", first)
    since = len(cluster.audit_records())
    await stack.create(wfe_body("after-rotation"))
    await stack.wait_phase("after-rotation", "Completed")

    # kopf's watches, the API client's requests and the probe's watch, each on the new token.
    everyone = {("kopf", True), ("kubernaut-wfe", False), ("kubernaut-wfe", True)}
    await stack.wait_for(
        lambda: used(cluster, since, second) >= everyone,
        what="every connection to authenticate with the rotated token",
    )
    assert await healthy(stack, proc)
    answer = await stack.client.delete(f"{SECRETS}/rotation-second")
    assert answer.status_code == 200, answer.text


async def test_an_unreadable_token_file_is_an_error_naming_it_until_it_is_back(
    stack: ServerStack, cluster: TestCluster, tmp_path: Path
) -> None:
    first = await bound_token(stack.client, "broken-first")
    kubeconfig, token_path = token_file_kubeconfig(stack, tmp_path / "broken", first)
    proc = await stack.start_controller(*WATCH_TIMEOUT, kubeconfig=kubeconfig)
    token_path.unlink()
    await revoke(stack, cluster, "broken-first", first)
    await stack.create(wfe_body("while-broken"))

    def complaints() -> list[dict[str, Any]]:
        return [
            line
            for line in json_lines(proc.log())
            if line.get("level") == "error" and str(token_path) in json.dumps(line)
        ]

    found = await stack.wait_for(complaints, what="an error naming the token file")
    ours = [line for line in found if line.get("path") == str(token_path)]
    assert ours, found
    assert (
        ours[0]["error"]
        == f"bearer token file {token_path}: cannot read: No such file or directory"
    )

    second = await bound_token(stack.client, "broken-second")
    write_token(token_path, second)
    await stack.wait_phase("while-broken", "Completed")
    await stack.wait_for(lambda: healthy(stack, proc), what="/healthz to pass again")
    answer = await stack.client.delete(f"{SECRETS}/broken-second")
    assert answer.status_code == 200, answer.text
