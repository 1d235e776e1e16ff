"""The container runtime on this machine: real network and mount namespaces, real processes,
real cgroups. Each test makes its own sandboxes; the fixture destroys them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from kubernaut_wfe_tools.node_simulator.runtime import (
    ContainerSpec,
    Mount,
    RunningContainer,
    ServiceProxy,
)
from kubernaut_wfe_tools.node_simulator.runtime.cgroups import CGROUP_ROOT
from kubernaut_wfe_tools.node_simulator.service_pods.images import project_paths
from kubernaut_wfe_tools.node_simulator.service_pods.network_files import resolv_conf

from .conftest import MakeSandbox  # noqa: TID252

DEADLINE = 20.0
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"}
NONROOT = 65532
SERVER_PORT = 8080

PROBE = textwrap.dedent(
    """
    import errno, functools, http.server, json, os, socket, sys

    def refused(path):
        try:
            open(path, "w").close()
        except OSError as error:
            return errno.errorcode[error.errno]
        return "written"

    with open("/tmp/written-by-container", "w") as note:
        note.write("from the container")
    report = {
        "uid": os.getuid(),
        "gid": os.getgid(),
        "hostname": socket.gethostname(),
        "config": open("/etc/demo/x").read(),
        "etc_demo": refused("/etc/demo/new"),
        "usr": refused("/usr/new"),
        "tmp": refused("/tmp/new"),
    }
    print("REPORT " + json.dumps(report), flush=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory="/etc/demo")
    http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), handler).serve_forever()
    """
)


def python(code: str, *args: str, name: str = "main", **options: Any) -> ContainerSpec:
    """A container running `code` (with `args`) on the project's interpreter (its paths bound
    above the volumes: a checkout under /tmp stays visible under an emptyDir at /tmp)."""
    return ContainerSpec(
        name=name,
        argv=(sys.executable, "-c", code, *args),
        env=ENV,
        host_paths=project_paths(),
        **options,
    )


async def eventually(check: Callable[[], str | None], what: Callable[[], str]) -> str:
    """`check()`'s first non-None answer within the deadline (else fail, saying `what()`)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    while loop.time() < end:
        answer = await asyncio.to_thread(check)
        if answer is not None:
            return answer
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {what()} within {DEADLINE} s")


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return str(response.read().decode())
    except OSError:
        return None


async def ended(container: RunningContainer) -> int:
    status = await asyncio.wait_for(container.wait(), DEADLINE)
    return status.code


async def test_a_restricted_container_serves_on_its_pod_ip(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    config = tmp_path / "configmap"
    config.mkdir()
    (config / "x").write_text("demo value")
    empty_dir = tmp_path / "emptydir"
    empty_dir.mkdir(mode=0o777)
    empty_dir.chmod(0o777)  # as the kubelet makes an emptyDir (the umask took some bits)
    # http.server looks its address up (getfqdn): the host's resolver is unreachable from the
    # pod's network, so the lookup must fail at once, as with the kubelet's resolv.conf.
    name_server = tmp_path / "resolv.conf"
    name_server.write_text(resolv_conf("default"), encoding="utf-8")
    sandbox = await make_sandbox()
    container = await sandbox.run(
        python(
            PROBE,
            str(SERVER_PORT),
            uid=NONROOT,
            gid=NONROOT,
            read_only_root=True,
            no_new_privileges=True,
            mounts=(
                Mount(config, "/etc/demo", read_only=True),
                Mount(empty_dir, "/tmp"),
                Mount(name_server, "/etc/resolv.conf", read_only=True),
            ),
            hostname="demo-pod",
        )
    )

    def report() -> str | None:
        lines = [line for line in container.tail().splitlines() if line.startswith("REPORT ")]
        return lines[0].removeprefix("REPORT ") if lines else None

    seen = json.loads(await eventually(report, lambda: f"report in the log:\n{container.tail()}"))
    assert seen == {
        "uid": NONROOT,
        "gid": NONROOT,
        "hostname": "demo-pod",
        "config": "demo value",
        "etc_demo": "EROFS",
        "usr": "EROFS",
        "tmp": "written",
    }
    assert (empty_dir / "written-by-container").read_text() == "from the container"
    url = f"http://{sandbox.ip}:{SERVER_PORT}/x"
    assert await eventually(lambda: fetch(url), lambda: f"answer from {url}") == "demo value"
    assert (await container.stop(grace_seconds=10)).code == 128 + signal.SIGTERM
    assert _host_leftovers(tmp_path) == []


def _host_leftovers(tmp_path: Path) -> list[str]:
    """What the container would have left on the machine: /etc/demo, mounts of its files."""
    found = [path for path in ["/etc/demo"] if Path(path).exists()]
    found += [
        line
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if str(tmp_path) in line
    ]
    return found


@pytest.fixture
async def host_server() -> AsyncIterator[tuple[str, int]]:
    """An HTTP server on 127.0.0.1 answering "from the host"."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = b"from the host"
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (len(body), body)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    yield host, port
    server.close()
    await server.wait_closed()


async def test_a_container_reaches_a_host_server_through_a_service_ip(
    make_sandbox: MakeSandbox, host_server: tuple[str, int]
) -> None:
    proxy = await ServiceProxy.start(("10.96.0.1", 0), host_server)
    try:
        sandbox = await make_sandbox(service_ips=["10.96.0.1"])
        url = f"http://10.96.0.1:{proxy.address[1]}/"
        fetch_code = (
            "import sys, urllib.request\n"
            f"body = urllib.request.urlopen({url!r}, timeout=10).read()\n"
            "print(body)\n"
            "sys.exit(0 if body == b'from the host' else 1)\n"
        )
        container = await sandbox.run(python(fetch_code, uid=NONROOT, gid=NONROOT))
        assert await ended(container) == 0, container.tail()
    finally:
        await proxy.close()


async def test_exit_codes_are_reported_as_the_kubelet_does(make_sandbox: MakeSandbox) -> None:
    sandbox = await make_sandbox()
    exits = await sandbox.run(python("import sys; sys.exit(3)", name="exits"))
    sleeps = await sandbox.run(python("import time; time.sleep(60)", name="sleeps"))
    terminated = await sandbox.run(python("import time; time.sleep(60)", name="terminated"))
    missing = await sandbox.run(
        ContainerSpec(name="missing", argv=("no-such-command", "--flag"), env=ENV)
    )

    assert await ended(exits) == 3
    assert await ended(missing) == 128
    assert "container missing: executable file not found" in missing.tail()
    await eventually(lambda: "up" if _has_exec(sleeps.pid) else None, lambda: "the sleeper's exec")
    sleeps.signal(signal.SIGKILL)
    assert await ended(sleeps) == 128 + signal.SIGKILL
    await eventually(lambda: "up" if _has_exec(terminated.pid) else None, lambda: "the second exec")
    assert (await terminated.stop(grace_seconds=10)).code == 128 + signal.SIGTERM


def _has_exec(pid: int) -> bool:
    """Whether `pid` runs the container's command (no longer the launcher)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"-c" in command


async def test_a_container_over_its_memory_limit_is_oom_killed(make_sandbox: MakeSandbox) -> None:
    sandbox = await make_sandbox()
    container = await sandbox.run(
        python(
            "block = bytearray(512 * 1024 * 1024)\nprint('survived', flush=True)",
            memory_limit_bytes=64 * 1024 * 1024,
        )
    )
    if not container.memory_limit_enforced:
        if os.environ.get("CI"):
            pytest.fail("no memory cgroup could be made (see the warning logged)")
        pytest.skip("no memory cgroup could be made here (see the warning logged)")
    status = await asyncio.wait_for(container.wait(), DEADLINE)
    assert (status.code, status.oom_killed) == (137, True), container.tail()
    assert "survived" not in container.tail()


async def test_sandboxes_get_their_own_addresses_and_leave_nothing_behind(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    first = await make_sandbox(service_ips=["10.96.0.1"])
    second = await make_sandbox(service_ips=["10.96.0.1"])
    running = await first.run(
        python("import time; time.sleep(60)", memory_limit_bytes=128 * 1024 * 1024)
    )
    assert len({first.ip, second.ip, first.host_ip, second.host_ip}) == 4
    host_veths = [f"kwh{sandbox.netns.removeprefix('kwfe-')}" for sandbox in (first, second)]
    assert {first.netns, second.netns} <= set(_netns_names())
    assert all(veth in _links() for veth in host_veths)
    assert bool(_cgroups_named(first.netns)) == running.memory_limit_enforced

    for sandbox in (first, second):
        await sandbox.destroy()
        await sandbox.destroy()

    assert running.ended
    assert not {first.netns, second.netns} & set(_netns_names())
    assert not any(veth in _links() for veth in host_veths)
    assert _cgroups_named(first.netns) == []
    assert list((tmp_path / "pods").iterdir()) == []


def _cgroups_named(netns: str) -> list[Path]:
    """The containers' cgroups of the sandbox `netns` (`kwfe-<hex>-<container>-<n>`)."""
    return list(CGROUP_ROOT.rglob(f"{netns}-*"))


def _netns_names() -> list[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]


def _links() -> str:
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
