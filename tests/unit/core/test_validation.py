from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubernaut_wfe.constants import Phase
from kubernaut_wfe.core.durations import CRD_DURATION_PATTERN
from kubernaut_wfe.core.naming import OBJECT_NAME_PATTERN
from kubernaut_wfe.core.problems import SpecProblem
from kubernaut_wfe.core.validation import (
    TARGET_PATTERN,
    parse_wfe,
    validate_wfe,
)

Factory = Callable[..., dict[str, Any]]
CRD = (
    Path(__file__).resolve().parents[3] / "deploy" / "crds" / "kubernaut.ai_workflowexecutions.yaml"
)
DIGEST = "sha256:" + "0" * 64
OTHER_DIGEST = "sha256:" + "1" * 64


def _set(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    node = raw["spec"]
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    if value is _DELETE:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return raw


_DELETE = object()


def test_valid_wfe_has_no_problems(make_wfe: Factory) -> None:
    assert validate_wfe(make_wfe()) == []


@pytest.mark.parametrize(
    "target",
    [
        "default/deployment/nginx",
        "node/worker-node-1",
        "clusterrole/admin",
        "a/b",
        "x" * 250 + "/k/n",
    ],
)
def test_valid_targets_including_cluster_scoped(make_wfe: Factory, target: str) -> None:
    assert validate_wfe(make_wfe(target=target)) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("confidence", 0),
        ("confidence", 1),
        ("confidence", 0.85),
        ("rationale", "r" * 4096),
        ("executionConfig.timeout", "30m"),
        ("executionConfig.timeout", "24h"),
        ("executionConfig.timeout", "1h30m"),
        ("executionConfig.timeout", "500ms"),
        ("executionConfig.serviceAccountName", "kubernaut-workflow-runner"),
        ("workflowRef.containerDigest", DIGEST),
        ("workflowRef.containerImage", "localhost:5000/bundles/hello-world:latest"),
        ("workflowRef.containerImage", f"quay.io/acme/wf@{DIGEST}"),
        ("parameters", {"_a": "1", "a.b-c": "2", "X9": "v" * 8192}),
        ("parameters", {f"P{i}": "v" for i in range(64)}),
    ],
)
def test_valid_optional_fields(make_wfe: Factory, path: str, value: Any) -> None:
    assert validate_wfe(_set(make_wfe(), path, value)) == []


@pytest.mark.parametrize(
    ("path", "value", "field", "fragment"),
    [
        ("remediationRequestRef", _DELETE, "spec.remediationRequestRef", "is required"),
        ("remediationRequestRef.name", "", "spec.remediationRequestRef.name", "must not be empty"),
        ("remediationRequestRef.name", "n" * 254, "spec.remediationRequestRef.name", "at most 253"),
        ("workflowRef", _DELETE, "spec.workflowRef", "is required"),
        ("workflowRef", "oops", "spec.workflowRef", "must be an object"),
        ("workflowRef.workflowId", "", "spec.workflowRef.workflowId", "must not be empty"),
        ("workflowRef.workflowId", "w" * 254, "spec.workflowRef.workflowId", "at most 253"),
        ("workflowRef.version", _DELETE, "spec.workflowRef.version", "is required"),
        ("workflowRef.version", 1.0, "spec.workflowRef.version", "must be a string, got float"),
        ("workflowRef.version", "v" * 65, "spec.workflowRef.version", "at most 64"),
        (
            "workflowRef.containerImage",
            _DELETE,
            "spec.workflowRef",
            "exactly one of containerImage",
        ),
        ("workflowRef.containerImage", "", "spec.workflowRef.containerImage", "must not be empty"),
        (
            "workflowRef.containerImage",
            "Not An Image",
            "spec.workflowRef.containerImage",
            "is not an OCI image reference",
        ),
        (
            "workflowRef.containerImage",
            "quay.io/Acme/wf:v1",
            "spec.workflowRef.containerImage",
            "is not an OCI image reference",
        ),
        (
            "workflowRef.containerImage",
            "q.io/" + "a" * 510,
            "spec.workflowRef.containerImage",
            "at most 512",
        ),
        (
            "workflowRef.containerDigest",
            "sha256:abc",
            "spec.workflowRef.containerDigest",
            "64 lower-case hex",
        ),
        (
            "workflowRef.containerDigest",
            "md5:" + "0" * 64,
            "spec.workflowRef.containerDigest",
            "sha256:",
        ),
        ("targetResource", _DELETE, "spec.targetResource", "is required"),
        ("targetResource", "", "spec.targetResource", "must not be empty"),
        ("targetResource", "nginx", "spec.targetResource", "2 or 3 non-empty parts"),
        ("targetResource", "a/b/c/d", "spec.targetResource", "2 or 3 non-empty parts"),
        ("targetResource", "default//nginx", "spec.targetResource", "2 or 3 non-empty parts"),
        ("targetResource", "/node/x", "spec.targetResource", "2 or 3 non-empty parts"),
        ("targetResource", "node/", "spec.targetResource", "2 or 3 non-empty parts"),
        ("targetResource", "a/b/" + "c" * 510, "spec.targetResource", "at most 512"),
        ("targetResource", 42, "spec.targetResource", "must be a string"),
        ("parameters", {"TARGET_RESOURCE": "x"}, "spec.parameters.TARGET_RESOURCE", "reserved"),
        ("parameters", {"1abc": "x"}, "spec.parameters.1abc", "not a Tekton parameter name"),
        ("parameters", {"-a": "x"}, "spec.parameters.-a", "not a Tekton parameter name"),
        ("parameters", {"a b": "x"}, "spec.parameters.a b", "not a Tekton parameter name"),
        ("parameters", {"p" * 129: "x"}, "spec.parameters." + "p" * 129, "parameter name"),
        ("parameters", {"P": "v" * 8193}, "spec.parameters.P", "at most 8192"),
        ("parameters", {"P": 3}, "spec.parameters.P", "must be a string, got int"),
        ("parameters", {"P": None}, "spec.parameters.P", "got null"),
        ("parameters", {f"P{i}": "v" for i in range(65)}, "spec.parameters", "at most 64"),
        ("parameters", ["a"], "spec.parameters", "must be an object"),
        ("confidence", 1.5, "spec.confidence", "from 0 to 1"),
        ("confidence", -0.1, "spec.confidence", "from 0 to 1"),
        ("confidence", "high", "spec.confidence", "from 0 to 1"),
        ("confidence", True, "spec.confidence", "from 0 to 1"),
        ("rationale", "r" * 4097, "spec.rationale", "at most 4096"),
        ("executionConfig.timeout", "0s", "spec.executionConfig.timeout", "> 0"),
        ("executionConfig.timeout", "25h", "spec.executionConfig.timeout", "at most 24h"),
        ("executionConfig.timeout", "24h1s", "spec.executionConfig.timeout", "at most 24h"),
        ("executionConfig.timeout", "5x", "spec.executionConfig.timeout", "not a duration"),
        ("executionConfig.timeout", "1d", "spec.executionConfig.timeout", "not a duration"),
        ("executionConfig.timeout", "30", "spec.executionConfig.timeout", "not a duration"),
        (
            "executionConfig.serviceAccountName",
            "cluster-admin",
            "spec.executionConfig.serviceAccountName",
            "not an allowed runner service account",
        ),
        ("executionConfig", "x", "spec.executionConfig", "must be an object"),
    ],
)
def test_each_rule_names_the_field(
    make_wfe: Factory, path: str, value: Any, field: str, fragment: str
) -> None:
    problems = validate_wfe(_set(make_wfe(), path, value))
    assert any(p.field == field and fragment in p.message for p in problems), problems


def test_digest_must_equal_digest_in_image(make_wfe: Factory) -> None:
    raw = _set(make_wfe(), "workflowRef.containerImage", f"quay.io/acme/wf:v1@{DIGEST}")
    _set(raw, "workflowRef.containerDigest", OTHER_DIGEST)
    assert validate_wfe(raw) == [
        SpecProblem(
            "spec.workflowRef.containerDigest",
            "differs from the digest already in containerImage; drop one or make them equal",
        )
    ]


def test_service_account_allow_list(make_wfe: Factory) -> None:
    raw = _set(make_wfe(), "executionConfig.serviceAccountName", "special")
    assert validate_wfe(raw, allowed_service_accounts=frozenset({"special"})) == []
    assert validate_wfe(raw, default_service_account="special") == []
    [problem] = validate_wfe(raw)
    assert "execution.allowed_service_accounts" in problem.message


def test_missing_spec_and_all_problems_listed(make_wfe: Factory) -> None:
    assert validate_wfe({"metadata": {}}) == [SpecProblem("spec", "is required")]
    raw = make_wfe()
    raw["spec"] = {"targetResource": "x"}
    fields = {p.field for p in validate_wfe(raw)}
    assert {"spec.remediationRequestRef", "spec.workflowRef", "spec.targetResource"} <= fields


def test_problem_renders_as_field_colon_message() -> None:
    assert (
        str(SpecProblem("spec.targetResource", "is required")) == "spec.targetResource: is required"
    )


def test_parse_wfe_never_throws_on_status_junk(make_wfe: Factory) -> None:
    raw = make_wfe(
        status={
            "phase": "Exploded",
            "startTime": "yesterday",
            "conditions": "nope",
            "failureDetails": {"reason": "NotAReason"},
            "pipelineRunRef": {"name": "wfe-1"},
            "auditedEvents": ["workflowexecution.selection.completed", "made.up"],
        }
    )
    wfe = parse_wfe(raw)
    assert wfe.status.phase is None
    assert wfe.status.start_time is None
    assert wfe.status.failure_details is None
    assert wfe.status.pipeline_run_ref is not None
    assert [str(e) for e in wfe.status.audited_events] == ["workflowexecution.selection.completed"]
    assert wfe.spec.target_resource == "default/deployment/nginx"


def test_parse_wfe_leaves_the_document_it_reads_as_it_was(make_wfe: Factory) -> None:
    raw = make_wfe(status={"phase": "Exploded", "pipelineRunRef": {"name": 5}})
    before = copy.deepcopy(raw)
    parse_wfe(raw)  # drops both fields from its own copy
    assert raw == before


def test_parse_wfe_tolerates_bad_sections() -> None:
    wfe = parse_wfe({"metadata": "x", "spec": {"parameters": {"a": 1}}, "status": []})
    assert wfe.metadata.name == ""
    assert wfe.spec.parameters == {}


def test_parse_wfe_reads_a_good_status(make_wfe: Factory) -> None:
    wfe = parse_wfe(make_wfe(phase="Running", status={"startTime": "2025-06-01T10:00:00Z"}))
    assert wfe.status.phase == Phase.RUNNING
    assert wfe.status.start_time is not None


def _crd_pattern(*path: str) -> str:
    crd = yaml.safe_load(CRD.read_text(encoding="utf-8"))
    node = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for name in path:
        node = node["properties"][name]
    pattern: str = node["pattern"]
    return pattern


def test_the_crd_bounds_what_the_controller_bounds() -> None:
    """One rule, enforced at admission and again by the controller (for a WFE that slipped
    past an older CRD)."""
    assert _crd_pattern("spec", "targetResource") == TARGET_PATTERN.pattern
    assert _crd_pattern("spec", "remediationRequestRef", "name") == OBJECT_NAME_PATTERN.pattern
    assert _crd_pattern("spec", "executionConfig", "timeout") == CRD_DURATION_PATTERN.pattern


@pytest.mark.parametrize(
    "target",
    ["default/deployment/web\x00", "default/deployment/ web", " default/deployment/web",
     "default/deploy\tment/web", "default/deployment/web\x7f", "default/deployment/we b"],
)  # fmt: skip
def test_a_target_with_spaces_or_control_characters_is_refused(
    make_wfe: Factory, target: str
) -> None:
    problems = validate_wfe(make_wfe(target=target))
    assert [p.field for p in problems] == ["spec.targetResource"]


@pytest.mark.parametrize("name", ["rr\x00", "RR-1", "rr 1", "rr_1", "-rr", "rr.", "rr\n"])
def test_a_remediation_request_name_must_be_an_object_name(make_wfe: Factory, name: str) -> None:
    problems = validate_wfe(_set(make_wfe(), "remediationRequestRef.name", name))
    assert [p.field for p in problems] == ["spec.remediationRequestRef.name"]


@pytest.mark.parametrize("timeout", ["9999999999999h", "99999h99999h99999h99999h", "25h"])
def test_a_timeout_past_the_bound_is_a_spec_problem_never_an_exception(
    make_wfe: Factory, timeout: str
) -> None:
    problems = validate_wfe(_set(make_wfe(), "executionConfig.timeout", timeout))
    assert [p.field for p in problems] == ["spec.executionConfig.timeout"]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("executionConfig.timeout", "30m\n"),
        ("workflowRef.containerImage", "quay.io/kubernaut/workflows/hello-world:v1\n"),
        ("workflowRef.containerDigest", DIGEST + "\n"),
        ("parameters", {"NAME\n": "x"}),
    ],
)
def test_a_trailing_newline_is_refused_as_the_api_server_refuses_it(
    make_wfe: Factory, path: str, value: Any
) -> None:
    """Go's `$` ends the text; Python's `$` also matches before a last newline."""
    problems = validate_wfe(_set(make_wfe(), path, value))
    assert problems, f"{value!r} passed"


def test_a_parameter_name_that_is_not_a_string_is_a_problem_not_an_exception(
    make_wfe: Factory,
) -> None:
    problems = validate_wfe(_set(make_wfe(), "parameters", {1: "x", "OK": "y"}))
    assert [p.field for p in problems] == ["spec.parameters.1"]
