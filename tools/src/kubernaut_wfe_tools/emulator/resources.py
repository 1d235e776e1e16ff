"""The resource types the emulator serves: built-in kinds and those defined by loaded CRDs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubernaut_wfe_tools.emulator.validation import ObjectSchema, schema_for

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CUSTOM_RESOURCE_VERBS = (
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
)
"""A custom resource's verbs, in the order the API server's discovery lists them."""
READ_VERBS = ("get", "list", "watch")


@dataclass(frozen=True)
class ResourceType:
    """One served resource (group, version, plural) and everything needed to serve it."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = False
    verbs: tuple[str, ...] = ALL_VERBS
    printer_columns: tuple[dict[str, Any], ...] = ()
    selectable_fields: tuple[str, ...] = ()
    """Field labels (`spec.a.b`) a custom resource may be selected by, from the CRD version."""
    openapi_schema: dict[str, Any] | None = None
    schema: ObjectSchema | None = field(default=None, compare=False, hash=False)
    custom: bool = False

    @property
    def key(self) -> str:
        """`group/version/plural` (group empty for the core group)."""
        return f"{self.group}/{self.version}/{self.plural}"

    @property
    def api_version(self) -> str:
        """`group/version`, or just `version` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version_path(self) -> str:
        """`apis/<group>/<version>` or `api/v1`, without the leading slash."""
        return f"apis/{self.group}/{self.version}" if self.group else f"api/{self.version}"

    @property
    def writable(self) -> bool:
        """Whether create/update/patch/delete are served."""
        return "create" in self.verbs


def _builtin(
    group: str,
    plural: str,
    kind: str,
    *,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    status: bool = False,
    verbs: tuple[str, ...] = ALL_VERBS,
) -> ResourceType:
    """A built-in resource at `<group>/v1` (`""`: the core group), as the real server's
    discovery lists it (its singular name is the Kind lowercased)."""
    return ResourceType(
        group,
        "v1",
        plural,
        kind.lower(),
        kind,
        namespaced,
        short_names=short,
        categories=categories,
        status_subresource=status,
        verbs=verbs,
    )


ALL = ("all",)
"""The category `kubectl get all` lists."""

BUILTIN_RESOURCES: tuple[ResourceType, ...] = (
    _builtin(
        "",
        "namespaces",
        "Namespace",
        namespaced=False,
        short=("ns",),
        verbs=tuple(v for v in ALL_VERBS if v != "deletecollection"),
    ),
    _builtin("", "events", "Event", short=("ev",)),
    _builtin("", "configmaps", "ConfigMap", short=("cm",)),
    _builtin("", "secrets", "Secret"),
    _builtin("", "serviceaccounts", "ServiceAccount", short=("sa",)),
    # The kinds remediations target, served so that discovery resolves them as the real server
    # does (the controller canonicalises targets through it); stored without the server's checks.
    _builtin("", "nodes", "Node", namespaced=False, short=("no",), status=True),
    _builtin("", "persistentvolumeclaims", "PersistentVolumeClaim", short=("pvc",), status=True),
    _builtin("", "pods", "Pod", short=("po",), categories=ALL, status=True),
    _builtin("", "services", "Service", short=("svc",), categories=ALL, status=True),
    _builtin("apps", "daemonsets", "DaemonSet", short=("ds",), categories=ALL, status=True),
    _builtin("apps", "deployments", "Deployment", short=("deploy",), categories=ALL, status=True),
    _builtin("apps", "replicasets", "ReplicaSet", short=("rs",), categories=ALL, status=True),
    _builtin("apps", "statefulsets", "StatefulSet", short=("sts",), categories=ALL, status=True),
    _builtin("events.k8s.io", "events", "Event", short=("ev",)),
    _builtin("batch", "cronjobs", "CronJob", short=("cj",), categories=ALL, status=True),
    _builtin("batch", "jobs", "Job", categories=ALL, status=True),
    _builtin("coordination.k8s.io", "leases", "Lease"),
)

CRD_RESOURCE = ResourceType(
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    "customresourcedefinition",
    "CustomResourceDefinition",
    False,
    short_names=("crd", "crds"),
    categories=("api-extensions",),
    verbs=READ_VERBS,
)


def resources_from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """One `ResourceType` per served version of a `CustomResourceDefinition` document."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    result: list[ResourceType] = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        openapi = ((version.get("schema") or {}).get("openAPIV3Schema")) or None
        result.append(
            ResourceType(
                group=spec["group"],
                version=version["name"],
                plural=names["plural"],
                singular=names.get("singular") or names["kind"].lower(),
                kind=names["kind"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                status_subresource="status" in ((version.get("subresources")) or {}),
                printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
                selectable_fields=tuple(
                    str(entry["jsonPath"]).lstrip(".")
                    for entry in version.get("selectableFields") or ()
                ),
                openapi_schema=openapi,
                schema=schema_for(crd, version["name"]) if openapi else None,
                verbs=CUSTOM_RESOURCE_VERBS,
                custom=True,
            )
        )
    return result


class ResourceRegistry:
    """Lookup of served resources by path segments, kind or name."""

    def __init__(self) -> None:
        self._by_key: dict[str, ResourceType] = {}

    def add(self, resource: ResourceType) -> None:
        """Serve `resource` (replacing one with the same group/version/plural)."""
        self._by_key[resource.key] = resource

    def find(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The resource served at `group/version/plural`, if any."""
        return self._by_key.get(f"{group}/{version}/{plural}")

    def all(self) -> list[ResourceType]:
        """Every served resource, in registration order."""
        return list(self._by_key.values())

    def group_versions(self) -> dict[str, list[str]]:
        """Group name → its served versions (core group under "")."""
        groups: dict[str, list[str]] = {}
        for resource in self._by_key.values():
            versions = groups.setdefault(resource.group, [])
            if resource.version not in versions:
                versions.append(resource.version)
        return groups

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        """The resources served under one group-version."""
        return [r for r in self._by_key.values() if r.group == group and r.version == version]

    def match_name(self, text: str) -> list[ResourceType]:
        """Resources whose plural, `plural.group` or `apiVersion/plural` equals `text`."""
        return [
            r
            for r in self._by_key.values()
            if text
            in (
                r.plural,
                f"{r.plural}.{r.group}" if r.group else r.plural,
                r.key,
                f"{r.api_version}/{r.plural}",
            )
        ]
