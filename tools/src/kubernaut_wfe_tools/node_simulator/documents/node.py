"""The Node the stand-in registers, its status and its Lease, as a kubelet writes them."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from kubernaut_wfe.constants import ConditionStatus
from kubernaut_wfe_tools.node_simulator import messages
from kubernaut_wfe_tools.node_simulator.vocabulary import (
    NODE_LEASE_NAMESPACE,
    NodeConditionReason,
    NodeConditionType,
    NodeLabel,
)
from kubernaut_wfe_tools.tekton_simulator.durations import rfc3339

Document = dict[str, Any]

LEASE_DURATION_SECONDS: Final = 40
"""The kubelet's default `nodeLeaseDurationSeconds`; it renews every quarter of it."""
KUBELET_PORT: Final = 10250


@dataclass(frozen=True)
class NodeIdentity:
    """What the stand-in says about its node."""

    name: str = "kubelet-standin"
    internal_ip: str = "127.0.0.1"
    pod_cidr: str = "10.244.0.0/24"
    cpu: str = "2"
    memory: str = "8388608Ki"
    allocatable_memory: str = "8285184Ki"
    """`memory` minus the kubelet's default hard eviction threshold (100Mi)."""
    ephemeral_storage: str = "102687672Ki"
    allocatable_ephemeral_storage: str = "94636440846"
    """90 %: the default `nodefs.available` threshold is 10 %."""
    pods: str = "110"
    kubelet_version: str = ""
    """Empty: the API server's own release, as a kubelet of the cluster's version."""
    container_runtime_version: str = "containerd://2.1.4"
    kernel_version: str = "6.8.0-64-generic"
    os_image: str = "Ubuntu 24.04.3 LTS"


_CONDITIONS: Final = (
    (NodeConditionType.MEMORY_PRESSURE, ConditionStatus.FALSE,
     NodeConditionReason.KUBELET_HAS_SUFFICIENT_MEMORY, messages.KUBELET_HAS_SUFFICIENT_MEMORY),
    (NodeConditionType.DISK_PRESSURE, ConditionStatus.FALSE,
     NodeConditionReason.KUBELET_HAS_NO_DISK_PRESSURE, messages.KUBELET_HAS_NO_DISK_PRESSURE),
    (NodeConditionType.PID_PRESSURE, ConditionStatus.FALSE,
     NodeConditionReason.KUBELET_HAS_SUFFICIENT_PID, messages.KUBELET_HAS_SUFFICIENT_PID),
    (NodeConditionType.READY, ConditionStatus.TRUE,
     NodeConditionReason.KUBELET_READY, messages.KUBELET_READY),
)  # fmt: skip


def node_object(node: NodeIdentity, *, boot_id: str, at: datetime) -> Document:
    """The Node to create, status included (the API server keeps a created Node's status)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "labels": {
                NodeLabel.ARCH.value: "amd64",
                NodeLabel.HOSTNAME.value: node.name,
                NodeLabel.OS.value: "linux",
            },
        },
        "spec": {"podCIDR": node.pod_cidr, "podCIDRs": [node.pod_cidr]},
        "status": node_status(node, boot_id=boot_id, at=at, previous=None),
    }


def node_status(
    node: NodeIdentity, *, boot_id: str, at: datetime, previous: Mapping[str, Any] | None
) -> Document:
    """The Node's status as the kubelet reports it at `at`: Ready, no pressure; each condition's
    `lastTransitionTime` kept from `previous` (the status as read) when its status is unchanged."""
    before = {c.get("type"): c for c in (previous or {}).get("conditions") or []}
    conditions = []
    for kind, status, reason, message in _CONDITIONS:
        old = before.get(kind.value) or {}
        unchanged = old.get("status") == status.value and old.get("lastTransitionTime")
        conditions.append(
            {
                "type": kind.value,
                "status": status.value,
                "lastHeartbeatTime": rfc3339(at),
                "lastTransitionTime": old["lastTransitionTime"] if unchanged else rfc3339(at),
                "reason": reason.value,
                "message": message,
            }
        )
    capacity = {
        "cpu": node.cpu,
        "ephemeral-storage": node.ephemeral_storage,
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": node.memory,
        "pods": node.pods,
    }
    allocatable = {
        **capacity,
        "ephemeral-storage": node.allocatable_ephemeral_storage,
        "memory": node.allocatable_memory,
    }
    return {
        "capacity": capacity,
        "allocatable": allocatable,
        "conditions": conditions,
        "addresses": [
            {"type": "InternalIP", "address": node.internal_ip},
            {"type": "Hostname", "address": node.name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
        "nodeInfo": {
            "machineID": _hex(f"machine/{node.name}")[:32],
            "systemUUID": str(uuid.UUID(_hex(f"system/{node.name}")[:32])),
            "bootID": boot_id,
            "kernelVersion": node.kernel_version,
            "osImage": node.os_image,
            "containerRuntimeVersion": node.container_runtime_version,
            "kubeletVersion": node.kubelet_version,
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    }


def lease_object(node: NodeIdentity, node_uid: str, at: datetime) -> Document:
    """The node's Lease in `kube-node-lease`, owned by the Node, renewed at `at`."""
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": node.name,
            "namespace": NODE_LEASE_NAMESPACE,
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Node", "name": node.name, "uid": node_uid}
            ],
        },
        "spec": {
            "holderIdentity": node.name,
            "leaseDurationSeconds": LEASE_DURATION_SECONDS,
            "renewTime": micro_time(at),
        },
    }


def micro_time(moment: datetime) -> str:
    """Kubernetes `MicroTime`: RFC 3339 with six fraction digits, in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _hex(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()
