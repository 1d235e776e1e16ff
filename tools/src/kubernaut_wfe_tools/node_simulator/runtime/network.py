"""A pod's network: its netns, the veth pair between it and the host, the addresses and the
default route, made and removed with iproute2's `ip`."""

from __future__ import annotations

import asyncio
import contextlib
import weakref

from kubernaut_wfe_tools.node_simulator.runtime.addresses import (
    POD_CIDR,
    POD_INTERFACE,
    POD_PREFIX,
    PodAddresses,
    SandboxNames,
    host_ipv4_addresses,
    pick_pod_addresses,
)

PICK_ATTEMPTS = 5
_PICKING: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)
"""Picking a /30 and putting its host address on the veth is one step within this process
(one lock per event loop: a lock is bound to the loop it first waited in)."""


class NetworkError(Exception):
    """An `ip` command failed; the text has the command and its stderr."""


async def ip(*arguments: str) -> str:
    """Run `ip <arguments>`; its stdout, or `NetworkError`."""
    process = await asyncio.create_subprocess_exec(
        "ip",
        *arguments,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    if process.returncode != 0:
        raise NetworkError(f"ip {' '.join(arguments)}: {stderr.decode().strip()}")
    return stdout.decode()


async def create_network(
    pod_uid: str, names: SandboxNames, service_ips: tuple[str, ...]
) -> PodAddresses:
    """The pod's netns with `eth0` (the pod IP), `lo` up and the default route via the host
    side, which carries the gateway address and each of `service_ips` as a /32. On failure
    whatever was made is removed again."""
    try:
        await ip("netns", "add", names.netns)
        await ip("link", "add", names.host_veth, "type", "veth", "peer", "name", names.peer_veth)
        await ip("link", "set", names.peer_veth, "netns", names.netns)
        addresses = await _claim_addresses(pod_uid, names)
        for service_ip in service_ips:
            await ip("addr", "add", f"{service_ip}/32", "dev", names.host_veth)
        await ip("link", "set", names.host_veth, "up")
        inside = ("-n", names.netns)
        await ip(*inside, "link", "set", names.peer_veth, "name", POD_INTERFACE)
        pod_address = f"{addresses.pod_ip}/{addresses.prefix}"
        await ip(*inside, "addr", "add", pod_address, "dev", POD_INTERFACE)
        await ip(*inside, "link", "set", POD_INTERFACE, "up")
        await ip(*inside, "link", "set", "lo", "up")
        await ip(*inside, "route", "add", "default", "via", addresses.host_ip)
    except BaseException:
        await delete_network(names)
        raise
    return addresses


async def _claim_addresses(pod_uid: str, names: SandboxNames) -> PodAddresses:
    """Pick a free /30 and put its host address on the host veth. Another process (a second
    stand-in) may have picked the same one at the same moment: `ip` accepts an address that
    another interface carries, so the address is checked afterwards and picked again."""
    lock = _PICKING.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        avoid: set[str] = set()
        for _ in range(PICK_ATTEMPTS):
            taken = host_ipv4_addresses(await ip("-o", "-4", "addr", "show")) | avoid
            addresses = pick_pod_addresses(pod_uid, taken)
            gateway = f"{addresses.host_ip}/{addresses.prefix}"
            await ip("addr", "add", gateway, "dev", names.host_veth)
            holders = await ip("-o", "-4", "addr", "show", "to", f"{addresses.host_ip}/32")
            if len(holders.splitlines()) == 1:
                return addresses
            await ip("addr", "del", gateway, "dev", names.host_veth)
            avoid.add(addresses.host_ip)
    raise NetworkError(f"no /{POD_PREFIX} of {POD_CIDR} could be claimed")


async def delete_network(names: SandboxNames) -> None:
    """Remove the netns (its `eth0` with it) and the host veth; nothing missing is an error."""
    with contextlib.suppress(NetworkError):
        await ip("netns", "delete", names.netns)
    for link in (names.host_veth, names.peer_veth):
        with contextlib.suppress(NetworkError):
            await ip("link", "delete", link)
