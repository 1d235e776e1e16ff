"""`kubernaut-wfe render` through the real CLI entry point (reads only files under tmp_path)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubernaut_wfe.cli import main

EXAMPLE = """\
apiVersion: kubernaut.ai/v1alpha1
kind: WorkflowExecution
metadata:
  name: restart-nginx
  namespace: default
spec:
  remediationRequestRef:
    name: rr-restart-nginx
  workflowRef:
    workflowId: restart-deployment
    version: "1.0.0"
    containerImage: quay.io/kubernaut/restart-workflow:v1
  targetResource: default/deployment/nginx
  parameters:
    REPLICAS: "3"
    DELAY_SECONDS: "2"
  executionConfig:
    timeout: 30m
"""


def _write(tmp_path: Path, text: str, name: str = "wfe.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_renders_the_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "-f", _write(tmp_path, EXAMPLE)]) == 0
    out = capsys.readouterr().out
    run = yaml.safe_load(out)
    assert list(run) == ["apiVersion", "kind", "metadata", "spec"]
    assert run["metadata"]["name"] == "wfe-f3457dcc8fbcb6d9"
    assert run["metadata"]["namespace"] == "kubernaut-workflows"
    assert set(run["metadata"]["labels"]) == {
        "kubernaut.ai/workflow-execution",
        "kubernaut.ai/source-namespace",
        "kubernaut.ai/workflow-id",
        "kubernaut.ai/target-resource",
    }
    assert run["metadata"]["annotations"] == {
        "kubernaut.ai/target-resource": "default/deployment/nginx",
        "kubernaut.ai/workflow-execution": "default/restart-nginx",
        "kubernaut.ai/workflow-execution-uid": "",
    }
    assert run["spec"]["pipelineRef"]["resolver"] == "bundles"
    assert [p["name"] for p in run["spec"]["params"]] == [
        "DELAY_SECONDS",
        "REPLICAS",
        "TARGET_RESOURCE",
    ]
    assert run["spec"]["timeouts"] == {"pipeline": "30m"}


def test_output_is_stable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, EXAMPLE)
    main(["render", "-f", path])
    first = capsys.readouterr().out
    main(["render", "-f", path])
    assert capsys.readouterr().out == first


def test_config_file_changes_namespace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _write(tmp_path, "execution:\n  namespace: other-ns\n", "config.yaml")
    assert main(["render", "-f", _write(tmp_path, EXAMPLE), "--config", config]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["metadata"]["namespace"] == "other-ns"


def test_invalid_wfe_lists_every_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = EXAMPLE.replace("default/deployment/nginx", "nginx").replace(
        "REPLICAS", "TARGET_RESOURCE"
    )
    assert main(["render", "-f", _write(tmp_path, bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert any(":doc 1: default/restart-nginx: spec.targetResource: " in line for line in lines)
    assert any(": spec.parameters.TARGET_RESOURCE: " in line for line in lines)


@pytest.mark.parametrize(
    "text",
    ["spec: [unclosed\n", "- just\n- a list\n", "\xff"],
)
def test_unreadable_yaml_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    assert main(["render", "-f", _write(tmp_path, text)]) == 2
    assert "render:" in capsys.readouterr().err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "-f", str(tmp_path / "absent.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _write(tmp_path, "execution:\n  cooldown_period: 5x\n", "config.yaml")
    assert main(["render", "-f", _write(tmp_path, EXAMPLE), "--config", config]) == 2
    assert 'execution.cooldown_period: invalid duration "5x"' in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("kind: WorkflowExecution\n", ""), "kind"),
        (("kind: WorkflowExecution\n", "kind: Pod\n"), "kind"),
        (("apiVersion: kubernaut.ai/v1alpha1\n", "apiVersion: kubernaut.ai/v1\n"), "apiVersion"),
        (("  name: restart-nginx\n", "  name: Restart_Nginx\n"), "metadata.name"),
    ],
)
def test_render_refuses_what_validate_refuses_about_the_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: tuple[str, str], field: str
) -> None:
    text = EXAMPLE.replace(*change)
    assert main(["render", "-f", _write(tmp_path, text)]) == 1
    assert f"{field}:" in capsys.readouterr().err
    assert main(["validate", "-f", _write(tmp_path, text)]) == 1
    assert field in capsys.readouterr().out


@pytest.mark.parametrize("command", ["render", "validate"])
def test_input_past_the_bound_is_refused_without_reading_it_all(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "-f", "/dev/zero"]) == 2
    assert "/dev/zero is larger than 4 MiB" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["render", "validate"])
def test_deeply_nested_yaml_is_one_line_not_a_traceback(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert main([command, "-f", path]) == 2
    assert "nested too deeply" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["render", "validate"])
def test_a_parameter_name_that_is_not_a_string_is_a_problem(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, EXAMPLE.replace('    REPLICAS: "3"\n', '    1: "3"\n'))
    assert main([command, "-f", path]) == 1
    captured = capsys.readouterr()
    assert "spec.parameters" in captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err


CATALOG = """\
apiVersion: kubernaut.ai/v1alpha1
kind: WorkflowExecution
metadata:
  name: we-rr-7
  namespace: default
spec:
  remediationRequestRef:
    name: rr-7
  workflowRef:
    workflowId: 8f0c5d1e-0000-4000-8000-000000000007
    workflowName: restart-deployment
    actionType: RestartPod
    version: "2.1.0"
    executionBundle: quay.io/kubernaut/workflows/restart:v2
    executionEngine: tekton
    declaredParameterNames:
      REPLICAS: true
      DRY_RUN: false
  targetResource: default/deployment/nginx
  parameters:
    REPLICAS: "3"
    DRY_RUN: "true"
    API_TOKEN: s3cr3t
"""


def test_a_catalog_snapshot_renders_only_its_declared_parameters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render", "-f", _write(tmp_path, CATALOG)]) == 0
    run = yaml.safe_load(capsys.readouterr().out)
    assert run["spec"]["pipelineRef"]["params"][0]["value"] == (
        "quay.io/kubernaut/workflows/restart:v2"
    )
    assert {p["name"]: p["value"] for p in run["spec"]["params"]} == {
        "REPLICAS": "3",
        "TARGET_RESOURCE": "default/deployment/nginx",
    }


def test_a_catalog_snapshot_renders_its_service_account_unless_the_list_refuses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    named = CATALOG.replace(
        "    workflowName:", "    serviceAccountName: deployer\n    workflowName:"
    )
    path = _write(tmp_path, named)
    assert main(["render", "-f", path]) == 0  # offline: no existence check, an empty list
    run = yaml.safe_load(capsys.readouterr().out)
    assert run["spec"]["taskRunTemplate"]["serviceAccountName"] == "deployer"
    config = _write(tmp_path, "execution: {allowed_service_accounts: [builder]}", "config.yaml")
    assert main(["render", "-f", path, "--config", config]) == 1
    assert 'spec.workflowRef.serviceAccountName: "deployer"' in capsys.readouterr().err


def test_a_stream_renders_one_run_per_workflowexecution(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ansible = CATALOG.replace("we-rr-7", "we-ansible").replace(
        "executionEngine: tekton", "executionEngine: ansible"
    )
    other = EXAMPLE.replace("default/deployment/nginx", "default/deployment/web")
    text = "---\n".join([EXAMPLE, ansible, "", other])
    assert main(["render", "-f", _write(tmp_path, text)]) == 0
    captured = capsys.readouterr()
    runs = list(yaml.safe_load_all(captured.out))
    assert [run["metadata"]["annotations"]["kubernaut.ai/target-resource"] for run in runs] == [
        "default/deployment/nginx",
        "default/deployment/web",
    ]
    assert captured.err.splitlines() == [
        f"{tmp_path / 'wfe.yaml'}:doc 2: default/we-ansible: not rendered (UnsupportedEngine):"
        ' execution engine "ansible" is not available: this controller runs job, tekton'
    ]


def test_one_invalid_workflowexecution_of_a_stream_exits_1_and_the_rest_render(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = CATALOG.replace("    workflowName: restart-deployment\n", "")
    assert main(["render", "-f", _write(tmp_path, "---\n".join([bad, EXAMPLE]))]) == 1
    captured = capsys.readouterr()
    assert len(list(yaml.safe_load_all(captured.out))) == 1
    assert ":doc 1: default/we-rr-7: spec.workflowRef.workflowName: is required" in captured.err


def test_a_catalog_snapshot_renders_what_its_run_receives_and_runs_as(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's acceptance: only the declared parameters plus TARGET_RESOURCE, the
    workspaces, the service account and the timeout (a deadline far ahead: the 24h cap)."""
    text = CATALOG.replace(
        "    workflowName:",
        "    serviceAccountName: deployer\n"
        "    dependencies:\n"
        "      secrets: [{name: db-credentials}]\n"
        "      configMaps: [{name: app-settings}]\n"
        "    workflowName:",
    ).replace("  targetResource:", '  timesOutAt: "2999-01-01T00:00:00Z"\n  targetResource:')
    assert main(["render", "-f", _write(tmp_path, text)]) == 0
    spec = yaml.safe_load(capsys.readouterr().out)["spec"]
    assert [p["name"] for p in spec["params"]] == ["REPLICAS", "TARGET_RESOURCE"]
    assert spec["workspaces"] == [
        {"name": "secret-db-credentials", "secret": {"secretName": "db-credentials"}},
        {"name": "configmap-app-settings", "configMap": {"name": "app-settings"}},
    ]
    assert spec["taskRunTemplate"]["serviceAccountName"] == "deployer"
    assert spec["timeouts"] == {"pipeline": "24h0m0s"}


def test_a_job_engine_wfe_renders_its_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job_engine = (
        CATALOG.replace("executionEngine: tekton", "executionEngine: job")
        .replace("    workflowName:", "    resources: {limits: {memory: 64Mi}}\n    workflowName:")
        .replace("  targetResource:", '  timesOutAt: "2999-01-01T00:00:00Z"\n  targetResource:')
    )
    text = "---\n".join([EXAMPLE.replace("nginx", "web"), job_engine])
    assert main(["render", "-f", _write(tmp_path, text)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    run, job = yaml.safe_load_all(captured.out)
    assert (run["kind"], job["kind"]) == ("PipelineRun", "Job")
    assert job["apiVersion"] == "batch/v1"
    assert job["metadata"]["name"] == "wfe-f3457dcc8fbcb6d9"  # the lock of the target
    assert job["metadata"]["labels"]["kubernaut.ai/execution-engine"] == "job"
    assert job["spec"]["activeDeadlineSeconds"] == 86400  # a far deadline: the 24h cap
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "quay.io/kubernaut/workflows/restart:v2"
    assert container["resources"] == {"limits": {"memory": "64Mi"}}
    assert [item["name"] for item in container["env"]] == [
        "REPLICAS",
        "TARGET_RESOURCE",
        "HOME",
        "TMPDIR",
    ]
