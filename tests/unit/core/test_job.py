"""The Job the controller creates for `executionEngine: job` (job-engine.md §1-§3, platform
contract 2026-08 §3-§4), field by field, and where it departs from upstream's on purpose."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from kubernaut_wfe.constants import AuditEventType, Phase
from kubernaut_wfe.core.config import ControllerConfig, load_config
from kubernaut_wfe.core.durations import parse_duration
from kubernaut_wfe.core.engines import refusal
from kubernaut_wfe.core.job import build_job
from kubernaut_wfe.core.models import PipelineRunRef, WorkflowExecution
from kubernaut_wfe.core.parameters import run_parameters
from kubernaut_wfe.core.pipelinerun import build_pipelinerun
from kubernaut_wfe.core.validation import configured_problems, parse_wfe, validate_wfe
from kubernaut_wfe.datastorage.events import build_audit_event

from .conftest import NOW, make_wfe_raw  # noqa: TID252

Factory = Callable[..., dict[str, Any]]
CONFIG = load_config(None)
BUNDLE = "quay.io/kubernaut/workflows/restart:v2"
DIGEST = "sha256:" + "ab" * 32
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def job_wfe(**workflow_ref: Any) -> dict[str, Any]:
    """A catalog snapshot for the Job engine (`make_wfe_raw` with the catalog's fields)."""
    raw = make_wfe_raw()
    ref = raw["spec"]["workflowRef"]
    del ref["containerImage"]
    ref.update(
        {
            "workflowName": "restart-deployment",
            "actionType": "RestartPod",
            "executionBundle": BUNDLE,
            "executionBundleDigest": DIGEST,
            "executionEngine": "job",
            **workflow_ref,
        }
    )
    return raw


def _running(wfe: WorkflowExecution) -> WorkflowExecution:
    status = wfe.status.model_copy(
        update={
            "phase": Phase.RUNNING,
            "start_time": NOW,
            "pipeline_run_ref": PipelineRunRef(name="r"),
        }
    )
    return wfe.model_copy(update={"status": status})


def _build(raw: dict[str, Any], config: ControllerConfig = CONFIG, **kwargs: Any) -> dict[str, Any]:
    assert configured_problems(raw, config) == []
    return build_job(parse_wfe(raw), config, now=NOW, **kwargs)


def _pod(job: Mapping[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = job["spec"]["template"]["spec"]
    return spec


def _container(job: Mapping[str, Any]) -> dict[str, Any]:
    (container,) = _pod(job)["containers"]
    assert isinstance(container, dict)
    return container


def test_the_job_engine_is_one_this_controller_runs() -> None:
    assert refusal(parse_wfe(job_wfe()).spec) is None


def test_identity_takes_the_lock_of_the_pipelinerun() -> None:
    raw = job_wfe()
    job = _build(raw)
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    assert list(job) == ["apiVersion", "kind", "metadata", "spec"]
    # One lock per target, whichever engine runs it (job-engine.md §1: the same name).
    assert job["metadata"]["name"] == "wfe-f3457dcc8fbcb6d9"
    assert (
        job["metadata"]["name"]
        == build_pipelinerun(parse_wfe(raw), CONFIG, now=NOW)["metadata"]["name"]
    )
    assert job["metadata"]["namespace"] == "kubernaut-workflows"
    assert "ownerReferences" not in job["metadata"]
    other = load_config(None, {"execution.namespace": "runs"})
    assert _build(raw, other)["metadata"]["namespace"] == "runs"


def test_labels_are_the_runs_plus_the_engine_and_the_pods_carry_two() -> None:
    raw = job_wfe()
    raw["metadata"]["name"] = "we-" + "x" * 70  # longer than a label value may be
    raw["spec"]["workflowRef"]["workflowId"] = "restart/pod:v2"
    job = _build(raw)
    owner = "we-" + "x" * 60
    assert job["metadata"]["labels"] == {
        "kubernaut.ai/workflow-execution": owner,
        "kubernaut.ai/source-namespace": "default",
        "kubernaut.ai/workflow-id": "restart_pod_v2",
        "kubernaut.ai/target-resource": "default__deployment__nginx",
        "kubernaut.ai/execution-engine": "job",
    }
    assert job["spec"]["template"]["metadata"] == {
        "labels": {"kubernaut.ai/workflow-execution": owner, "kubernaut.ai/execution-engine": "job"}
    }


def test_annotations_are_the_pipelineruns() -> None:
    raw = job_wfe()
    job = _build(raw)
    run = build_pipelinerun(parse_wfe(raw), CONFIG, now=NOW)
    assert job["metadata"]["annotations"] == run["metadata"]["annotations"]
    assert job["metadata"]["annotations"] == {
        "kubernaut.ai/target-resource": "default/deployment/nginx",
        "kubernaut.ai/workflow-execution": "default/restart-nginx",
        "kubernaut.ai/workflow-execution-uid": "11111111-wfe-uid",
    }


def test_the_canonical_target_names_the_lock_and_the_written_one_reaches_the_workflow() -> None:
    raw = job_wfe()
    raw["spec"]["targetResource"] = "default/Deployment/nginx"
    job = _build(raw, canonical_target="default/deployment/nginx")
    assert job["metadata"]["name"] == "wfe-f3457dcc8fbcb6d9"
    assert job["metadata"]["labels"]["kubernaut.ai/target-resource"] == (
        "default__deployment__nginx"
    )
    assert job["metadata"]["annotations"]["kubernaut.ai/target-resource"] == (
        "default/Deployment/nginx"
    )
    env = {item["name"]: item["value"] for item in _container(job)["env"]}
    assert env["TARGET_RESOURCE"] == "default/Deployment/nginx"


def test_one_attempt_and_only_disruptions_are_tolerated() -> None:
    spec = _build(job_wfe())["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["podFailurePolicy"] == {
        "rules": [
            {
                "action": "Ignore",
                "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
            }
        ]
    }
    # The controller deletes the Job (the lock) after the cooldown: no TTL releases it earlier.
    assert "ttlSecondsAfterFinished" not in spec


def test_an_oom_killed_workflow_is_not_retried() -> None:
    """Upstream defect: its rule `Ignore` on exit code 137 of `workflow` retries an OOM-killed
    workflow until the deadline. No rule here looks at exit codes, so the one failure counts
    against `backoffLimit: 0` and fails the Job at once."""
    rules = _build(job_wfe())["spec"]["podFailurePolicy"]["rules"]
    assert [rule for rule in rules if "onExitCodes" in rule] == []
    assert {rule["action"] for rule in rules} == {"Ignore"}
    assert all(rule["onPodConditions"][0]["type"] == "DisruptionTarget" for rule in rules)


@pytest.mark.parametrize(
    ("times_out_at", "timeout", "settings", "seconds"),
    [
        # NOW is 10:02:00.
        (None, None, "", 1800),  # neither: execution.job_active_deadline, 30m by default
        (None, None, "job_active_deadline: 45m", 2700),
        (None, None, "jobActiveDeadline: 1.9s", 1),  # whole seconds
        (None, None, "job_active_deadline: 48h", 86400),  # capped at max_run_timeout
        (None, None, "{job_active_deadline: 2h, max_run_timeout: 1h}", 3600),
        ("2025-06-01T10:32:00Z", None, "", 1800),
        ("2025-06-01T10:02:30.900Z", None, "", 30),  # the fraction dropped, never past it
        ("2025-06-01T10:02:00.500Z", None, "", 1),  # less than a second left: one second
        ("2025-06-04T10:02:00Z", None, "", 86400),  # a far deadline is capped
        ("2025-06-01T10:32:00Z", "10m", "", 600),  # the earlier deadline wins
        ("2025-06-01T10:07:00Z", "10m", "", 300),
        (None, "90s", "job_active_deadline: 5m", 90),  # the WFE's own deadline comes first
        (None, "1500ms", "", 1),
    ],
)
def test_active_deadline_seconds(
    times_out_at: str | None, timeout: str | None, settings: str, seconds: int
) -> None:
    raw = job_wfe() if timeout is None else make_wfe_raw()
    raw["spec"]["workflowRef"]["executionEngine"] = "job"
    if times_out_at is not None:
        raw["spec"]["timesOutAt"] = times_out_at
    if timeout is not None:
        raw["spec"]["executionConfig"] = {"timeout": timeout}
    text = settings if settings.startswith("{") else f"{{{settings}}}"
    config = load_config(f"execution: {text}")
    job = build_job(parse_wfe(raw), config, now=NOW)
    assert job["spec"]["activeDeadlineSeconds"] == seconds
    # One computation for both engines: the PipelineRun gets the same deadline.
    run_timeout = build_pipelinerun(parse_wfe(raw), config, now=NOW)["spec"].get("timeouts")
    if times_out_at is None and timeout is None:
        assert run_timeout is None  # Tekton's own default applies
    else:
        pipeline = parse_duration(run_timeout["pipeline"])
        assert max(1, int(pipeline.total_seconds())) == seconds


def test_the_pod_runs_once_as_the_run_identity_with_the_token_mounted() -> None:
    pod = _pod(_build(job_wfe()))
    assert pod["restartPolicy"] == "Never"
    assert pod["serviceAccountName"] == "kubernaut-workflow-runner"  # the configured runner
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    # The workflow acts on the cluster as its ServiceAccount: it needs the token.
    assert "automountServiceAccountToken" not in pod
    assert [key for key in pod if key.startswith("host") or key == "imagePullSecrets"] == []
    named = _pod(_build(job_wfe(serviceAccountName="deployer")))
    assert named["serviceAccountName"] == "deployer"


def test_one_container_named_workflow_runs_the_bundle_verbatim() -> None:
    container = _container(_build(job_wfe()))
    assert container["name"] == "workflow"
    assert container["image"] == BUNDLE  # executionBundleDigest is never used to pin
    assert not {"command", "args", "imagePullPolicy", "envFrom"} & set(container)
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def test_the_environment_is_the_received_parameters_then_home_and_tmpdir() -> None:
    raw = job_wfe(declaredParameterNames={"b": True, "A": True, "HOME": True, "DROPPED": False})
    raw["spec"]["parameters"] = {"b": "2", "A": "1", "HOME": "/root", "DROPPED": "x", "z": "9"}
    assert _container(_build(raw))["env"] == [
        {"name": "A", "value": "1"},
        {"name": "b", "value": "2"},
        {"name": "TARGET_RESOURCE", "value": "default/deployment/nginx"},
        {"name": "HOME", "value": "/tmp"},  # the root filesystem is read-only: ours wins
        {"name": "TMPDIR", "value": "/tmp"},
    ]


def test_a_parameter_the_job_sets_itself_is_named_not_passed_and_never_audited() -> None:
    raw = job_wfe()
    raw["spec"]["parameters"] = {"HOME": "/root/secret-place", "A": "1"}
    wfe = parse_wfe(raw)
    assert run_parameters(wfe.spec).stripped == ("HOME",)
    audited = build_audit_event(AuditEventType.EXECUTION_STARTED, _running(wfe), at=NOW)
    assert audited.event_data.parameters == {
        "A": "1",
        "TARGET_RESOURCE": "default/deployment/nginx",
    }


@pytest.mark.parametrize(
    ("declared", "names"),
    [
        (None, ["DELAY_SECONDS", "REPLICAS", "TARGET_RESOURCE", "HOME", "TMPDIR"]),
        ({}, ["TARGET_RESOURCE", "HOME", "TMPDIR"]),
        (
            {"REPLICAS": True, "DELAY_SECONDS": False},
            ["REPLICAS", "TARGET_RESOURCE", "HOME", "TMPDIR"],
        ),
    ],
)
def test_declared_parameter_names_filter_the_environment(
    declared: dict[str, bool] | None, names: list[str]
) -> None:
    raw = job_wfe(declaredParameterNames=declared)
    assert [item["name"] for item in _container(_build(raw))["env"]] == names


def test_dependencies_are_read_only_volumes_then_tmp() -> None:
    dependencies = {
        "secrets": [{"name": "db"}, {"name": "api-token"}, {"name": "db"}],
        "configMaps": [{"name": "settings"}],
    }
    job = _build(job_wfe(dependencies=dependencies))
    assert _pod(job)["volumes"] == [
        {"name": "secret-api-token", "secret": {"secretName": "api-token"}},
        {"name": "secret-db", "secret": {"secretName": "db"}},
        {"name": "configmap-settings", "configMap": {"name": "settings"}},
        {"name": "tmp", "emptyDir": {}},
    ]
    assert _container(job)["volumeMounts"] == [
        {
            "name": "secret-api-token",
            "mountPath": "/run/kubernaut/secrets/api-token",
            "readOnly": True,
        },
        {"name": "secret-db", "mountPath": "/run/kubernaut/secrets/db", "readOnly": True},
        {
            "name": "configmap-settings",
            "mountPath": "/run/kubernaut/configmaps/settings",
            "readOnly": True,
        },
        {"name": "tmp", "mountPath": "/tmp"},
    ]


def test_without_dependencies_only_tmp_is_mounted() -> None:
    job = _build(job_wfe())
    assert _pod(job)["volumes"] == [{"name": "tmp", "emptyDir": {}}]
    assert _container(job)["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]


def test_a_dependency_name_that_is_no_volume_name_still_gets_a_valid_distinct_volume() -> None:
    """Upstream's `secret-<name>` makes the create fail for a dotted or long name."""
    dotted, long = "db.credentials", "x" * 60
    job = _build(job_wfe(dependencies={"secrets": [{"name": dotted}, {"name": long}]}))
    volumes = _pod(job)["volumes"][:2]
    names = [volume["name"] for volume in volumes]
    assert all(DNS_LABEL.fullmatch(name) for name in names), names
    assert len(set(names)) == 2
    assert all(name.startswith("secret-") for name in names)
    assert [volume["secret"]["secretName"] for volume in volumes] == [dotted, long]
    mounts = _container(job)["volumeMounts"][:2]
    assert [mount["mountPath"] for mount in mounts] == [
        f"/run/kubernaut/secrets/{dotted}",
        f"/run/kubernaut/secrets/{long}",
    ]
    assert [mount["name"] for mount in mounts] == names


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        (None, None),
        (
            {"limits": {"memory": "128Mi", "cpu": 1}, "requests": {"cpu": "100m"}},
            {"limits": {"memory": "128Mi", "cpu": 1}, "requests": {"cpu": "100m"}},
        ),
        ({"limits": {"memory": "64Mi"}, "requests": None}, {"limits": {"memory": "64Mi"}}),
        ({"claims": [{"name": "gpu", "request": None}]}, {"claims": [{"name": "gpu"}]}),
    ],
)
def test_resources_as_the_api_takes_them(
    resources: dict[str, Any] | None, expected: dict[str, Any] | None
) -> None:
    container = _container(_build(job_wfe(resources=resources)))
    assert container.get("resources") == expected


def test_a_january_wfe_may_run_as_a_job_pinned_to_its_digest() -> None:
    raw = make_wfe_raw()
    raw["spec"]["workflowRef"]["executionEngine"] = "job"
    raw["spec"]["workflowRef"]["containerDigest"] = DIGEST
    raw["spec"]["executionConfig"] = {"timeout": "20m"}
    assert validate_wfe(raw) == []
    job = _build(raw)
    assert _container(job)["image"] == f"quay.io/acme/restart-workflow:v1@{DIGEST}"
    assert job["spec"]["activeDeadlineSeconds"] == 1200
    assert [item["name"] for item in _container(job)["env"]] == [
        "DELAY_SECONDS",
        "REPLICAS",
        "TARGET_RESOURCE",
        "HOME",
        "TMPDIR",
    ]


def test_a_whole_catalog_snapshot() -> None:
    raw = job_wfe(
        serviceAccountName="deployer",
        declaredParameterNames={"REPLICAS": True},
        dependencies={"secrets": [{"name": "kubeconfig"}], "configMaps": [{"name": "limits"}]},
        resources={"limits": {"memory": "256Mi"}},
    )
    raw["spec"]["timesOutAt"] = "2025-06-01T10:12:00Z"
    assert validate_wfe(raw) == []
    job = _build(raw)
    pod = _pod(job)
    container = _container(job)
    assert job["spec"]["activeDeadlineSeconds"] == 600
    assert pod["serviceAccountName"] == "deployer"
    assert [volume["name"] for volume in pod["volumes"]] == [
        "secret-kubeconfig",
        "configmap-limits",
        "tmp",
    ]
    assert container["image"] == BUNDLE
    assert container["resources"] == {"limits": {"memory": "256Mi"}}
    assert [item["name"] for item in container["env"]] == [
        "REPLICAS",
        "TARGET_RESOURCE",
        "HOME",
        "TMPDIR",
    ]
    assert restricted_profile_violations(pod) == []


# The restricted Pod Security Standard (Kubernetes 1.31+, with the baseline it includes): the
# rules that can be checked on the pod spec alone, as the admission plugin checks them.
ALLOWED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def restricted_profile_violations(pod: Mapping[str, Any]) -> list[str]:
    """What the `restricted` profile refuses in this pod spec (empty when it passes)."""
    found = [f"spec.{key}" for key in ("hostNetwork", "hostPID", "hostIPC") if pod.get(key)]
    for volume in pod.get("volumes", []):
        if not set(volume) - {"name"} <= ALLOWED_VOLUMES:
            found.append(f"volume {volume['name']}: {sorted(set(volume) - {'name'})}")
    pod_context = pod.get("securityContext", {})
    if pod_context.get("sysctls"):
        found.append("sysctls")
    for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
        where = f"container {container.get('name')}"
        context = container.get("securityContext", {})
        if context.get("privileged"):
            found.append(f"{where}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{where}: allowPrivilegeEscalation must be false")
        if context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is not True:
            found.append(f"{where}: runAsNonRoot must be true")
        if 0 in (context.get("runAsUser"), pod_context.get("runAsUser")):
            found.append(f"{where}: runAsUser 0")
        seccomp = context.get("seccompProfile", pod_context.get("seccompProfile", {}))
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            found.append(f"{where}: seccompProfile")
        capabilities = context.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []):
            found.append(f"{where}: capabilities must drop ALL")
        if set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"{where}: capabilities added")
        if context.get("procMount", "Default") != "Default":
            found.append(f"{where}: procMount")
        if any(port.get("hostPort") for port in container.get("ports", [])):
            found.append(f"{where}: hostPort")
    return found


@pytest.mark.parametrize(
    "raw",
    [
        job_wfe(),
        job_wfe(dependencies={"secrets": [{"name": "a"}], "configMaps": [{"name": "b"}]}),
        make_wfe_raw(),
    ],
    ids=["catalog", "dependencies", "january"],
)
def test_the_job_passes_the_restricted_pod_security_profile(raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(raw)
    raw["spec"]["workflowRef"]["executionEngine"] = "job"
    assert restricted_profile_violations(_pod(_build(raw))) == []


@pytest.mark.parametrize(
    ("change", "violation"),
    [
        (lambda pod: pod.update(hostNetwork=True), "spec.hostNetwork"),
        (lambda pod: pod["volumes"].append({"name": "h", "hostPath": {"path": "/"}}), "volume h"),
        (
            lambda pod: pod["containers"][0]["securityContext"].pop("allowPrivilegeEscalation"),
            "allowPrivilegeEscalation",
        ),
        (lambda pod: pod["securityContext"].pop("runAsNonRoot"), "runAsNonRoot"),
        (lambda pod: pod["securityContext"].pop("seccompProfile"), "seccompProfile"),
        (
            lambda pod: pod["containers"][0]["securityContext"]["capabilities"].update(
                add=["SYS_ADMIN"]
            ),
            "capabilities added",
        ),
    ],
)
def test_the_profile_check_catches_each_rule(
    change: Callable[[dict[str, Any]], object], violation: str
) -> None:
    pod = copy.deepcopy(_pod(_build(job_wfe())))
    pod["containers"][0]["securityContext"].pop("runAsNonRoot")  # the pod's own setting counts
    assert restricted_profile_violations(pod) == []
    change(pod)
    assert any(violation in found for found in restricted_profile_violations(pod))
