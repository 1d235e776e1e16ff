"""Parsing of Kubernetes API paths into resource, namespace, name and subresource."""

from __future__ import annotations

from dataclasses import dataclass

from kubernaut_wfe_tools.emulator.resources import ResourceRegistry, ResourceType


@dataclass(frozen=True)
class ResourcePath:
    """A request path resolved to a served resource."""

    resource: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


@dataclass(frozen=True)
class UnknownResource:
    """A path under a group-version that names no served resource."""

    group: str
    version: str
    plural: str


def parse_resource_path(
    registry: ResourceRegistry, path: str
) -> ResourcePath | UnknownResource | None:
    """Resolve `/api/v1/...` or `/apis/<g>/<v>/...` with at least a plural; None otherwise."""
    segments = [s for s in path.split("/") if s]
    if len(segments) >= 3 and segments[0] == "api":
        group, version, rest = "", segments[1], segments[2:]
    elif len(segments) >= 4 and segments[0] == "apis":
        group, version, rest = segments[1], segments[2], segments[3:]
    else:
        return None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespaced = registry.find(group, version, rest[2])
        if namespaced is not None and namespaced.namespaced:
            return _resolved(namespaced, rest[1], rest[3:])
        if namespaced is None and rest[2] != "status":
            return UnknownResource(group, version, rest[2])
    res = registry.find(group, version, rest[0])
    if res is None:
        return UnknownResource(group, version, rest[0])
    return _resolved(res, None, rest[1:])


def _resolved(res: ResourceType, namespace: str | None, rest: list[str]) -> ResourcePath | None:
    if len(rest) > 2:
        return None
    name = rest[0] if rest else None
    subresource = rest[1] if len(rest) == 2 else None
    return ResourcePath(res, namespace, name, subresource)
