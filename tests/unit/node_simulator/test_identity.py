"""Image names as the kubelet and containerd write them; made-up IDs that stay the same."""

from __future__ import annotations

import ipaddress
import re

import pytest

from kubernaut_wfe_tools.node_simulator.documents import identity


@pytest.mark.parametrize(
    ("image", "requested", "reference"),
    [
        ("busybox", "busybox:latest", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "busybox:1.36", "docker.io/library/busybox:1.36"),
        ("team/tool:v2", "team/tool:v2", "docker.io/team/tool:v2"),
        ("quay.io/kubernaut/wf:v1", "quay.io/kubernaut/wf:v1", "quay.io/kubernaut/wf:v1"),
        ("localhost/wf", "localhost/wf:latest", "localhost/wf:latest"),
        ("registry:5000/wf", "registry:5000/wf:latest", "registry:5000/wf:latest"),
        (
            "quay.io/wf@sha256:" + "a" * 64,
            "quay.io/wf@sha256:" + "a" * 64,
            "quay.io/wf@sha256:" + "a" * 64,
        ),
    ],
)
def test_image_names(image: str, requested: str, reference: str) -> None:
    assert identity.requested_image(image) == requested
    assert identity.containerd_reference(image) == reference


def test_image_id_is_the_repository_and_a_digest() -> None:
    assert re.fullmatch(
        r"docker\.io/library/busybox@sha256:[0-9a-f]{64}", identity.image_id("busybox:1.36")
    )
    digest = "sha256:" + "b" * 64
    assert identity.image_id(f"quay.io/wf:v1@{digest}") == f"quay.io/wf@{digest}"
    assert identity.image_id("busybox:1.36") != identity.image_id("busybox:1.37")


def test_container_ids_are_containerd_s_and_per_pod() -> None:
    first = identity.container_id("uid-1", "workflow")
    assert re.fullmatch(r"containerd://[0-9a-f]{64}", first)
    assert first == identity.container_id("uid-1", "workflow")
    assert first != identity.container_id("uid-2", "workflow")


@pytest.mark.parametrize("uid", [f"uid-{n}" for n in range(50)])
def test_pod_ips_are_hosts_of_the_pod_cidr(uid: str) -> None:
    address = ipaddress.ip_address(identity.pod_ip(uid, "10.244.0.0/24"))
    network = ipaddress.ip_network("10.244.0.0/24")
    assert address in network
    assert address not in {network.network_address, network.network_address + 1}
    assert address != network.broadcast_address
