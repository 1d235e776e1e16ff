"""The resource types the controller talks to, and the URL paths of their objects."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from kubernaut_wfe import constants


@dataclass(frozen=True)
class Resource:
    """One resource type of the API: enough to build the URL of any of its objects."""

    group: str
    """API group; `""` for the core group (`/api/v1`)."""
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        """`group/version`, or just `version` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        """URL path of the collection (no name) or of one object (and its subresource).

        A namespaced resource without a namespace means the collection across all namespaces.
        """
        if self.namespaced and namespace is None and name is not None:
            raise ValueError(f"{self.plural} are namespaced: a namespace is required")
        if not self.namespaced and namespace is not None:
            raise ValueError(f"{self.plural} are cluster-scoped: no namespace allowed")
        if subresource is not None and name is None:
            raise ValueError("a subresource needs an object name")
        parts = ["/api" if not self.group else "/apis"]
        if self.group:
            parts.append(self.group)
        parts.append(self.version)
        if namespace is not None:
            parts += ["namespaces", _segment(namespace, "namespace")]
        parts.append(self.plural)
        if name is not None:
            parts.append(_segment(name, "name"))
        if subresource is not None:
            parts.append(_segment(subresource, "subresource"))
        return "/".join(parts)


def _segment(value: str, what: str) -> str:
    if not value or value in {".", ".."}:
        raise ValueError(f"invalid {what} {value!r}")
    return quote(value, safe="")


WORKFLOW_EXECUTIONS = Resource(
    constants.GROUP, constants.VERSION, constants.PLURAL, constants.KIND, namespaced=True
)
PIPELINE_RUNS = Resource(
    constants.TEKTON_GROUP,
    constants.TEKTON_VERSION,
    constants.PIPELINERUN_PLURAL,
    constants.PIPELINERUN_KIND,
    namespaced=True,
)
TASK_RUNS = Resource(
    constants.TEKTON_GROUP,
    constants.TEKTON_VERSION,
    constants.TASKRUN_PLURAL,
    constants.TASKRUN_KIND,
    namespaced=True,
)
JOBS = Resource("batch", "v1", constants.JOB_PLURAL, constants.JOB_KIND, namespaced=True)
RUN_RESOURCES: dict[constants.RunKind, Resource] = {
    constants.RunKind.PIPELINE_RUN: PIPELINE_RUNS,
    constants.RunKind.JOB: JOBS,
}
"""The resource of each kind of run."""
PODS = Resource("", "v1", "pods", constants.POD_KIND, namespaced=True)
EVENTS = Resource("", "v1", "events", "Event", namespaced=True)
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease", namespaced=True)
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
CONFIG_MAPS = Resource("", "v1", "configmaps", "ConfigMap", namespaced=True)
SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount", namespaced=True)
CUSTOM_RESOURCE_DEFINITIONS = Resource(
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    "CustomResourceDefinition",
    namespaced=False,
)
