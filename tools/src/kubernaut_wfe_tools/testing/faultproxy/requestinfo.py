"""What a Kubernetes API request is about (verb, resource, namespace, name, subresource), read
from its method, path and query as the API server's `RequestInfoFactory` reads it
(k8s.io/apiserver/pkg/endpoints/request/requestinfo.go). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

_API_PREFIXES = ("api", "apis")
_GROUPLESS_PREFIX = "api"
_SPECIAL_VERBS = ("proxy", "watch")
"""`/api/v1/watch/...` (deprecated) and `/api/v1/proxy/...` put the verb in the path."""
_NAMESPACE_SUBRESOURCES = ("status", "finalize")
"""What follows `namespaces/<name>/` as a subresource of the Namespace, not a resource in it."""
_METHOD_VERBS = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}
_SELECTOR_OPERATORS = ("!=", "==", "=")


@dataclass(frozen=True)
class RequestInfo:
    """A resource request: `/api/v1/...` or `/apis/<group>/<version>/...`."""

    verb: str | None
    """get, list, watch, create, update, patch, delete, deletecollection (or proxy); None for a
    method the API server maps to no verb."""
    group: str
    """The API group; empty for the core group."""
    version: str
    resource: str
    """The plural, e.g. `pipelineruns`."""
    namespace: str | None
    """None for cluster-scoped requests, including the Namespace object itself (the API server's
    RequestInfo repeats the name there; the emulator records None, and both share fault rules)."""
    name: str | None
    """From the path, or for a list or watch from a `metadata.name=<name>` field selector."""
    subresource: str | None

    @property
    def resource_names(self) -> tuple[str, ...]:
        """The names a fault rule's `resource` may give, as the emulator passes them to
        `FaultInjector.take`: plural, `plural.group` and `group/version/plural`."""
        qualified = f"{self.resource}.{self.group}" if self.group else self.resource
        return (self.resource, qualified, f"{self.group}/{self.version}/{self.resource}")


def parse_request_info(method: str, path: str, query: Mapping[str, str]) -> RequestInfo | None:
    """The resource request `method path?query` makes; None for a non-resource request
    (`/version`, `/openapi/...`, discovery `/api`, `/apis`, `/apis/<group>/<version>`, health)."""
    parts = [part for part in path.split("/") if part]
    if len(parts) < 3 or parts[0] not in _API_PREFIXES:
        return None
    prefix, parts = parts[0], parts[1:]
    group = ""
    if prefix != _GROUPLESS_PREFIX:
        if len(parts) < 3:
            return None
        group, parts = parts[0], parts[1:]
    version, parts = parts[0], parts[1:]
    verb: str | None
    if parts[0] in _SPECIAL_VERBS:
        if len(parts) < 2:
            return None  # the API server cannot tell the kind: let it answer
        verb, parts = parts[0], parts[1:]
        from_path = True
    else:
        verb = _METHOD_VERBS.get(method.upper())
        from_path = False

    namespace: str | None = None
    if parts[0] == "namespaces" and len(parts) > 2 and parts[2] not in _NAMESPACE_SUBRESOURCES:
        namespace, parts = parts[1], parts[2:]  # a resource in the namespace
    resource = parts[0]
    name = parts[1] if len(parts) >= 2 else None
    subresource = parts[2] if len(parts) >= 3 and verb != "proxy" else None

    if name is None and verb == "get" and not from_path:
        verb = "watch" if query.get("watch") in ("true", "1") else "list"
        name = _exact_name(query.get("fieldSelector"))
    if name is None and verb == "delete":
        verb = "deletecollection"
    return RequestInfo(verb, group, version, resource, namespace, name, subresource)


def _exact_name(selector: str | None) -> str | None:
    """The name a field selector requires exactly (`metadata.name=x` or `==x` among its terms),
    if it is a valid path segment, as the API server takes it for the request's name."""
    if not selector:
        return None
    for term in _split_unescaped(selector, ","):
        found = _split_term(term)
        if found is None:
            return None  # malformed: the API server ignores the selector for the name
        field, operator, value = found
        if field == "metadata.name" and operator != "!=":
            value = _unescape(value)
            if value and value not in (".", "..") and "/" not in value and "%" not in value:
                return value
    return None


def _split_unescaped(text: str, separator: str) -> list[str]:
    pieces, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == separator:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def _split_term(term: str) -> tuple[str, str, str] | None:
    index = 0
    while index < len(term):
        if term[index] == "\\":
            index += 2
            continue
        for operator in _SELECTOR_OPERATORS:
            if term.startswith(operator, index):
                return term[:index], operator, term[index + len(operator) :]
        index += 1
    return None


def _unescape(value: str) -> str:
    out, escaped = [], False
    for char in value:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    return "".join(out)
