"""A real kopf operator, in-process, against the emulator: finalizer, status patch, deletion,
and a label-selected watch that never shows it unselected objects."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import kopf

from kubernaut_wfe_tools.emulator import ApiEmulator

WFE_PATH = "/apis/kubernaut.ai/v1alpha1/namespaces/default/workflowexecutions"
Factory = Callable[..., dict[str, Any]]


def _load_probe() -> Any:
    path = Path(__file__).with_name("kopf_probe_operator.py")
    spec = importlib.util.spec_from_file_location("kopf_probe_operator", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _eventually(check: Callable[[], Any], within: float = 20) -> Any:
    async with asyncio.timeout(within):
        while True:
            result = check()
            if result:
                return result
            await asyncio.sleep(0.05)


async def test_kopf_operator_adds_finalizer_patches_status_and_handles_deletion(
    tmp_path: Path, make_wfe: Factory
) -> None:
    probe = _load_probe()
    emu = ApiEmulator()
    seen: dict[str, list[str]] = {}
    async with emu.serving():
        registry, settings = probe.build(emu.write_kubeconfig(tmp_path / "kubeconfig"), seen)
        stop = asyncio.Event()
        ready = asyncio.Event()
        operator = asyncio.create_task(
            kopf.operator(
                registry=registry,
                settings=settings,
                standalone=True,
                namespaces=["default"],
                stop_flag=stop,
                ready_flag=ready,
            )
        )
        try:
            await asyncio.wait_for(ready.wait(), 20)
            async with httpx.AsyncClient(base_url=emu.url) as client:
                ignored = await client.post(WFE_PATH, json=make_wfe("ignored", probe="no"))
                assert ignored.status_code == 201
                watched = await client.post(WFE_PATH, json=make_wfe("watched", probe="yes"))
                assert watched.status_code == 201

                def running() -> bool:
                    obj = emu.read("workflowexecutions", "default", "watched")
                    return bool(obj and (obj.get("status") or {}).get("phase") == "Running")

                await _eventually(running)
                obj = emu.read("workflowexecutions", "default", "watched")
                assert obj is not None
                assert probe.FINALIZER in obj["metadata"]["finalizers"]

                await client.delete(f"{WFE_PATH}/watched")
                await _eventually(
                    lambda: emu.read("workflowexecutions", "default", "watched") is None
                )
            assert seen == {"created": ["watched"], "deleted": ["watched"]}
            untouched = emu.read("workflowexecutions", "default", "ignored")
            assert untouched is not None
            assert "finalizers" not in untouched["metadata"]
            watches = emu.request_log.filter(verb="watch", resource="workflowexecutions")
            assert watches
            assert all(w.query.get("labelSelector") == probe.SELECTOR for w in watches)
            await _eventually(lambda: emu.request_log.filter(verb="create", resource="events"))
            posted = emu.objects("v1/events")
            assert any(e["involvedObject"]["name"] == "watched" for e in posted)
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(operator, 20)
