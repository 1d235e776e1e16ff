"""What the kubelet will play for one pod: read from the pod (its workflow container's
environment and volumes), then settled by what only the node can find out (`with_missing`,
`with_disruption_rank`). Pure."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum
from typing import Any, Final

from kubernaut_wfe_tools.node_simulator.vocabulary import JOB_NAME_LABEL

FAILURE_MODE_ENV: Final = "FAILURE_MODE"
DELAY_ENV: Final = "DELAY_SECONDS"
EXIT_CODE_ENV: Final = "EXIT_CODE"
DISRUPTIONS_ENV: Final = "DISRUPTIONS"
DEFAULT_DELAY = timedelta(seconds=2)
DEFAULT_EXIT_CODE: Final = 1
DEFAULT_DISRUPTIONS: Final = 1
OOM_EXIT_CODE: Final = 137
"""128 + SIGKILL: what containerd reports for a container the kernel's OOM killer ended."""
SIGKILL_EXIT_CODE: Final = 137
SIGTERM_EXIT_CODE: Final = 143
PULL_ALWAYS: Final = "Always"


class ScenarioError(ValueError):
    """A pod the stand-in cannot play (no container, no uid, …): it is left alone."""


class Outcome(StrEnum):
    """How the workflow container ends; the values are `FAILURE_MODE`'s (absent: success)."""

    SUCCEED = "succeed"
    EXIT = "exit"
    """Exit 1 (or `EXIT_CODE`): `Error`. Also any mode the stand-in does not know, as the test
    images exit 1 for a mode they do not know."""
    OOM = "oom"
    IMAGE_PULL = "imagepull"
    CONFIG = "config"
    """`CreateContainerConfigError`: `runAsNonRoot` with an image that runs as root."""
    TIMEOUT = "timeout"
    """Runs until the pod is deleted (the Job's `activeDeadlineSeconds`)."""
    DISRUPTION = "disruption"
    """The first `DISRUPTIONS` pods of the Job are evicted by the kubelet; later ones succeed."""
    MISSING_DEPENDENCY = "missing-dependency"
    """Not a mode: a Secret or ConfigMap volume names an object the kubelet does not find."""


class DependencyKind(StrEnum):
    """The volume sources the kubelet must find an object for, by their pod-spec field."""

    SECRET = "secret"  # noqa: S105 - a volume source field, not a secret
    CONFIG_MAP = "configMap"

    @property
    def plural(self) -> str:
        return "secrets" if self is DependencyKind.SECRET else "configmaps"

    @property
    def object_field(self) -> str:
        return "secretName" if self is DependencyKind.SECRET else "name"


@dataclass(frozen=True)
class Dependency:
    """A volume backed by a Secret or a ConfigMap."""

    volume: str
    kind: DependencyKind
    name: str


@dataclass(frozen=True)
class PodScenario:
    namespace: str
    name: str
    uid: str
    generation: int
    job_name: str | None
    container: str
    image: str
    pull_always: bool
    outcome: Outcome
    delay: timedelta
    exit_code: int
    disruptions: int
    dependencies: tuple[Dependency, ...]
    volume_mounts: tuple[Mapping[str, Any], ...]
    memory_request: str
    """The container's memory request as written ("0" without one): the eviction message's."""
    missing: tuple[Dependency, ...] = ()
    """The dependencies the kubelet did not find (set by `with_missing`)."""


def read_scenario(pod: Mapping[str, Any]) -> PodScenario:
    """What to play for `pod` (its first container is the workflow's).

    A `DELAY_SECONDS` that is not a non-negative number makes the container exit 1 at once, as
    `sleep` refusing it would. Raises ScenarioError for a pod without name, uid or container.
    """
    metadata = pod.get("metadata") or {}
    namespace, name, uid = metadata.get("namespace"), metadata.get("name"), metadata.get("uid")
    if not (isinstance(namespace, str) and isinstance(name, str) and isinstance(uid, str)):
        raise ScenarioError("metadata: namespace, name and uid are required")
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    if not containers or not isinstance(containers[0], Mapping):
        raise ScenarioError("spec.containers: the pod has no container")
    container = containers[0]
    env = _env(container)
    outcome = _outcome(env.get(FAILURE_MODE_ENV, ""))
    delay = _delay(env.get(DELAY_ENV))
    if delay is None:
        outcome, delay = Outcome.EXIT, timedelta(0)
    return PodScenario(
        namespace=namespace,
        name=name,
        uid=uid,
        generation=int(metadata.get("generation") or 1),
        job_name=(metadata.get("labels") or {}).get(JOB_NAME_LABEL),
        container=str(container.get("name", "")),
        image=str(container.get("image", "")),
        pull_always=container.get("imagePullPolicy") == PULL_ALWAYS,
        outcome=outcome,
        delay=delay,
        exit_code=_count(env.get(EXIT_CODE_ENV), DEFAULT_EXIT_CODE, upper=255),
        disruptions=_count(env.get(DISRUPTIONS_ENV), DEFAULT_DISRUPTIONS),
        dependencies=_dependencies(spec.get("volumes") or []),
        volume_mounts=tuple(
            m for m in container.get("volumeMounts") or [] if isinstance(m, Mapping)
        ),
        memory_request=str(
            ((container.get("resources") or {}).get("requests") or {}).get("memory", "0")
        ),
    )


def with_missing(scenario: PodScenario, missing: Iterable[Dependency]) -> PodScenario:
    """The scenario once the kubelet looked its dependencies up: with one missing, the volume
    cannot be mounted and nothing else happens, whatever the mode."""
    absent = set(missing)
    found = tuple(d for d in scenario.dependencies if d in absent)
    if not found:
        return scenario
    return replace(scenario, outcome=Outcome.MISSING_DEPENDENCY, missing=found)


def with_disruption_rank(scenario: PodScenario, rank: int) -> PodScenario:
    """The scenario of the Job's pod number `rank` (0 for the first created): in `disruption`
    mode only the first `DISRUPTIONS` pods are disrupted, the others succeed."""
    if scenario.outcome is Outcome.DISRUPTION and rank >= scenario.disruptions:
        return replace(scenario, outcome=Outcome.SUCCEED)
    return scenario


def creation_rank(pod: Mapping[str, Any], siblings: Iterable[Mapping[str, Any]]) -> int:
    """How many of `siblings` (the Job's pods) were created before `pod`: by creation time,
    then name (creation times have whole seconds)."""

    def key(item: Mapping[str, Any]) -> tuple[str, str]:
        metadata = item.get("metadata") or {}
        return (str(metadata.get("creationTimestamp", "")), str(metadata.get("name", "")))

    own = key(pod)
    return sum(1 for sibling in siblings if key(sibling) < own)


def _env(container: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(item["name"]): str(item.get("value", ""))
        for item in container.get("env") or []
        if isinstance(item, Mapping) and "name" in item and "valueFrom" not in item
    }


def _outcome(mode: str) -> Outcome:
    if not mode:
        return Outcome.SUCCEED
    try:
        outcome = Outcome(mode)
    except ValueError:
        return Outcome.EXIT
    return Outcome.EXIT if outcome in {Outcome.SUCCEED, Outcome.MISSING_DEPENDENCY} else outcome


def _delay(text: str | None) -> timedelta | None:
    if text is None or text == "":
        return DEFAULT_DELAY
    try:
        seconds = float(text)
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return timedelta(seconds=seconds)


def _count(text: str | None, default: int, *, upper: int | None = None) -> int:
    if text is None or not text.strip().isdigit():
        return default
    value = int(text)
    return default if upper is not None and value > upper else value


def _dependencies(volumes: Iterable[Any]) -> tuple[Dependency, ...]:
    found: list[Dependency] = []
    for volume in volumes:
        if not isinstance(volume, Mapping):
            continue
        for kind in DependencyKind:
            name = _required_object(volume.get(kind.value), kind)
            if name:
                found.append(Dependency(str(volume.get("name", "")), kind, name))
    return tuple(found)


def _required_object(source: Any, kind: DependencyKind) -> str | None:
    """The object a volume source names, unless it is `optional` (mounted empty when absent)."""
    if not isinstance(source, Mapping) or source.get("optional") is True:
        return None
    name = source.get(kind.object_field)
    return str(name) if name else None
