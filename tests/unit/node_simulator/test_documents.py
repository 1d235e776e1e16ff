"""The Node, its Lease, the kubelet's Events and verbatim texts, against the 1.36 schemas."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernaut_wfe.constants import EventType
from kubernaut_wfe_tools.node_simulator import messages
from kubernaut_wfe_tools.node_simulator.documents.events import (
    KubeletEvent,
    event_name,
    event_object,
    repeat_patch,
)
from kubernaut_wfe_tools.node_simulator.documents.node import (
    NodeIdentity,
    lease_object,
    micro_time,
    node_object,
    node_status,
)
from kubernaut_wfe_tools.node_simulator.documents.pod import binding
from kubernaut_wfe_tools.node_simulator.scenario import PodScenario

T0 = datetime(2025, 6, 1, 10, 0, 0, tzinfo=UTC)
NODE = NodeIdentity(name="kubelet-standin", kubelet_version="v1.36.3")
Validate = Callable[[Mapping[str, Any]], None]
MakeScenario = Callable[..., PodScenario]


def _conditions(status: Mapping[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in status["conditions"]}


def test_the_node_is_ready_without_pressure(validate: Validate) -> None:
    node = node_object(NODE, boot_id="boot", at=T0)
    validate(node)
    assert _conditions(node["status"]) == {
        "MemoryPressure": (
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        "DiskPressure": ("False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        "PIDPressure": ("False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        "Ready": ("True", "KubeletReady", "kubelet is posting ready status"),
    }
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == NODE.name
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.36.3"
    assert {a["type"]: a["address"] for a in node["status"]["addresses"]} == {
        "InternalIP": "127.0.0.1",
        "Hostname": NODE.name,
    }
    assert node["status"]["allocatable"]["pods"] == "110"


def test_a_status_report_moves_heartbeats_not_transitions() -> None:
    first = node_status(NODE, boot_id="boot", at=T0, previous=None)
    later = node_status(NODE, boot_id="boot", at=T0 + timedelta(minutes=5), previous=first)
    for before, after in zip(first["conditions"], later["conditions"], strict=True):
        assert after["lastTransitionTime"] == before["lastTransitionTime"] == "2025-06-01T10:00:00Z"
        assert after["lastHeartbeatTime"] == "2025-06-01T10:05:00Z"


def test_the_lease_is_the_node_s_and_renewed_to_the_microsecond(validate: Validate) -> None:
    lease = lease_object(NODE, "node-uid", T0 + timedelta(microseconds=1500))
    validate(lease)
    assert lease["metadata"]["namespace"] == "kube-node-lease"
    assert lease["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": NODE.name, "uid": "node-uid"}
    ]
    assert lease["spec"] == {
        "holderIdentity": NODE.name,
        "leaseDurationSeconds": 40,
        "renewTime": "2025-06-01T10:00:00.001500Z",
    }
    assert micro_time(T0) == "2025-06-01T10:00:00.000000Z"


def test_binding_names_the_pod_and_the_node(scenario_of: MakeScenario, validate: Validate) -> None:
    scenario = scenario_of()
    document = binding(scenario, NODE.name)
    validate(document)
    assert document["metadata"] == {"name": scenario.name, "uid": scenario.uid}
    assert document["target"] == {"apiVersion": "v1", "kind": "Node", "name": NODE.name}


def test_a_container_event_is_the_kubelet_s(scenario_of: MakeScenario, validate: Validate) -> None:
    scenario = scenario_of()
    event = KubeletEvent(EventType.NORMAL, "Started", "Container started")
    name = event_name(scenario.name, 0x18449AA4FD000001)
    document = event_object(
        scenario, event, name=name, node=NODE.name, at=T0, pod_resource_version="42"
    )
    validate(document)
    assert name == f"{scenario.name}.18449aa4fd000001"
    assert document["involvedObject"] == {
        "kind": "Pod",
        "namespace": scenario.namespace,
        "name": scenario.name,
        "uid": scenario.uid,
        "apiVersion": "v1",
        "resourceVersion": "42",
        "fieldPath": "spec.containers{workflow}",
    }
    assert document["source"] == {"component": "kubelet", "host": NODE.name}
    assert (document["reportingComponent"], document["reportingInstance"]) == ("kubelet", NODE.name)
    assert (document["type"], document["reason"], document["count"]) == ("Normal", "Started", 1)
    assert document["firstTimestamp"] == document["lastTimestamp"] == "2025-06-01T10:00:00Z"


def test_a_pod_event_has_no_field_path(scenario_of: MakeScenario) -> None:
    event = KubeletEvent(EventType.WARNING, "FailedMount", "…", about_container=False)
    document = event_object(
        scenario_of(), event, name="n", node=NODE.name, at=T0, pod_resource_version=None
    )
    assert "fieldPath" not in document["involvedObject"]
    assert "resourceVersion" not in document["involvedObject"]


def test_a_repeated_event_is_counted_again() -> None:
    event = KubeletEvent(EventType.WARNING, "FailedMount", "text", about_container=False)
    assert repeat_patch(event, 3, T0 + timedelta(seconds=20)) == {
        "count": 3,
        "lastTimestamp": "2025-06-01T10:00:20Z",
        "message": "text",
    }
    assert event.key == KubeletEvent(EventType.WARNING, "FailedMount", "text").key


def test_verbatim_texts() -> None:
    assert messages.mount_failed("secret-db", "Secret", "db") == (
        'MountVolume.SetUp failed for volume "secret-db" : secret "db" not found'
    )
    assert messages.mount_failed("configmap-cm", "ConfigMap", "cm") == (
        'MountVolume.SetUp failed for volume "configmap-cm" : configmap "cm" not found'
    )
    assert messages.runs_as_root("p", "ns", "u-1", "workflow") == (
        'container has runAsNonRoot and image will run as root (pod: "p_ns(u-1)", '
        "container: workflow)"
    )
    assert messages.image_not_found("docker.io/library/x:v1") == (
        "rpc error: code = NotFound desc = failed to pull and unpack image "
        '"docker.io/library/x:v1": failed to resolve reference "docker.io/library/x:v1": '
        "docker.io/library/x:v1: not found"
    )
    assert messages.back_off_waiting("x:v1", "boom") == (
        'Back-off pulling image "x:v1": ErrImagePull: boom'
    )
    assert messages.pulled_image("x:v1", "1.5s", 123) == (
        'Successfully pulled image "x:v1" in 1.5s (1.5s including waiting). Image size: 123 bytes.'
    )
    assert (
        messages.containers_not_ready(["workflow"]) == "containers with unready status: [workflow]"
    )
    assert messages.evicted_for_memory(
        threshold="100Mi", available="87040Ki", container="workflow", usage="1Gi", request="0"
    ) == (
        "The node was low on resource: memory. Threshold quantity: 100Mi, available: 87040Ki. "
        "Container workflow was using 1Gi, request is 0, has larger consumption of memory. "
    )
