"""`kubernaut-wfe validate`: output lines, exit codes, stdin, --crd and the controller's rules."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from kubernaut_wfe import cli
from kubernaut_wfe.core.validation import TARGET_PATTERN

REPO_ROOT = Path(__file__).resolve().parents[3]
HELLO = REPO_ROOT / "examples" / "hello-world.yaml"
CRD = REPO_ROOT / "deploy" / "crds" / "kubernaut.ai_workflowexecutions.yaml"

WFE = """\
apiVersion: kubernaut.ai/v1alpha1
kind: WorkflowExecution
metadata:
  name: {name}
  namespace: team-a
spec:
  remediationRequestRef:
    name: rr-1
  workflowRef:
    workflowId: hello-world
    version: "1"
    containerImage: quay.io/kubernaut/workflows/hello-world:v1
  targetResource: {target}
"""


@pytest.fixture(autouse=True)
def only_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep these tests independent of the other subcommands' imports."""
    monkeypatch.setattr(cli, "COMMANDS", {"validate": "kubernaut_wfe_tools.commands.validate"})


def write(tmp_path: Path, text: str, name: str = "wfe.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_valid_file_prints_ok_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "-f", str(HELLO)]) == 0
    assert capsys.readouterr().out == f"{HELLO}: WorkflowExecution/default/hello-world: OK\n"


def test_multi_document_file_reports_each_bad_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = WFE.format(name="good", target="ns/deployment/a") + "---\n"
    text += WFE.format(name="bad", target="a/b/c/d")
    path = write(tmp_path, text)
    assert cli.main(["validate", "-f", path]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{path}: WorkflowExecution/team-a/good: OK"
    assert lines[1] == (
        f'{path}:doc 2: team-a/bad: spec.targetResource: Invalid value: "a/b/c/d": '
        f"spec.targetResource in body should match '{TARGET_PATTERN.pattern}'"
    )
    assert len(lines) == 2


def test_several_files_and_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(WFE.format(name="piped", target="node/n1")))
    assert cli.main(["validate", "-f", str(HELLO), "-f", "-"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "-: WorkflowExecution/team-a/piped: OK"


def test_one_flag_takes_several_files_as_a_shell_glob_gives_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = write(tmp_path, WFE.format(name="other", target="node/n2"))
    assert cli.main(["validate", "-f", str(HELLO), other]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{HELLO}: WorkflowExecution/default/hello-world: OK",
        f"{other}: WorkflowExecution/team-a/other: OK",
    ]


def test_yaml_error_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "spec: [unclosed\n")
    assert cli.main(["validate", "-f", path, "-f", str(HELLO)]) == 2
    captured = capsys.readouterr()
    assert f"error: {path}: not valid YAML" in captured.err
    assert "hello-world: OK" in captured.out


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "absent.yaml")
    assert cli.main(["validate", "-f", missing]) == 2
    assert f"error: cannot read {missing}" in capsys.readouterr().err


def test_empty_file_is_invalid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "# nothing\n")
    assert cli.main(["validate", "-f", path]) == 1
    assert capsys.readouterr().out == f"{path}: no documents to validate\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
            "kind: expected WorkflowExecution",
        ),
        (
            WFE.format(name="x", target="a/b").replace("v1alpha1", "v9"),
            "apiVersion: expected one of kubernaut.ai/v1alpha1, got 'kubernaut.ai/v9'",
        ),
        (
            WFE.format(name="Upper", target="a/b"),
            'metadata.name: Invalid value: "Upper": a lowercase RFC 1123',
        ),
        (
            WFE.format(name="x", target="a/b") + "  surprise: 1\n",
            'spec.surprise: unknown field "spec.surprise"',
        ),
        ("- just\n- a list\n", "not a Kubernetes object"),
        (
            WFE.format(name="x", target="a/b") + "  executionConfig:\n    timeout: 25h\n",
            'spec.executionConfig.timeout: "25h" must be > 0 and at most 24h',
        ),
    ],
    ids=[
        "other kind",
        "other version",
        "bad name",
        "unknown field",
        "not a mapping",
        "controller rule",
    ],
)
def test_rejections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    assert cli.main(["validate", "-f", write(tmp_path, text)]) == 1
    assert expected in capsys.readouterr().out


def test_service_account_allow_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(
        tmp_path,
        WFE.format(name="x", target="a/b")
        + "  executionConfig:\n    serviceAccountName: custom-runner\n",
    )
    assert cli.main(["validate", "-f", path]) == 1
    assert "spec.executionConfig.serviceAccountName" in capsys.readouterr().out
    assert cli.main(["validate", "-f", path, "--allowed-service-account", "custom-runner"]) == 0


def test_controller_rules_apply_when_the_crd_is_older(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crd = yaml.safe_load(CRD.read_text(encoding="utf-8"))
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    del spec["properties"]["targetResource"]["pattern"]
    old_crd = write(tmp_path, yaml.safe_dump(crd), "crd.yaml")
    path = write(tmp_path, WFE.format(name="x", target="a/b/c/d"))
    assert cli.main(["validate", "--crd", old_crd, "-f", path]) == 1
    assert "spec.targetResource: 'a/b/c/d' must be namespace/kind/name" in capsys.readouterr().out


def test_unreadable_crd_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    no_crd = write(tmp_path, "apiVersion: v1\nkind: ConfigMap\n", "crd.yaml")
    assert cli.main(["validate", "--crd", no_crd, "-f", str(HELLO)]) == 2
    assert (
        "holds no CustomResourceDefinition workflowexecutions.kubernaut.ai"
        in capsys.readouterr().err
    )


def test_filename_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["validate"])
    assert exit_info.value.code == 2
    assert "-f/--filename" in capsys.readouterr().err


def test_a_catalog_snapshot_is_valid_and_an_engine_not_run_here_is_noted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    from kubernaut_wfe_tools.testing.catalog_fixtures import catalog_variant, catalog_wfe

    ansible = catalog_variant({"workflowRef.executionEngine": "ansible"}, name="we-ansible")
    path = write(tmp_path, yaml.safe_dump_all([catalog_wfe(), ansible]))
    assert cli.main(["validate", "-f", path]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{path}: WorkflowExecution/default/catalog-hello-world: OK",
        f"{path}: WorkflowExecution/default/we-ansible: OK (this controller fails it as"
        ' UnsupportedEngine: execution engine "ansible" is not available: this controller runs'
        " job, tekton)",
    ]
