"""What the kubelet makes of a pod to run its container (pure): the command line, the
environment, the volumes and where they go, the user, the memory limit, the probes, the restart
policy, and why a container cannot be created (`CreateContainerConfigError`)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kubernaut_wfe_tools.node_simulator import messages
from kubernaut_wfe_tools.node_simulator.service_pods.images import ImageConfig

Lookup = Mapping[tuple[str, str, str], str | None]
"""(kind `configmaps`/`secrets`, name, key) → the value; None when the object exists without the
key; absent when the object does not exist."""

_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\$")
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)([EPTGMK]i?|[numk]|e[0-9]+)?$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}


class ConfigError(ValueError):
    """The container cannot be created as specified: the kubelet's
    `CreateContainerConfigError`, with its message."""


class RestartPolicy(StrEnum):
    ALWAYS = "Always"
    ON_FAILURE = "OnFailure"
    NEVER = "Never"


@dataclass(frozen=True)
class Probe:
    """An `httpGet` probe, its port resolved to a number."""

    path: str
    port: int
    scheme: str
    initial_delay: float
    period: float
    timeout: float
    success_threshold: int
    failure_threshold: int


@dataclass(frozen=True)
class Identity:
    """The pod facts a kubelet exposes to its containers (the downward API, in-cluster
    variables)."""

    name: str
    namespace: str
    uid: str
    node_name: str
    service_account: str
    pod_ip: str
    host_ip: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]


@dataclass(frozen=True)
class ContainerPlan:
    name: str
    image: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    working_dir: str
    uid: int | None
    gid: int | None
    supplemental_groups: tuple[int, ...]
    read_only_root: bool
    no_new_privileges: bool
    memory_limit_bytes: int | None
    liveness: Probe | None
    readiness: Probe | None
    volume_mounts: tuple[tuple[str, str, bool], ...]
    """(volume name, mountPath, readOnly)."""


def restart_policy(pod: Mapping[str, Any]) -> RestartPolicy:
    return RestartPolicy((pod.get("spec") or {}).get("restartPolicy") or "Always")


def grace_period(pod: Mapping[str, Any]) -> float:
    """How long a stopping container has between SIGTERM and SIGKILL: the deletion's own grace
    period when the pod is being deleted, else the pod's (30 s by default)."""
    metadata, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    value = metadata.get("deletionGracePeriodSeconds")
    if value is None:
        value = spec.get("terminationGracePeriodSeconds", 30)
    return float(value)


def identity(pod: Mapping[str, Any], *, pod_ip: str, host_ip: str) -> Identity:
    metadata, spec = pod["metadata"], pod.get("spec") or {}
    return Identity(
        name=metadata["name"],
        namespace=metadata["namespace"],
        uid=metadata["uid"],
        node_name=spec.get("nodeName") or "",
        service_account=spec.get("serviceAccountName") or "default",
        pod_ip=pod_ip,
        host_ip=host_ip,
        labels=metadata.get("labels") or {},
        annotations=metadata.get("annotations") or {},
    )


def plan_container(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    image: ImageConfig,
    who: Identity,
    *,
    service_env: Mapping[str, str],
    lookup: Lookup,
) -> ContainerPlan:
    """How to run `container` of `pod` from `image`; ConfigError as the kubelet refuses it."""
    name = container["name"]
    # `$(VAR)` sees the Service variables and the container's own, never the image's ENV; the
    # image's ENTRYPOINT and CMD are not expanded (the runtime adds them as they are).
    declared = {**service_env, **_environment(container, who, service_env, lookup)}
    env = {**image.env, **declared}
    command = [expand(part, declared) for part in container.get("command") or []]
    args = [expand(part, declared) for part in container.get("args") or []]
    # As containerd: the image's ENTRYPOINT unless a command is given; its CMD unless args are.
    argv = [*command, *args] if command else [*image.entrypoint, *(args or image.cmd)]
    if not argv:
        raise ConfigError("no command specified")
    context = _security_context(pod, container)
    uid = context.get("runAsUser", image.user)
    gid = context.get("runAsGroup", image.group)
    if context.get("runAsNonRoot"):
        if context.get("runAsUser") == 0:
            raise ConfigError(messages.root_user_refused(who.name, who.namespace, who.uid, name))
        if not uid:  # the image's user: none (root) or 0
            raise ConfigError(messages.runs_as_root(who.name, who.namespace, who.uid, name))
    pod_context = (pod.get("spec") or {}).get("securityContext") or {}
    groups = [*pod_context.get("supplementalGroups", [])]
    if pod_context.get("fsGroup") is not None:
        groups.append(pod_context["fsGroup"])
    ports = {p["name"]: p["containerPort"] for p in container.get("ports") or [] if p.get("name")}
    limits = (container.get("resources") or {}).get("limits") or {}
    return ContainerPlan(
        name=name,
        image=container["image"],
        argv=tuple(argv),
        env=env,
        working_dir=container.get("workingDir") or image.working_dir,
        uid=uid,
        gid=gid,
        supplemental_groups=tuple(dict.fromkeys(groups)),
        read_only_root=bool(context.get("readOnlyRootFilesystem")),
        no_new_privileges=context.get("allowPrivilegeEscalation") is False,
        memory_limit_bytes=quantity_bytes(limits["memory"]) if "memory" in limits else None,
        liveness=_probe(container.get("livenessProbe"), ports),
        readiness=_probe(container.get("readinessProbe"), ports),
        volume_mounts=tuple(
            (m["name"], m["mountPath"], bool(m.get("readOnly")))
            for m in container.get("volumeMounts") or []
        ),
    )


def service_environment(services: Sequence[tuple[str, str, int]]) -> dict[str, str]:
    """The Docker-links-style variables the kubelet sets for each Service of the pod's
    namespace (here: the `kubernetes` Service of `default`, as for every pod), from
    (name, cluster IP, port)."""
    env: dict[str, str] = {}
    for name, address, port in services:
        prefix = name.upper().replace("-", "_")
        url = f"tcp://{address}:{port}"
        env[f"{prefix}_SERVICE_HOST"] = address
        env[f"{prefix}_SERVICE_PORT"] = str(port)
        env[f"{prefix}_PORT"] = url
        env[f"{prefix}_PORT_{port}_TCP"] = url
        env[f"{prefix}_PORT_{port}_TCP_PROTO"] = "tcp"
        env[f"{prefix}_PORT_{port}_TCP_PORT"] = str(port)
        env[f"{prefix}_PORT_{port}_TCP_ADDR"] = address
        if name == "kubernetes":
            env["KUBERNETES_SERVICE_PORT_HTTPS"] = str(port)
    return env


def field_value(path: str, who: Identity) -> str:
    """A downward API `fieldRef`."""
    simple = {
        "metadata.name": who.name,
        "metadata.namespace": who.namespace,
        "metadata.uid": who.uid,
        "spec.nodeName": who.node_name,
        "spec.serviceAccountName": who.service_account,
        "status.podIP": who.pod_ip,
        "status.podIPs": who.pod_ip,
        "status.hostIP": who.host_ip,
        "status.hostIPs": who.host_ip,
    }
    if path in simple:
        return simple[path]
    found = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if found:
        source = who.labels if found.group(1) == "labels" else who.annotations
        return source.get(found.group(2), "")
    raise ConfigError(f'unsupported fieldPath: "{path}"')


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: a defined variable is replaced, an undefined reference
    stays as written, `$$` is a literal `$`."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _REFERENCE.sub(replace, text)


def quantity_bytes(text: str) -> int:
    """A resource quantity (`512Mi`, `1G`, `128974848`) in bytes, rounded up."""
    found = _QUANTITY.match(str(text).strip())
    if not found:
        raise ConfigError(f"quantities must match the regular expression: {text!r}")
    number, suffix = float(found.group(1)), found.group(2) or ""
    if suffix in _BINARY:
        factor: float = _BINARY[suffix]
    elif suffix in _DECIMAL:
        factor = _DECIMAL[suffix]
    elif suffix.startswith("e"):
        factor = 10 ** int(suffix[1:])
    elif suffix == "m":
        factor = 1e-3
    else:
        factor = 1
    return int(-(-number * factor // 1))


def _environment(
    container: Mapping[str, Any], who: Identity, known: Mapping[str, str], lookup: Lookup
) -> dict[str, str]:
    env: dict[str, str] = {}
    if container.get("envFrom"):
        raise ConfigError("envFrom is not played by the node stand-in")
    for entry in container.get("env") or []:
        name = entry["name"]
        if "valueFrom" not in entry:
            env[name] = expand(entry.get("value", ""), {**known, **env})
            continue
        source = entry["valueFrom"]
        if "fieldRef" in source:
            env[name] = field_value(source["fieldRef"]["fieldPath"], who)
        elif "configMapKeyRef" in source or "secretKeyRef" in source:
            kind, ref = (
                ("configmaps", source["configMapKeyRef"])
                if "configMapKeyRef" in source
                else ("secrets", source["secretKeyRef"])
            )
            reference = (kind, ref["name"], ref["key"])
            value = lookup.get(reference)
            if value is None:
                if ref.get("optional"):
                    continue
                if reference not in lookup:
                    noun = "configmap" if kind == "configmaps" else "secret"
                    raise ConfigError(f'{noun} "{ref["name"]}" not found')
                api_kind = "ConfigMap" if kind == "configmaps" else "Secret"
                raise ConfigError(
                    messages.env_key_missing(ref["key"], api_kind, who.namespace, ref["name"])
                )
            env[name] = value
        else:
            raise ConfigError(f"env {name}: this valueFrom is not played by the node stand-in")
    return env


def _security_context(pod: Mapping[str, Any], container: Mapping[str, Any]) -> dict[str, Any]:
    """The container's effective security context: its own settings over the pod's."""
    pod_context = (pod.get("spec") or {}).get("securityContext") or {}
    inherited = {
        key: pod_context[key]
        for key in ("runAsUser", "runAsGroup", "runAsNonRoot")
        if key in pod_context
    }
    return {**inherited, **(container.get("securityContext") or {})}


def _probe(probe: Mapping[str, Any] | None, ports: Mapping[str, int]) -> Probe | None:
    if not probe:
        return None
    get = probe.get("httpGet")
    if get is None:
        raise ConfigError("only httpGet probes are played by the node stand-in")
    port = get["port"]
    if isinstance(port, str) and not port.isdigit():
        if port not in ports:
            raise ConfigError(f"port {port!r} is not a named container port")
        port = ports[port]
    return Probe(
        path=get.get("path", "/"),
        port=int(port),
        scheme=str(get.get("scheme", "HTTP")).lower(),
        initial_delay=float(probe.get("initialDelaySeconds", 0)),
        period=float(probe.get("periodSeconds", 10)),
        timeout=float(probe.get("timeoutSeconds", 1)),
        success_threshold=int(probe.get("successThreshold", 1)),
        failure_threshold=int(probe.get("failureThreshold", 3)),
    )
