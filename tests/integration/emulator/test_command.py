"""`kubernaut-wfe emulator` as its own process: URL line, kubeconfig, clean exit on SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

import httpx
import yaml

from kubernaut_wfe_tools.commands import emulator as command


async def test_emulator_command_serves_writes_kubeconfig_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kubernaut_wfe_tools.commands.emulator",
        "--listen",
        "127.0.0.1:0",
        "--kubeconfig-out",
        str(kubeconfig),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
        assert line.startswith("emulator serving on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        config = yaml.safe_load(kubeconfig.read_text(encoding="utf-8"))
        assert config["current-context"] == "emulator"
        assert config["clusters"][0]["cluster"]["server"] == url
        async with httpx.AsyncClient(base_url=url) as client:
            assert (await client.get("/version")).json()["minor"] == "32"
            crds = await client.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
            names = {c["metadata"]["name"] for c in crds.json()["items"]}
            assert "workflowexecutions.kubernaut.ai" in names
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_bad_listen_address_is_a_clear_error() -> None:
    parser = argparse.ArgumentParser()
    command.configure(parser)
    assert command.run(parser.parse_args(["--listen", "nonsense"])) == 2


def test_missing_crd_file_is_a_clear_error(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    command.configure(parser)
    args = parser.parse_args(["--crd", str(tmp_path / "missing.yaml")])
    assert command.run(args) == 2


def test_listen_parsing() -> None:
    assert command.parse_listen("0.0.0.0:8080") == ("0.0.0.0", 8080)
    assert command.parse_listen("[::1]:0") == ("::1", 0)
