"""Re-validation of a WFE spec (spec §1): the installed CRD may be older than this controller."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from kubernaut_wfe.constants import API_VERSION, KIND, RESERVED_PARAMETER, ExecutionEngine, RunKind
from kubernaut_wfe.core.config import DEFAULT_SERVICE_ACCOUNT, ControllerConfig
from kubernaut_wfe.core.durations import (
    DurationError,
    format_duration,
    is_crd_duration,
    parse_duration,
)
from kubernaut_wfe.core.engines import run_kind
from kubernaut_wfe.core.models import WorkflowExecution
from kubernaut_wfe.core.naming import is_object_name
from kubernaut_wfe.core.platform_status import with_tekton_names
from kubernaut_wfe.core.problems import SpecProblem
from kubernaut_wfe.core.service_accounts import service_account_problems
from kubernaut_wfe.core.tekton import parse_time

MAX_TIMEOUT = timedelta(hours=24)
"""The default of `execution.max_run_timeout`."""
MAX_PARAMETERS = 64
MAX_PARAMETER_NAME = 128
MAX_PARAMETER_VALUE = 8 * 1024
MAX_RATIONALE = 4 * 1024
MAX_TARGET = 512
MAX_IMAGE = 512
MAX_DIGEST_TEXT = 128
MAX_DEPENDENCIES = 64
MAX_CLUSTER_ID = 253
ENGINE_NAMES = frozenset(engine.value for engine in ExecutionEngine)
ONE_REFERENCE = (
    "exactly one of containerImage (January shape) or executionBundle (catalog snapshot)"
    " must be set"
)

DIGEST_PATTERN = re.compile(r"^sha256:[0-9a-f]{64}$")
PARAMETER_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_TARGET_PART = r"[^/\x00-\x20\x7f]+"
TARGET_PATTERN = re.compile(rf"^{_TARGET_PART}/{_TARGET_PART}(/{_TARGET_PART})?$")
"""2 or 3 non-empty parts without spaces or control characters (the CRD's pattern too): a
target spelled with a space or a NUL would lock apart from the object it names, and DataStorage
refuses control characters, leaving the run without an audit trail."""
_LABEL = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?"
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_PATTERN = re.compile(
    rf"^(?:{_DOMAIN}/)?{_PATH}(?:/{_PATH})*(?::[\w][\w.-]{{0,127}})?(?:@sha256:[0-9a-f]{{64}})?$"
)


def _string(
    problems: list[SpecProblem],
    parent: Mapping[str, Any],
    key: str,
    path: str,
    *,
    required: bool,
    max_length: int,
) -> str | None:
    value = parent.get(key)
    if value is None:
        if required:
            problems.append(SpecProblem(path, "is required"))
        return None
    if not isinstance(value, str):
        problems.append(SpecProblem(path, f"must be a string, got {type(value).__name__}"))
        return None
    if required and not value:
        problems.append(SpecProblem(path, "must not be empty"))
        return None
    if len(value) > max_length:
        problems.append(SpecProblem(path, f"must be at most {max_length} characters"))
        return None
    return value


def _mapping(
    problems: list[SpecProblem], parent: Mapping[str, Any], key: str, path: str, *, required: bool
) -> Mapping[str, Any] | None:
    value = parent.get(key)
    if value is None:
        if required:
            problems.append(SpecProblem(path, "is required"))
        return None
    if not isinstance(value, Mapping):
        problems.append(SpecProblem(path, "must be an object"))
        return None
    return value


def _validate_image(
    problems: list[SpecProblem], ref: Mapping[str, Any], key: str, base: str
) -> str | None:
    """The OCI reference in `ref[key]` (`containerImage` or `executionBundle`), if valid."""
    path = f"{base}.{key}"
    image = _string(problems, ref, key, path, required=True, max_length=MAX_IMAGE)
    if image is not None and not IMAGE_PATTERN.fullmatch(image):
        problems.append(
            SpecProblem(
                path, f'"{image}" is not an OCI image reference (e.g. quay.io/org/bundle:v1)'
            )
        )
    return image


def _validate_digest(
    problems: list[SpecProblem], ref: Mapping[str, Any], image: str | None, base: str
) -> None:
    digest = _string(
        problems, ref, "containerDigest", f"{base}.containerDigest", required=False, max_length=71
    )
    if digest is None:
        return
    if not DIGEST_PATTERN.fullmatch(digest):
        problems.append(
            SpecProblem(f"{base}.containerDigest", "must be sha256: followed by 64 lower-case hex")
        )
    elif image is not None and "@" in image and image.rsplit("@", 1)[1] != digest:
        problems.append(
            SpecProblem(
                f"{base}.containerDigest",
                "differs from the digest already in containerImage; drop one or make them equal",
            )
        )


def _validate_catalog_snapshot(
    problems: list[SpecProblem], ref: Mapping[str, Any], base: str
) -> None:
    """The catalog snapshot's own fields (platform contract §1)."""
    for key in ("workflowName", "actionType"):
        _string(problems, ref, key, f"{base}.{key}", required=True, max_length=253)
    if ref.get("containerDigest") is not None:
        problems.append(
            SpecProblem(
                f"{base}.containerDigest",
                "pins containerImage only; a catalog snapshot records executionBundleDigest",
            )
        )


def _validate_engine_fields(problems: list[SpecProblem], ref: Mapping[str, Any], base: str) -> None:
    """The fields either shape may carry: engine, run identity, dependencies, parameter names."""
    _string(
        problems,
        ref,
        "executionBundleDigest",
        f"{base}.executionBundleDigest",
        required=False,
        max_length=MAX_DIGEST_TEXT,
    )
    engine = _string(
        problems, ref, "executionEngine", f"{base}.executionEngine", required=False, max_length=16
    )
    if engine and engine not in ENGINE_NAMES:
        problems.append(
            SpecProblem(
                f"{base}.executionEngine",
                f'"{engine}" is not an execution engine (one of {", ".join(sorted(ENGINE_NAMES))})',
            )
        )
    account = _string(
        problems,
        ref,
        "serviceAccountName",
        f"{base}.serviceAccountName",
        required=False,
        max_length=253,
    )
    if account and not is_object_name(account):
        problems.append(
            SpecProblem(f"{base}.serviceAccountName", f"{account!r} is not a service account name")
        )
    dependencies = _mapping(problems, ref, "dependencies", f"{base}.dependencies", required=False)
    for kind in ("secrets", "configMaps") if dependencies is not None else ():
        _validate_named_list(problems, dependencies or {}, kind, f"{base}.dependencies.{kind}")
    _mapping(problems, ref, "resources", f"{base}.resources", required=False)
    declared = _mapping(
        problems, ref, "declaredParameterNames", f"{base}.declaredParameterNames", required=False
    )
    for name, passes in (declared or {}).items():
        if not isinstance(passes, bool):
            problems.append(
                SpecProblem(f"{base}.declaredParameterNames.{name}", "must be true or false")
            )


def _validate_named_list(
    problems: list[SpecProblem], parent: Mapping[str, Any], key: str, path: str
) -> None:
    items = parent.get(key)
    if items is None:
        return
    if not isinstance(items, list) or len(items) > MAX_DEPENDENCIES:
        problems.append(SpecProblem(path, f"must be a list of at most {MAX_DEPENDENCIES} objects"))
        return
    for index, item in enumerate(items):
        item_path = f"{path}[{index}].name"
        name = _string(
            problems,
            item if isinstance(item, Mapping) else {},
            "name",
            item_path,
            required=True,
            max_length=253,
        )
        if name and not is_object_name(name):
            problems.append(SpecProblem(item_path, f"{name!r} is not a Kubernetes object name"))


def _validate_workflow_ref(problems: list[SpecProblem], spec: Mapping[str, Any]) -> None:
    ref = _mapping(problems, spec, "workflowRef", "spec.workflowRef", required=True)
    if ref is None:
        return
    base = "spec.workflowRef"
    _string(problems, ref, "workflowId", f"{base}.workflowId", required=True, max_length=253)
    _string(problems, ref, "version", f"{base}.version", required=True, max_length=64)
    if (ref.get("containerImage") is None) == (ref.get("executionBundle") is None):
        problems.append(SpecProblem(base, ONE_REFERENCE))
    elif ref.get("executionBundle") is None:
        image = _validate_image(problems, ref, "containerImage", base)
        _validate_digest(problems, ref, image, base)
    else:
        _validate_image(problems, ref, "executionBundle", base)
        _validate_catalog_snapshot(problems, ref, base)
    _validate_engine_fields(problems, ref, base)


def identity_problems(raw: Mapping[str, Any]) -> list[SpecProblem]:
    """What the API server checks before the spec: the kind, the apiVersion and the name."""
    problems = []
    if raw.get("kind") != KIND:
        problems.append(SpecProblem("kind", f"expected {KIND}, got {raw.get('kind')!r}"))
    if raw.get("apiVersion") != API_VERSION:
        problems.append(
            SpecProblem("apiVersion", f"expected {API_VERSION}, got {raw.get('apiVersion')!r}")
        )
    metadata = raw.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    if not isinstance(name, str) or not is_object_name(name):
        problems.append(SpecProblem("metadata.name", f"{name!r} is not a Kubernetes object name"))
    return problems


def _validate_target(problems: list[SpecProblem], spec: Mapping[str, Any]) -> None:
    path = "spec.targetResource"
    target = _string(problems, spec, "targetResource", path, required=True, max_length=MAX_TARGET)
    if target is None:
        return
    if not TARGET_PATTERN.fullmatch(target):
        problems.append(
            SpecProblem(
                path,
                f"{target!r} must be namespace/kind/name, or kind/name for a cluster-scoped"
                " resource (2 or 3 non-empty parts, without spaces or control characters)",
            )
        )


def _validate_parameters(problems: list[SpecProblem], spec: Mapping[str, Any]) -> None:
    params = _mapping(problems, spec, "parameters", "spec.parameters", required=False)
    if params is None:
        return
    if len(params) > MAX_PARAMETERS:
        problems.append(
            SpecProblem("spec.parameters", f"must have at most {MAX_PARAMETERS} entries")
        )
    keys: list[object] = sorted(params, key=str)  # YAML read offline may have other keys
    for key in keys:
        path = f"spec.parameters.{key}"
        if not isinstance(key, str):
            problems.append(SpecProblem(path, f"a parameter name is a string, not {key!r}"))
            continue
        name = key
        if name == RESERVED_PARAMETER:
            problems.append(
                SpecProblem(path, f"{RESERVED_PARAMETER} is reserved: the controller sets it")
            )
        elif len(name) > MAX_PARAMETER_NAME or not PARAMETER_NAME_PATTERN.fullmatch(name):
            problems.append(
                SpecProblem(
                    path,
                    "is not a Tekton parameter name (letters, digits, _ . -, not starting with a"
                    f" digit, . or -; at most {MAX_PARAMETER_NAME} characters)",
                )
            )
        _string(problems, params, name, path, required=False, max_length=MAX_PARAMETER_VALUE)
        if params[name] is None:
            problems.append(SpecProblem(path, "must be a string, got null"))


def _validate_execution_config(
    problems: list[SpecProblem],
    spec: Mapping[str, Any],
    longest: timedelta,
) -> str | None:
    """Checks `executionConfig`; returns its `serviceAccountName` for the run identity rules."""
    base = "spec.executionConfig"
    config = _mapping(problems, spec, "executionConfig", base, required=False)
    if config is None:
        return None
    timeout = _string(problems, config, "timeout", f"{base}.timeout", required=False, max_length=64)
    if timeout is not None:
        if not is_crd_duration(timeout):
            problems.append(
                SpecProblem(f"{base}.timeout", f'"{timeout}" is not a duration like 30m or 1h30m')
            )
        else:
            try:
                span: timedelta | None = parse_duration(timeout)
            except DurationError:
                span = None  # past Go's range: certainly over the bound
            if span is None or span <= timedelta(0) or span > longest:
                problems.append(
                    SpecProblem(
                        f"{base}.timeout",
                        f'"{timeout}" must be > 0 and at most {format_duration(longest)}'
                        " (execution.max_run_timeout)",
                    )
                )
    return _string(
        problems,
        config,
        "serviceAccountName",
        f"{base}.serviceAccountName",
        required=False,
        max_length=253,
    )


def validate_wfe(
    raw: Mapping[str, Any],
    *,
    allowed_service_accounts: frozenset[str] = frozenset(),
    default_service_account: str = DEFAULT_SERVICE_ACCOUNT,
    max_run_timeout: timedelta = MAX_TIMEOUT,
) -> list[SpecProblem]:
    """Every §1 rule the WFE's spec breaks (empty when valid). `allowed_service_accounts` is the
    configured allow-list (`core.service_accounts`; the default runner is always allowed);
    `max_run_timeout` bounds `executionConfig.timeout` (`execution.max_run_timeout`)."""
    problems: list[SpecProblem] = []
    spec = _mapping(problems, raw, "spec", "spec", required=True)
    if spec is None:
        return problems
    ref = _mapping(
        problems, spec, "remediationRequestRef", "spec.remediationRequestRef", required=True
    )
    if ref is not None:
        path = "spec.remediationRequestRef.name"
        name = _string(problems, ref, "name", path, required=True, max_length=253)
        if name and not is_object_name(name):
            problems.append(
                SpecProblem(path, f"{name!r} is not a Kubernetes object name (DNS-1123 subdomain)")
            )
    _validate_workflow_ref(problems, spec)
    _validate_target(problems, spec)
    _validate_parameters(problems, spec)
    confidence = spec.get("confidence")
    if confidence is not None and (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not 0 <= confidence <= 1
    ):
        problems.append(SpecProblem("spec.confidence", "must be a number from 0 to 1"))
    _string(problems, spec, "rationale", "spec.rationale", required=False, max_length=MAX_RATIONALE)
    january_account = _validate_execution_config(problems, spec, max_run_timeout)
    problems += service_account_problems(
        _catalog_account(spec),
        january_account,
        allowed=allowed_service_accounts,
        default=default_service_account,
    )
    _string(
        problems, spec, "clusterID", "spec.clusterID", required=False, max_length=MAX_CLUSTER_ID
    )
    deadline = _string(
        problems, spec, "timesOutAt", "spec.timesOutAt", required=False, max_length=64
    )
    if deadline is not None and parse_time(deadline) is None:
        problems.append(
            SpecProblem("spec.timesOutAt", f'"{deadline}" is not an RFC 3339 date-time')
        )
    return problems


def _catalog_account(spec: Mapping[str, Any]) -> str | None:
    """`workflowRef.serviceAccountName` when it is a valid name (else already reported)."""
    ref = spec.get("workflowRef")
    account = ref.get("serviceAccountName") if isinstance(ref, Mapping) else None
    return account if isinstance(account, str) and is_object_name(account) else None


def configured_problems(raw: Mapping[str, Any], config: ControllerConfig) -> list[SpecProblem]:
    """`validate_wfe` with the controller's configured allow-list, runner and longest run."""
    execution = config.execution
    return validate_wfe(
        raw,
        allowed_service_accounts=frozenset(execution.allowed_service_accounts),
        default_service_account=execution.service_account,
        max_run_timeout=execution.max_run_timeout,
    )


def _drop(document: dict[str, Any], location: tuple[int | str, ...]) -> bool:
    """Remove the offending key, at most two levels deep (e.g. `status.phase`)."""
    top = str(location[0])
    if top not in document:
        return False
    if len(location) == 1:
        del document[top]
        return True
    node: Any = document[top]
    if isinstance(node, dict) and location[1] in node:
        del node[location[1]]
        return True
    return False


def parse_wfe(raw: Mapping[str, Any]) -> WorkflowExecution:
    """The typed WFE; fields of the wrong type are dropped instead of failing (status junk)."""
    # `_drop` deletes at most two levels deep, so copying those two levels keeps `raw` intact.
    document: dict[str, Any] = {
        key: dict(value) if isinstance(value, dict) else value for key, value in raw.items()
    }
    for section in ("metadata", "spec", "status"):
        if section in document and not isinstance(document[section], dict):
            del document[section]
    while True:
        try:
            return _in_one_shape(WorkflowExecution.model_validate(document))
        except ValidationError as error:
            dropped = [_drop(document, tuple(e["loc"])) for e in error.errors()]
            if not any(dropped):
                for detail in error.errors():
                    document.pop(str(detail["loc"][0]), None)


def _in_one_shape(wfe: WorkflowExecution) -> WorkflowExecution:
    """A Job-engine WFE's status with its Tekton-named fields rebuilt (it is written without
    them: `core.platform_status`), so that every decision reads one shape of status."""
    if run_kind(wfe.spec) != RunKind.JOB:
        return wfe
    return wfe.model_copy(update={"status": with_tekton_names(wfe.status)})
