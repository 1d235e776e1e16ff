"""What the node stand-in's kubelet makes of a pod to run its container: the chart's own pod,
then each rule on a small pod."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

from kubernaut_wfe_tools.node_simulator.samples import kube_api_access_volume
from kubernaut_wfe_tools.node_simulator.service_pods.images import ImageConfig, controller_image
from kubernaut_wfe_tools.node_simulator.service_pods.spec import (
    ConfigError,
    ContainerPlan,
    Identity,
    Lookup,
    Probe,
    expand,
    field_value,
    grace_period,
    identity,
    plan_container,
    quantity_bytes,
    restart_policy,
    service_environment,
)
from kubernaut_wfe_tools.testing.install import render_chart

POD_IP = "10.244.0.7"
HOST_IP = "172.18.0.2"
KUBERNETES_SERVICE = ("kubernetes", "10.96.0.1", 443)
SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
KUBE_API_ACCESS = kube_api_access_volume()


def chart_pod() -> dict[str, Any]:
    """The pod the chart's Deployment gets, as the API server stores it: the template, named,
    with the `kube-api-access` volume the ServiceAccount admission adds."""
    deployment = next(d for d in render_chart(None) if d["kind"] == "Deployment")
    pod: dict[str, Any] = copy.deepcopy(deployment["spec"]["template"])
    pod["metadata"].update(
        name="kubernaut-wfe-controller-5d9c7f8b6-q2x4z",
        namespace="kubernaut-system",
        uid="6f1c2a7e-0b7d-4f8e-9a51-3c2d1e0f9a8b",
    )
    pod["spec"]["nodeName"] = "kubelet-standin"
    pod["spec"]["volumes"].append(KUBE_API_ACCESS)
    pod["spec"]["containers"][0]["volumeMounts"].append(
        {"name": KUBE_API_ACCESS["name"], "mountPath": SERVICE_ACCOUNT_MOUNT, "readOnly": True}
    )
    return pod


@pytest.fixture(scope="module")
def chart_plan() -> ContainerPlan:
    pod = chart_pod()
    return plan_container(
        pod,
        pod["spec"]["containers"][0],
        controller_image(),
        identity(pod, pod_ip=POD_IP, host_ip=HOST_IP),
        service_env=service_environment([KUBERNETES_SERVICE]),
        lookup={},
    )


def test_the_chart_pod_runs_the_image_entrypoint_with_the_chart_args(
    chart_plan: ContainerPlan,
) -> None:
    assert chart_plan.name == "controller"
    assert chart_plan.argv == ("kubernaut-wfe", "run", "--config", "/etc/kubernaut-wfe/config.yaml")
    assert chart_plan.working_dir == "/tmp"


def test_the_chart_pod_environment(chart_plan: ContainerPlan) -> None:
    env = chart_plan.env
    assert env["PATH"].startswith("/opt/kubernaut-wfe/bin:")
    assert env["HOME"] == "/tmp"
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert env["KUBERNETES_SERVICE_PORT"] == "443"
    assert env["POD_NAMESPACE"] == "kubernaut-system"


def test_the_chart_pod_security(chart_plan: ContainerPlan) -> None:
    assert (chart_plan.uid, chart_plan.gid) == (65532, 65532)
    assert chart_plan.supplemental_groups == (65532,)  # the fsGroup
    assert chart_plan.read_only_root
    assert chart_plan.no_new_privileges
    assert chart_plan.memory_limit_bytes == 512 * 2**20


def test_the_chart_pod_probes_resolve_the_named_port(chart_plan: ContainerPlan) -> None:
    assert chart_plan.liveness == Probe(
        path="/healthz",
        port=8081,
        scheme="http",
        initial_delay=15,
        period=20,
        timeout=5,
        success_threshold=1,
        failure_threshold=3,
    )
    assert chart_plan.readiness is not None
    assert (chart_plan.readiness.path, chart_plan.readiness.port) == ("/readyz", 8081)
    assert (chart_plan.readiness.initial_delay, chart_plan.readiness.period) == (5, 10)


def test_the_chart_pod_mounts(chart_plan: ContainerPlan) -> None:
    assert chart_plan.volume_mounts == (
        ("config", "/etc/kubernaut-wfe", True),
        ("tmp", "/tmp", False),
        ("kube-api-access-x7k2p", SERVICE_ACCOUNT_MOUNT, True),
    )


def test_the_chart_pod_restarts_always_and_has_thirty_seconds_to_stop() -> None:
    pod = chart_pod()

    assert restart_policy(pod) == "Always"
    assert grace_period(pod) == 30.0
    pod["metadata"]["deletionGracePeriodSeconds"] = 5
    assert grace_period(pod) == 5.0


# --- each rule on a small pod ----------------------------------------------------------------

IMAGE = ImageConfig(
    entrypoint=("/bin/app",),
    cmd=("serve",),
    user=1000,
    env={"PATH": "/usr/bin", "IMAGE_ONLY": "from-the-image"},
)


def pod_of(container: Mapping[str, Any], **pod_spec: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "app-0",
            "namespace": "apps",
            "uid": "uid-1",
            "labels": {"app": "demo"},
            "annotations": {"team": "blue"},
        },
        "spec": {"containers": [{"name": "app", "image": "app:1", **container}], **pod_spec},
    }


def plan(
    container: Mapping[str, Any] | None = None,
    *,
    image: ImageConfig = IMAGE,
    lookup: Lookup | None = None,
    **pod_spec: Any,
) -> ContainerPlan:
    pod = pod_of(container or {}, **pod_spec)
    return plan_container(
        pod,
        pod["spec"]["containers"][0],
        image,
        identity(pod, pod_ip=POD_IP, host_ip=HOST_IP),
        service_env=service_environment([KUBERNETES_SERVICE]),
        lookup=lookup or {},
    )


@pytest.mark.parametrize(
    ("container", "argv"),
    [
        ({}, ("/bin/app", "serve")),
        ({"args": ["check", "--all"]}, ("/bin/app", "check", "--all")),
        ({"args": []}, ("/bin/app", "serve")),
        ({"command": ["/bin/other"]}, ("/bin/other",)),
        ({"command": ["/bin/other"], "args": ["-v"]}, ("/bin/other", "-v")),
    ],
)
def test_the_command_line(container: Mapping[str, Any], argv: tuple[str, ...]) -> None:
    assert plan(container).argv == argv


def test_no_command_anywhere_is_refused() -> None:
    with pytest.raises(ConfigError, match="no command specified"):
        plan(image=ImageConfig())


def test_variable_references_in_command_and_args_are_expanded() -> None:
    container = {
        "command": ["/bin/app", "--host=$(KUBERNETES_SERVICE_HOST)"],
        "args": ["--name=$(NAME)", "--full=$(FULL)", "$$(NAME)", "$(UNDEFINED)", "costs $$5"],
        "env": [{"name": "NAME", "value": "one"}, {"name": "FULL", "value": "$(NAME)-two"}],
    }

    assert plan(container).argv == (
        "/bin/app",
        "--host=10.96.0.1",
        "--name=one",
        "--full=one-two",
        "$(NAME)",
        "$(UNDEFINED)",
        "costs $5",
    )


def test_an_env_value_sees_only_the_variables_declared_before_it() -> None:
    container = {"env": [{"name": "EARLY", "value": "[$(LATE)]"}, {"name": "LATE", "value": "x"}]}

    assert plan(container).env["EARLY"] == "[$(LATE)]"


def test_the_image_environment_is_not_visible_to_expansion() -> None:
    # The kubelet expands with the Service variables and the container's own env only.
    container = {
        "args": ["$(IMAGE_ONLY)"],
        "env": [{"name": "COPY", "value": "$(IMAGE_ONLY)"}],
    }

    planned = plan(container)

    assert planned.argv == ("/bin/app", "$(IMAGE_ONLY)")
    assert planned.env["COPY"] == "$(IMAGE_ONLY)"
    assert planned.env["IMAGE_ONLY"] == "from-the-image"


def test_the_image_entrypoint_and_cmd_are_not_expanded() -> None:
    image = ImageConfig(entrypoint=("/bin/sh", "-c"), cmd=("echo $$HOME $(NAME)",), user=1)
    container = {"env": [{"name": "NAME", "value": "one"}]}

    assert plan(container, image=image).argv == ("/bin/sh", "-c", "echo $$HOME $(NAME)")


def test_the_container_env_overrides_the_image_env() -> None:
    container = {"env": [{"name": "PATH", "value": "/custom/bin"}]}

    assert plan(container).env["PATH"] == "/custom/bin"


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("$(A)", "1"),
        ("$(A)$(B)", "12"),
        ("$$(A)", "$(A)"),
        ("$$$(A)", "$1"),
        ("$(MISSING)", "$(MISSING)"),
        ("$(A", "$(A"),
        ("$A", "$A"),
        ("plain", "plain"),
    ],
)
def test_expand(text: str, expanded: str) -> None:
    assert expand(text, {"A": "1", "B": "2"}) == expanded


def test_run_as_non_root_without_a_user_is_refused_with_the_kubelet_text() -> None:
    rootful = ImageConfig(entrypoint=("/bin/app",))

    with pytest.raises(ConfigError) as refused:
        plan({"securityContext": {"runAsNonRoot": True}}, image=rootful)

    assert str(refused.value) == (
        'container has runAsNonRoot and image will run as root (pod: "app-0_apps(uid-1)", '
        "container: app)"
    )


def test_run_as_non_root_with_an_image_user_of_zero_is_refused_as_running_as_root() -> None:
    root_image = ImageConfig(entrypoint=("/bin/app",), user=0)

    with pytest.raises(
        ConfigError, match=r"^container has runAsNonRoot and image will run as root"
    ):
        plan({"securityContext": {"runAsNonRoot": True}}, image=root_image)


@pytest.mark.parametrize("where", ["container", "pod"])
def test_run_as_non_root_with_run_as_user_zero_is_refused(where: str) -> None:
    context: dict[str, Any] = {"runAsNonRoot": True, "runAsUser": 0}
    container = {"securityContext": context} if where == "container" else {}
    pod_spec: dict[str, Any] = {"securityContext": context} if where == "pod" else {}

    with pytest.raises(ConfigError) as refused:
        plan(container, **pod_spec)

    assert str(refused.value) == (
        'container\'s runAsUser breaks non-root policy (pod: "app-0_apps(uid-1)", container: app)'
    )


def test_run_as_non_root_with_a_non_root_image_user_runs_as_that_user() -> None:
    assert plan({"securityContext": {"runAsNonRoot": True}}).uid == 1000


def test_the_container_security_context_overrides_the_pod_one() -> None:
    planned = plan(
        {"securityContext": {"runAsUser": 3000}},
        securityContext={"runAsUser": 2000, "runAsGroup": 2001, "supplementalGroups": [5, 6]},
    )

    assert (planned.uid, planned.gid) == (3000, 2001)
    assert planned.supplemental_groups == (5, 6)
    assert not planned.read_only_root
    assert not planned.no_new_privileges
    assert planned.memory_limit_bytes is None


def test_an_fs_group_already_among_the_supplemental_groups_is_listed_once() -> None:
    planned = plan(securityContext={"supplementalGroups": [7, 8], "fsGroup": 7})

    assert planned.supplemental_groups == (7, 8)


def test_key_references_take_their_values_from_the_lookup() -> None:
    container = {
        "env": [
            {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "level"}}},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
        ]
    }
    lookup = {("configmaps", "cfg", "level"): "debug", ("secrets", "creds", "token"): "s3cr3t"}

    env = plan(container, lookup=lookup).env

    assert (env["LEVEL"], env["TOKEN"]) == ("debug", "s3cr3t")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"configMapKeyRef": {"name": "x", "key": "k"}}, 'configmap "x" not found'),
        ({"secretKeyRef": {"name": "y", "key": "k"}}, 'secret "y" not found'),
    ],
)
def test_a_reference_to_a_missing_object_is_refused(
    source: Mapping[str, Any], message: str
) -> None:
    container = {"env": [{"name": "V", "valueFrom": source}]}

    with pytest.raises(ConfigError) as refused:
        plan(container, lookup={})

    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("source", "lookup", "message"),
    [
        (
            {"configMapKeyRef": {"name": "x", "key": "k"}},
            {("configmaps", "x", "k"): None},
            "couldn't find key k in ConfigMap apps/x",
        ),
        (
            {"secretKeyRef": {"name": "y", "key": "k"}},
            {("secrets", "y", "k"): None},
            "couldn't find key k in Secret apps/y",
        ),
    ],
)
def test_a_reference_to_a_missing_key_is_refused_as_the_kubelet_words_it(
    source: Mapping[str, Any], lookup: Mapping[tuple[str, str, str], str | None], message: str
) -> None:
    container = {"env": [{"name": "V", "valueFrom": source}]}

    with pytest.raises(ConfigError) as refused:
        plan(container, lookup=lookup)

    assert str(refused.value) == message


def test_a_missing_optional_key_reference_is_skipped() -> None:
    optional = {"name": "x", "key": "k", "optional": True}
    container = {"env": [{"name": "V", "valueFrom": {"configMapKeyRef": optional}}]}

    assert "V" not in plan(container).env


def test_env_from_is_refused() -> None:
    with pytest.raises(ConfigError, match="envFrom"):
        plan({"envFrom": [{"configMapRef": {"name": "cfg"}}]})


def test_an_unplayed_value_source_is_refused() -> None:
    source = {"resourceFieldRef": {"resource": "limits.memory"}}

    with pytest.raises(ConfigError, match="valueFrom"):
        plan({"env": [{"name": "MEMORY", "valueFrom": source}]})


WHO = Identity(
    name="app-0",
    namespace="apps",
    uid="uid-1",
    node_name="kubelet-standin",
    service_account="runner",
    pod_ip=POD_IP,
    host_ip=HOST_IP,
    labels={"app": "demo"},
    annotations={"team": "blue"},
)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("metadata.name", "app-0"),
        ("metadata.namespace", "apps"),
        ("metadata.uid", "uid-1"),
        ("spec.nodeName", "kubelet-standin"),
        ("spec.serviceAccountName", "runner"),
        ("status.podIP", POD_IP),
        ("status.hostIP", HOST_IP),
        ("metadata.labels['app']", "demo"),
        ("metadata.labels['absent']", ""),
        ("metadata.annotations['team']", "blue"),
    ],
)
def test_field_value(path: str, value: str) -> None:
    assert field_value(path, WHO) == value


def test_an_unsupported_field_path_is_refused() -> None:
    with pytest.raises(ConfigError, match=r'unsupported fieldPath: "metadata\.labels"'):
        field_value("metadata.labels", WHO)


def test_identity_defaults_the_service_account() -> None:
    assert identity(pod_of({}), pod_ip=POD_IP, host_ip=HOST_IP).service_account == "default"


@pytest.mark.parametrize(
    ("quantity", "size"),
    [
        ("512Mi", 512 * 2**20),
        ("1G", 10**9),
        ("128974848", 128974848),
        ("0.5Gi", 2**29),
        ("100m", 1),  # a tenth of a byte, rounded up
        ("1.5Ki", 1536),
        ("2k", 2000),
        ("1e3", 1000),
        (" 64Mi ", 64 * 2**20),
    ],
)
def test_quantity_bytes(quantity: str, size: int) -> None:
    assert quantity_bytes(quantity) == size


@pytest.mark.parametrize("quantity", ["bad", "", "Mi", "-1Gi", "1.2.3", "12 Mi", "1Mb"])
def test_a_malformed_quantity_is_refused(quantity: str) -> None:
    with pytest.raises(ConfigError, match="quantities must match"):
        quantity_bytes(quantity)


def test_a_probe_port_may_be_a_number_or_a_numeric_string() -> None:
    container = {
        "livenessProbe": {"httpGet": {"path": "/live", "port": "8080", "scheme": "HTTPS"}},
        "readinessProbe": {"httpGet": {"port": 9090}},
    }

    planned = plan(container)

    assert planned.liveness is not None
    assert (planned.liveness.port, planned.liveness.scheme) == (8080, "https")
    assert planned.readiness == Probe(
        path="/",
        port=9090,
        scheme="http",
        initial_delay=0,
        period=10,
        timeout=1,
        success_threshold=1,
        failure_threshold=3,
    )


@pytest.mark.parametrize(
    ("probe", "complaint"),
    [
        ({"httpGet": {"port": "health"}}, "not a named container port"),
        ({"exec": {"command": ["true"]}}, "only httpGet probes"),
    ],
)
def test_a_probe_that_cannot_be_played_is_refused(probe: Mapping[str, Any], complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        plan({"livenessProbe": probe})


def test_the_service_environment_of_the_kubernetes_service() -> None:
    assert service_environment([KUBERNETES_SERVICE]) == {
        "KUBERNETES_SERVICE_HOST": "10.96.0.1",
        "KUBERNETES_SERVICE_PORT": "443",
        "KUBERNETES_SERVICE_PORT_HTTPS": "443",
        "KUBERNETES_PORT": "tcp://10.96.0.1:443",
        "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443",
        "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
        "KUBERNETES_PORT_443_TCP_PORT": "443",
        "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1",
    }


def test_a_service_name_with_dashes_becomes_an_upper_case_prefix() -> None:
    env = service_environment([("audit-service", "10.96.0.20", 8080)])

    assert env["AUDIT_SERVICE_SERVICE_HOST"] == "10.96.0.20"
    assert "KUBERNETES_SERVICE_PORT_HTTPS" not in env
