"""The container runtime's names and address picking (pure)."""

from __future__ import annotations

import ipaddress

import pytest

from kubernaut_wfe_tools.node_simulator.runtime.addresses import (
    POD_CIDR,
    host_ipv4_addresses,
    pick_pod_addresses,
    sandbox_names,
)

UID = "3F2A9C1B-7D4E-4A5B-9C8D-0E1F2A3B4C5D"

IP_ADDR_OUTPUT = (
    "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
    "4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever\n"
    "9: kwh3f2a9c1b7d    inet 10.244.7.1/30 scope global kwh3f2a9c1b7d\\       valid_lft forever\n"
)


def test_names_take_the_first_ten_hex_digits_of_the_uid() -> None:
    names = sandbox_names(UID)
    assert (names.netns, names.host_veth, names.peer_veth) == (
        "kwfe-3f2a9c1b7d",
        "kwh3f2a9c1b7d",
        "kwp3f2a9c1b7d",
    )
    assert len(names.host_veth) <= 15


@pytest.mark.parametrize("uid", ["", "3f2a-9c", "zz2a9c1b-7d4e-4a5b"])
def test_a_uid_without_ten_hex_digits_is_refused(uid: str) -> None:
    with pytest.raises(ValueError, match="hex digits"):
        sandbox_names(uid)


def test_host_addresses_are_read_from_ip_addr_show() -> None:
    assert host_ipv4_addresses(IP_ADDR_OUTPUT) == {"127.0.0.1", "192.0.2.2", "10.244.7.1"}


def test_the_pod_gets_the_second_address_of_a_slash_30_in_the_pod_cidr() -> None:
    picked = pick_pod_addresses(UID, set())
    host, pod = ipaddress.IPv4Address(picked.host_ip), ipaddress.IPv4Address(picked.pod_ip)
    subnet = ipaddress.IPv4Network(f"{picked.host_ip}/30", strict=False)
    assert subnet.subnet_of(POD_CIDR)
    assert (host, pod) == (subnet.network_address + 1, subnet.network_address + 2)
    assert subnet.network_address != POD_CIDR.network_address


def test_the_same_uid_picks_the_same_subnet_and_a_taken_one_is_skipped() -> None:
    first = pick_pod_addresses(UID, set())
    assert pick_pod_addresses(UID, {"192.0.2.2"}) == first
    second = pick_pod_addresses(UID, {first.host_ip})
    assert second.host_ip != first.host_ip
    assert pick_pod_addresses(UID, {first.host_ip, second.host_ip}).host_ip not in {
        first.host_ip,
        second.host_ip,
    }


def test_different_uids_start_in_different_places() -> None:
    picks = {pick_pod_addresses(f"{n:010x}", set()).host_ip for n in range(20)}
    assert len(picks) > 1


def test_a_full_pod_cidr_is_an_error() -> None:
    every_host_address = {
        str(ipaddress.IPv4Address(int(subnet.network_address) + 1))
        for subnet in POD_CIDR.subnets(new_prefix=30)
    }
    with pytest.raises(RuntimeError, match="no free /30"):
        pick_pod_addresses(UID, every_host_address)
