"""The names the runtime makes up: image references and digests, container IDs, pod IPs.

Derived from the pod's uid and the image, so that a restarted stand-in writes the same ones.
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Final

DEFAULT_REGISTRY: Final = "docker.io"
OFFICIAL_REPOSITORY: Final = "library"
DEFAULT_TAG: Final = "latest"
CONTAINERD_SCHEME: Final = "containerd://"


def _split(image: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image reference."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    return name, tag, digest or None


def requested_image(image: str) -> str:
    """The image as the kubelet names it in its Events: as written, with `:latest` added when it
    has neither tag nor digest (never qualified with a registry)."""
    _, tag, digest = _split(image)
    return image if tag or digest else f"{image}:{DEFAULT_TAG}"


def _repository(name: str) -> str:
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return name
    if not rest:
        return f"{DEFAULT_REGISTRY}/{OFFICIAL_REPOSITORY}/{name}"
    return f"{DEFAULT_REGISTRY}/{name}"


def containerd_reference(image: str) -> str:
    """The image fully qualified, as containerd names it (`busybox` is
    `docker.io/library/busybox:latest`)."""
    name, tag, digest = _split(image)
    reference = _repository(name)
    if tag or not digest:
        reference += f":{tag or DEFAULT_TAG}"
    return f"{reference}@{digest}" if digest else reference


def image_id(image: str) -> str:
    """`imageID`: the repository and the image's digest (made up from the reference)."""
    name, _, digest = _split(image)
    return f"{_repository(name)}@{digest or 'sha256:' + _sha256(containerd_reference(image))}"


def image_size(image: str) -> int:
    """The pulled image's size in bytes (made up: 2 to 50 MB)."""
    return 2_000_000 + int(_sha256(image)[:8], 16) % 48_000_000


def container_id(pod_uid: str, container: str) -> str:
    """`containerID` of the pod's container, as containerd writes it."""
    return CONTAINERD_SCHEME + _sha256(f"{pod_uid}/{container}")


def pod_ip(pod_uid: str, pod_cidr: str) -> str:
    """An address for the pod in the node's pod CIDR (not the network or the gateway)."""
    network = ipaddress.ip_network(pod_cidr)
    usable = network.num_addresses - 3
    return str(network.network_address + 2 + int(_sha256(pod_uid)[:8], 16) % usable)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
