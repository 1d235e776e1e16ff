"""What the simulator plays for one PipelineRun: read from its bundle reference and params.

The two test bundles (`tekton-status.md`, testing.md "The Tekton simulator's outcome table"):
`hello-world` succeeds after `DELAY_SECONDS`; `failing` ends per `FAILURE_MODE`. Any other bundle
repository cannot be resolved, as Tekton reports for a bundle that does not exist
(`CouldntGetPipeline`). The hello-world Pipeline declares optional workspaces for Secrets and
ConfigMaps (`HELLO_WORLD_WORKSPACES`); a run binding one whose object the kubelet cannot find
ends `CreateContainerConfigError` (`with_missing_dependencies`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from typing import Any

from kubernaut_wfe.constants import BUNDLE_PIPELINE_NAME, DependencyWorkspace
from kubernaut_wfe_tools.tekton_simulator.durations import DurationError, parse_go_duration

HELLO_WORLD_REPOSITORY = "hello-world"
FAILING_REPOSITORY = "failing"
DELAY_PARAM = "DELAY_SECONDS"
FAILURE_MODE_PARAM = "FAILURE_MODE"
DEFAULT_DELAY = timedelta(seconds=2)
DEFAULT_PIPELINE_TIMEOUT = timedelta(hours=1)
DEFAULT_TASK_TIMEOUT = timedelta(hours=1)
DEFAULT_SERVICE_ACCOUNT = "default"
REQUIRED_PARAM = "REQUIRED_PARAM"
"""The parameter the `failing` Pipeline declares without default under `FAILURE_MODE=invalid`."""
HELLO_WORLD_WORKSPACES: tuple[str, ...] = (
    f"{DependencyWorkspace.SECRET}db-credentials",
    f"{DependencyWorkspace.CONFIG_MAP}app-settings",
    f"{DependencyWorkspace.CONFIG_MAP}feature-flags",
)
"""The optional workspaces the hello-world Pipeline declares and its task mounts read-only
(`tests/e2e/bundles/hello-world/pipeline.yaml`): the workflow's catalog dependencies. Tekton
ignores a run's bindings of any other name."""


class Outcome(StrEnum):
    """How a run ends. The `failing` bundle's FAILURE_MODE values, plus `succeed`."""

    SUCCEED = "succeed"
    EXIT = "exit"
    OOM = "oom"
    TIMEOUT = "timeout"
    TASK_TIMEOUT = "tasktimeout"
    IMAGE_PULL = "imagepull"
    FORBIDDEN = "forbidden"
    QUOTA = "quota"
    INVALID = "invalid"
    MISSING = "missing"
    MISSING_DEPENDENCY = "missingdependency"
    """Not a FAILURE_MODE: a bound Secret or ConfigMap the kubelet cannot find."""


class ScenarioError(ValueError):
    """The PipelineRun cannot be played; the message names the field."""


@dataclass(frozen=True)
class BundleRef:
    """A bundle reference `registry/path/repo[:tag][@sha256:digest]`, split the way it is used."""

    reference: str
    registry: str
    path: str
    tag: str
    digest: str

    @property
    def repository(self) -> str:
        """The last path segment without tag or digest: what picks the simulated bundle."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def uri(self) -> str:
        """The bundle without tag or digest, as `provenance.refSource.uri` shows it."""
        return self.reference.split("@", 1)[0].removesuffix(f":{self.tag}" if self.tag else "")

    @property
    def content_digest(self) -> str:
        """The pinned sha256, or a stable stand-in derived from the reference."""
        return self.digest or hashlib.sha256(self.reference.encode()).hexdigest()

    @property
    def manifest_reference(self) -> str:
        return f"sha256:{self.digest}" if self.digest else (self.tag or "latest")


def parse_bundle(reference: str) -> BundleRef:
    """Split an OCI reference; Docker Hub short names get the `index.docker.io/library` form."""
    if not reference or any(char.isspace() for char in reference):
        raise ScenarioError(f"spec.pipelineRef.params[bundle]: invalid bundle {reference!r}")
    name, _, digest = reference.partition("@")
    digest = digest.removeprefix("sha256:")
    head, _, last = name.rpartition("/")
    last, _, tag = last.partition(":")
    full_path = f"{head}/{last}" if head else last
    first, _, rest = full_path.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = "index.docker.io", full_path if rest else f"library/{full_path}"
    if not last:
        raise ScenarioError(f"spec.pipelineRef.params[bundle]: no repository in {reference!r}")
    return BundleRef(reference=reference, registry=registry, path=path, tag=tag, digest=digest)


@dataclass(frozen=True)
class Dependency:
    """A Secret or ConfigMap a run binds to a workspace its Pipeline declares."""

    workspace: str
    kind: str
    """`Secret` or `ConfigMap`."""
    name: str

    @property
    def plural(self) -> str:
        """The core API resource of the object (`secrets`, `configmaps`)."""
        return f"{self.kind.lower()}s"

    def binding(self) -> dict[str, Any]:
        """The TaskRun's workspace binding, as the run gave it."""
        if self.kind == SECRET_KIND:
            return {"name": self.workspace, "secret": {"secretName": self.name}}
        return {"name": self.workspace, "configMap": {"name": self.name}}


SECRET_KIND = "Secret"  # noqa: S105 - a kind, not a secret
CONFIG_MAP_KIND = "ConfigMap"


@dataclass(frozen=True)
class SimulatedTask:
    """The single pipeline task of a simulated bundle, with its single step."""

    pipeline_task: str
    step: str
    image: str
    script: str
    timeout: timedelta | None = None
    privileged: bool = False


@dataclass(frozen=True)
class Scenario:
    """Everything the documents and the timeline need to know about one PipelineRun."""

    namespace: str
    name: str
    uid: str
    bundle: BundleRef
    pipeline_name: str
    outcome: Outcome
    delay: timedelta
    pipeline_timeout: timedelta | None
    params: Mapping[str, str]
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    service_account: str
    pod_template: Mapping[str, Any] | None
    task: SimulatedTask
    pipeline_params: tuple[str, ...] = field(default=())
    missing_params: tuple[str, ...] = field(default=())
    workspaces: tuple[str, ...] = field(default=())
    """The optional workspaces the Pipeline declares (its task mounts them read-only)."""
    dependencies: tuple[Dependency, ...] = field(default=())
    """The run's Secret and ConfigMap bindings of those workspaces, in the run's order."""
    missing_dependencies: tuple[Dependency, ...] = field(default=())
    """Those the kubelet cannot find (`with_missing_dependencies`)."""


def _params(pipelinerun: Mapping[str, Any]) -> dict[str, str]:
    params: dict[str, str] = {}
    for index, param in enumerate(pipelinerun.get("spec", {}).get("params") or []):
        name, value = param.get("name"), param.get("value")
        if not isinstance(name, str):
            raise ScenarioError(f"spec.params[{index}].name: expected a string")
        params[name] = value if isinstance(value, str) else str(value)
    return params


def _ref_params(pipelinerun: Mapping[str, Any]) -> dict[str, str]:
    ref = pipelinerun.get("spec", {}).get("pipelineRef")
    if not isinstance(ref, Mapping) or ref.get("resolver") != "bundles":
        raise ScenarioError("spec.pipelineRef.resolver: only the bundles resolver is simulated")
    return {str(p.get("name")): str(p.get("value")) for p in ref.get("params") or []}


def _delay(params: Mapping[str, str]) -> timedelta | None:
    """The bundle's `sleep "$DELAY_SECONDS"`; None when sleep would refuse the value (it then
    exits 1 at once, and so does the step: `set -eu`)."""
    text = params.get(DELAY_PARAM)
    if text is None:
        return DEFAULT_DELAY
    try:
        seconds = float(text)
    except ValueError:
        return None
    if not 0 <= seconds <= MAX_DELAY_SECONDS:
        return None
    return timedelta(seconds=seconds)


MAX_DELAY_SECONDS = 30 * 24 * 3600.0
"""Longer sleeps are not simulated: such a value is refused like one `sleep` cannot read."""


def _dependencies(
    pipelinerun: Mapping[str, Any], declared: tuple[str, ...]
) -> tuple[Dependency, ...]:
    """The run's bindings of the declared workspaces to a Secret or a ConfigMap (Tekton accepts
    and ignores bindings of workspaces the Pipeline does not declare)."""
    found: list[Dependency] = []
    for binding in pipelinerun.get("spec", {}).get("workspaces") or []:
        if not isinstance(binding, Mapping) or binding.get("name") not in declared:
            continue
        secret, config_map = binding.get("secret"), binding.get("configMap")
        if isinstance(secret, Mapping) and secret.get("secretName"):
            found.append(Dependency(binding["name"], SECRET_KIND, str(secret["secretName"])))
        elif isinstance(config_map, Mapping) and config_map.get("name"):
            found.append(Dependency(binding["name"], CONFIG_MAP_KIND, str(config_map["name"])))
    return tuple(found)


_CONTAINER_CREATED = frozenset(
    {Outcome.SUCCEED, Outcome.EXIT, Outcome.OOM, Outcome.TIMEOUT, Outcome.TASK_TIMEOUT}
)
"""Outcomes whose step container the kubelet configures (the others end before it does)."""


def with_missing_dependencies(scenario: Scenario, missing: Iterable[Dependency]) -> Scenario:
    """The scenario once the kubelet looked for the bound objects: with any of them missing, the
    step's container cannot be configured and the run ends `CreateContainerConfigError`."""
    not_found = set(missing)
    absent = tuple(d for d in scenario.dependencies if d in not_found)
    if not absent or scenario.outcome not in _CONTAINER_CREATED:
        return scenario
    return replace(scenario, outcome=Outcome.MISSING_DEPENDENCY, missing_dependencies=absent)


def _pipeline_timeout(pipelinerun: Mapping[str, Any]) -> timedelta | None:
    text = (pipelinerun.get("spec", {}).get("timeouts") or {}).get("pipeline")
    if text is None:
        return DEFAULT_PIPELINE_TIMEOUT
    try:
        timeout = parse_go_duration(str(text))
    except DurationError as error:
        raise ScenarioError(f"spec.timeouts.pipeline: {error}") from error
    return timeout or None


def _outcome(repository: str, params: Mapping[str, str]) -> Outcome:
    if repository == HELLO_WORLD_REPOSITORY:
        return Outcome.SUCCEED
    if repository != FAILING_REPOSITORY:
        return Outcome.MISSING
    try:
        mode = Outcome(params.get(FAILURE_MODE_PARAM, Outcome.EXIT))
    except ValueError:
        return Outcome.EXIT
    return Outcome.EXIT if mode in {Outcome.SUCCEED, Outcome.MISSING_DEPENDENCY} else mode


def _task(
    outcome: Outcome, delay: timedelta, start_lag: timedelta, repository: str
) -> SimulatedTask:
    if repository == HELLO_WORLD_REPOSITORY:
        script = f'echo "Hello World"\nsleep {_seconds_text(delay)}\n'
        if outcome is not Outcome.SUCCEED:
            script = "sleep not-a-number\n"
        return SimulatedTask(pipeline_task="hello", step="echo", image=BUSYBOX_IMAGE, script=script)
    script = f"sleep {_seconds_text(delay)}\n" + _FAILURE_SCRIPT.get(outcome, "exit 1\n")
    if outcome is Outcome.TASK_TIMEOUT:
        # The task's timeout expires DELAY_SECONDS after its step started.
        timeout = max(timedelta(seconds=1), start_lag + delay)
        return SimulatedTask("fail-task", "fail", BUSYBOX_IMAGE, "sleep infinity\n", timeout)
    image = MISSING_IMAGE if outcome is Outcome.IMAGE_PULL else BUSYBOX_IMAGE
    privileged = outcome is Outcome.FORBIDDEN
    return SimulatedTask("fail-task", "fail", image, script, privileged=privileged)


BUSYBOX_IMAGE = "docker.io/library/busybox:1.36"
MISSING_IMAGE = "quay.io/kubernaut-test/does-not-exist:v1"
_FAILURE_SCRIPT = {
    Outcome.OOM: "tail /dev/zero\n",
    Outcome.TIMEOUT: "sleep infinity\n",
}


def _seconds_text(delay: timedelta) -> str:
    seconds = delay.total_seconds()
    return str(int(seconds)) if seconds.is_integer() else str(seconds)


def read_scenario(pipelinerun: Mapping[str, Any], *, start_lag: timedelta) -> Scenario:
    """Read what to play from a PipelineRun object; `start_lag` is pod creation to step start.

    Raises ScenarioError, naming the field, for a run the simulator cannot play.
    """
    metadata = pipelinerun.get("metadata") or {}
    namespace, name, uid = metadata.get("namespace"), metadata.get("name"), metadata.get("uid")
    if not (isinstance(namespace, str) and isinstance(name, str) and isinstance(uid, str)):
        raise ScenarioError("metadata: namespace, name and uid are required")
    ref_params = _ref_params(pipelinerun)
    if "bundle" not in ref_params:
        raise ScenarioError("spec.pipelineRef.params[bundle]: missing")
    bundle = parse_bundle(ref_params["bundle"])
    params = _params(pipelinerun)
    outcome = _outcome(bundle.repository, params)
    known = bundle.repository in {HELLO_WORLD_REPOSITORY, FAILING_REPOSITORY}
    delay = _delay(params) if known else timedelta(0)
    if delay is None:
        outcome, delay = Outcome.EXIT, timedelta(0)
    pipeline_params: tuple[str, ...] = (DELAY_PARAM,)
    if bundle.repository == FAILING_REPOSITORY:
        pipeline_params += (FAILURE_MODE_PARAM,)
    missing: tuple[str, ...] = ()
    if outcome is Outcome.INVALID:
        pipeline_params += (REQUIRED_PARAM,)
        missing = tuple(p for p in (REQUIRED_PARAM,) if p not in params)
        if not missing:
            outcome = Outcome.EXIT
    template = pipelinerun.get("spec", {}).get("taskRunTemplate") or {}
    workspaces = HELLO_WORLD_WORKSPACES if bundle.repository == HELLO_WORLD_REPOSITORY else ()
    return Scenario(
        namespace=namespace,
        name=name,
        uid=uid,
        bundle=bundle,
        pipeline_name=ref_params.get("name", BUNDLE_PIPELINE_NAME),
        outcome=outcome,
        delay=delay,
        pipeline_timeout=_pipeline_timeout(pipelinerun),
        params=params,
        labels=dict(metadata.get("labels") or {}),
        annotations=dict(metadata.get("annotations") or {}),
        service_account=template.get("serviceAccountName") or DEFAULT_SERVICE_ACCOUNT,
        pod_template=template.get("podTemplate"),
        task=_task(outcome, delay, start_lag, bundle.repository),
        pipeline_params=pipeline_params,
        missing_params=missing,
        workspaces=workspaces,
        dependencies=_dependencies(pipelinerun, workspaces),
    )
