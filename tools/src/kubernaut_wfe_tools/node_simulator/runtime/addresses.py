"""Pure: a pod sandbox's names and addresses (which /30 of the pod CIDR, which interface names)."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

POD_CIDR = ipaddress.IPv4Network("10.244.0.0/16")
"""The pod network, cut in /30s: the host side of each pod's veth takes the first address,
the pod (`eth0` in its netns) the second."""
POD_PREFIX = 30

NETNS_PREFIX = "kwfe-"
HOST_VETH_PREFIX = "kwh"
PEER_VETH_PREFIX = "kwp"
"""The pod side's name until it is renamed `eth0` inside the netns."""
POD_INTERFACE = "eth0"
UID_HEX_LENGTH = 10
"""`kwh` + 10 hex is 13 characters: interface names have at most 15."""

_HEX = re.compile(r"[0-9a-f]+")
_INET = re.compile(r"\sinet\s+(\d+\.\d+\.\d+\.\d+)/\d+")


@dataclass(frozen=True)
class SandboxNames:
    """The host-side names of one pod's sandbox."""

    netns: str
    host_veth: str
    peer_veth: str


@dataclass(frozen=True)
class PodAddresses:
    """One /30 of the pod CIDR: the host side (the pod's gateway) and the pod's IP."""

    host_ip: str
    pod_ip: str
    prefix: int = POD_PREFIX


def uid_hex(pod_uid: str) -> str:
    """The first 10 hex digits of `pod_uid` without its dashes (lower case)."""
    digits = pod_uid.replace("-", "").lower()[:UID_HEX_LENGTH]
    if len(digits) < UID_HEX_LENGTH or not _HEX.fullmatch(digits):
        raise ValueError(f"pod uid {pod_uid!r} does not start with {UID_HEX_LENGTH} hex digits")
    return digits


def sandbox_names(pod_uid: str) -> SandboxNames:
    """The netns and veth names of the pod `pod_uid`."""
    digits = uid_hex(pod_uid)
    return SandboxNames(
        netns=f"{NETNS_PREFIX}{digits}",
        host_veth=f"{HOST_VETH_PREFIX}{digits}",
        peer_veth=f"{PEER_VETH_PREFIX}{digits}",
    )


def host_ipv4_addresses(ip_addr_output: str) -> set[str]:
    """The IPv4 addresses in the output of `ip -o -4 addr show`."""
    return set(_INET.findall(ip_addr_output))


def pick_pod_addresses(pod_uid: str, taken: Iterable[str]) -> PodAddresses:
    """The first /30 of the pod CIDR whose host address is not in `taken`, searching from a
    place derived from the pod's uid, so that two stand-ins picking at the same moment seldom
    reach for the same one. Raises `RuntimeError` when every /30 is taken."""
    used = set(taken)
    count = POD_CIDR.num_addresses >> (32 - POD_PREFIX)
    start = int.from_bytes(hashlib.sha256(pod_uid.encode()).digest()[:4], "big") % count
    base = int(POD_CIDR.network_address)
    for step in range(count):
        index = (start + step) % count
        # The first /30 holds the network's own address; never hand it out.
        if index == 0:
            continue
        network = base + (index << (32 - POD_PREFIX))
        host_ip = str(ipaddress.IPv4Address(network + 1))
        if host_ip not in used:
            return PodAddresses(host_ip=host_ip, pod_ip=str(ipaddress.IPv4Address(network + 2)))
    raise RuntimeError(f"no free /{POD_PREFIX} left in {POD_CIDR}")
