"""Which permission a request needed, and which ones the API server has refused the controller.

A 403 from RBAC is never fixed by retrying: it needs someone to change the controller's role.
The controller names the permission (log and readiness) and, once the role is fixed, notices
through a SelfSubjectAccessReview (which every authenticated user may create), so readiness
recovers without waiting for the failed request to be tried again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
QUOTA_TEXT = "exceeded quota"
"""A 403 with this text is a ResourceQuota's refusal, not a missing permission."""


@dataclass(frozen=True, order=True)
class Permission:
    """An RBAC permission: a verb on a resource (or subresource), in a namespace or cluster-wide."""

    verb: str
    group: str
    resource: str
    subresource: str = ""
    namespace: str = ""

    def __str__(self) -> str:
        resource = f"{self.resource}.{self.group}" if self.group else self.resource
        if self.subresource:
            resource += f"/{self.subresource}"
        where = f"in namespace {self.namespace}" if self.namespace else "cluster-wide"
        return f"{self.verb} {resource} {where}"

    def access_review(self) -> dict[str, object]:
        """A SelfSubjectAccessReview asking whether the controller now has this permission."""
        attributes = {"verb": self.verb, "group": self.group, "resource": self.resource}
        if self.subresource:
            attributes["subresource"] = self.subresource
        if self.namespace:
            attributes["namespace"] = self.namespace
        return {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }


def permission_of(
    method: str, path: str, params: Mapping[str, str] | None = None
) -> Permission | None:
    """The permission a request on a resource path needs (None for a non-resource path)."""
    parts = [part for part in path.split("?", 1)[0].split("/") if part]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return None
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest:
        return None
    resource, name = rest[0], rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if method == "GET":
        if (params or {}).get("watch") in ("true", "1"):
            verb = "watch"
        else:
            verb = "get" if name else "list"
    else:
        verb = METHOD_VERBS.get(method, method.lower())
    return Permission(verb, group, resource, subresource, namespace)


class PermissionLedger:
    """The permissions refused so far and not granted since, with the API server's message."""

    def __init__(self) -> None:
        self._denied: dict[Permission, str] = {}

    def denied(self, permission: Permission, message: str) -> bool:
        """Record a refusal; True if it is news (not already recorded)."""
        news = permission not in self._denied
        self._denied[permission] = message
        return news

    def granted(self, permission: Permission) -> bool:
        """Forget a refusal (the permission worked); True if one was recorded."""
        return self._denied.pop(permission, None) is not None

    def missing(self) -> list[Permission]:
        """The permissions refused and not granted since, in a stable order."""
        return sorted(self._denied)

    def __bool__(self) -> bool:
        """Whether any refusal is on record."""
        return bool(self._denied)

    def message(self, permission: Permission) -> str:
        return self._denied.get(permission, "")


def is_rbac_refusal(status: int, message: str) -> bool:
    """A 403 that a role change fixes (not a quota's)."""
    return status == 403 and QUOTA_TEXT not in message.lower()
