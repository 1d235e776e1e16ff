"""The request log and fault injection over `/_emulator/` (as another process uses them)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from kubernaut_wfe_tools.emulator import ApiEmulator

PR_PATH = "/apis/tekton.dev/v1/namespaces/default/pipelineruns"
Factory = Callable[..., dict[str, Any]]


async def test_request_log_records_parsed_requests_and_filters(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    await client.delete("/_emulator/requests")
    await client.post(PR_PATH, json=make_pipelinerun("pr"))
    await client.get(f"{PR_PATH}/pr")
    await client.get(f"{PR_PATH}/missing")
    await client.get(PR_PATH, params={"labelSelector": "a=b"})
    items = (await client.get("/_emulator/requests")).json()["items"]
    assert [(i["verb"], i["name"], i["status"]) for i in items] == [
        ("create", "pr", 201),
        ("get", "pr", 200),
        ("get", "missing", 404),
        ("list", None, 200),
    ]
    assert items[0]["resource"] == "pipelineruns"
    assert items[0]["namespace"] == "default"
    assert items[3]["query"] == {"labelSelector": "a=b"}
    gets = (await client.get("/_emulator/requests", params={"verb": "get"})).json()["items"]
    assert len(gets) == 2
    await client.delete("/_emulator/requests")
    assert (await client.get("/_emulator/requests")).json()["items"] == []


async def test_error_fault_answers_the_next_n_matching_requests(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    created = await client.post(
        "/_emulator/faults",
        json={
            "verb": "create",
            "resource": "pipelineruns",
            "count": 2,
            "action": "error",
            "status": 429,
        },
    )
    assert created.status_code == 201
    responses = [await client.post(PR_PATH, json=make_pipelinerun(f"pr-{i}")) for i in range(3)]
    assert [response.status_code for response in responses] == [429, 429, 201]
    # As the API server writes a Status whose details carry retryAfterSeconds:
    assert responses[0].headers["Retry-After"] == "1"
    assert responses[0].json()["details"] == {"retryAfterSeconds": 1}
    body = (await client.post(PR_PATH, json=make_pipelinerun("pr-2"))).json()
    assert body["reason"] == "AlreadyExists"
    assert (await client.get("/_emulator/faults")).json()["items"] == []


async def test_fault_matches_by_name_and_subresource(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    await client.post(PR_PATH, json=make_pipelinerun("pr"))
    await client.post(
        "/_emulator/faults",
        json={"name": "pr", "subresource": "status", "count": 1, "action": "error", "status": 409},
    )
    assert (await client.get(f"{PR_PATH}/pr")).status_code == 200
    status = await client.patch(
        f"{PR_PATH}/pr/status",
        json={"status": {}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert status.status_code == 409
    assert status.json()["kind"] == "Status"


async def test_hold_fault_blocks_until_released(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    await client.post("/_emulator/faults", json={"verb": "create", "count": 1, "action": "hold"})
    pending = asyncio.create_task(client.post(PR_PATH, json=make_pipelinerun("held")))
    await asyncio.sleep(0.2)
    assert not pending.done()
    assert (await client.get(f"{PR_PATH}/held")).status_code == 404
    await client.post("/_emulator/faults/release")
    assert (await pending).status_code == 201


async def test_delay_fault_then_clear(client: httpx.AsyncClient) -> None:
    await client.post(
        "/_emulator/faults",
        json={"verb": "list", "count": 5, "action": "delay", "delay_seconds": 0.01},
    )
    assert (await client.get(PR_PATH)).status_code == 200
    assert len((await client.get("/_emulator/faults")).json()["items"]) == 1
    await client.delete("/_emulator/faults")
    assert (await client.get("/_emulator/faults")).json()["items"] == []
    delayed = [
        r
        for r in (await client.get("/_emulator/requests")).json()["items"]
        if r["fault"] == "delay"
    ]
    assert len(delayed) == 1


async def test_drop_watch_closes_open_streams_and_refuses_new_ones(
    client: httpx.AsyncClient,
) -> None:
    async with client.stream("GET", PR_PATH, params={"watch": "true"}) as response:
        assert response.status_code == 200
        await client.post(
            "/_emulator/faults",
            json={"resource": "pipelineruns", "count": 1, "action": "drop-watch", "status": 500},
        )
        lines = await asyncio.wait_for(_drain(response), 5)
        assert lines == []
    refused = await client.get(PR_PATH, params={"watch": "true"})
    assert refused.status_code == 500
    async with client.stream(
        "GET", PR_PATH, params={"watch": "true", "timeoutSeconds": "1"}
    ) as again:
        assert again.status_code == 200


async def _drain(response: httpx.Response) -> list[str]:
    return [line async for line in response.aiter_lines() if line]


async def test_bad_fault_specs_are_rejected(client: httpx.AsyncClient) -> None:
    bad_action = await client.post("/_emulator/faults", json={"action": "explode"})
    assert bad_action.status_code == 422
    bad_field = await client.post("/_emulator/faults", json={"action": "error", "bogus": 1})
    assert bad_field.status_code == 400


async def test_python_api_faults_seed_and_read(make_pipelinerun: Factory) -> None:
    emu = ApiEmulator()
    emu.seed([make_pipelinerun(f"pr-{i}") for i in range(3)])
    assert [o["metadata"]["name"] for o in emu.objects("pipelineruns")] == ["pr-0", "pr-1", "pr-2"]
    stored = emu.read("pipelineruns", "default", "pr-1")
    assert stored is not None
    assert stored["metadata"]["generation"] == 1
    emu.faults.add(verb="get", count=1, action="error", status=500)
    async with emu.serving(), httpx.AsyncClient(base_url=emu.url) as client:
        assert (await client.get(f"{PR_PATH}/pr-0")).status_code == 500
        assert (await client.get(f"{PR_PATH}/pr-0")).status_code == 200
    assert [r.status for r in emu.request_log] == [500, 200]


async def test_request_log_keeps_pruned_fields_and_failure_messages(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    await client.post(PR_PATH, json=make_pipelinerun("pr"))
    await client.patch(
        f"{PR_PATH}/pr/status",
        json={"status": {"podName": "x", "surprise": 1}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    await client.get(f"{PR_PATH}/missing")
    items = (await client.get("/_emulator/requests")).json()["items"]
    patch = next(i for i in items if i["verb"] == "patch")
    assert patch["warnings"] == [
        'unknown field "status.podName"',
        'unknown field "status.surprise"',
    ]
    missing = next(i for i in items if i["name"] == "missing")
    assert missing["message"] == 'pipelineruns.tekton.dev "missing" not found'


async def test_request_log_records_the_user_agent(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    await client.delete("/_emulator/requests")
    await client.post(PR_PATH, json=make_pipelinerun("pr"), headers={"User-Agent": "probe/1.0"})
    await client.get(f"{PR_PATH}/pr")
    items = (await client.get("/_emulator/requests")).json()["items"]
    assert items[0]["user_agent"] == "probe/1.0"
    assert items[1]["user_agent"].startswith("python-httpx/")


async def test_error_fault_can_answer_a_rejection_with_the_servers_message(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    quota = 'pipelineruns.tekton.dev "pr" is forbidden: exceeded quota: runs, used: 5, limited: 5'
    await client.post(
        "/_emulator/faults",
        json={"verb": "create", "action": "error", "status": 403, "message": quota},
    )
    refused = await client.post(PR_PATH, json=make_pipelinerun("pr"))
    assert refused.status_code == 403
    assert refused.json()["reason"] == "Forbidden"
    assert refused.json()["message"] == quota
    assert (await client.post(PR_PATH, json=make_pipelinerun("pr"))).status_code == 201


async def test_fault_with_a_status_no_apiserver_sends_is_refused(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/_emulator/faults", json={"verb": "create", "action": "error", "status": 418}
    )
    assert answer.status_code == 422
