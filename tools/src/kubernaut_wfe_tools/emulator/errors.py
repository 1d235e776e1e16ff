"""Kubernetes `Status` failures, raised anywhere in the emulator, rendered as the apiserver does."""

from __future__ import annotations

from typing import Any

_REASONS: dict[int, str] = {
    400: "BadRequest",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class ApiError(Exception):
    """A failed request: HTTP code plus the `Status` body a real apiserver would send."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or _REASONS.get(code, "InternalError")
        self.details = details

    def status(self) -> dict[str, Any]:
        """The `Status` object (kind Status, apiVersion v1) for this failure."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(name: str, group: str, kind: str, **more: Any) -> dict[str, Any]:
    """A Status's details as the API server writes them: empty name and group left out."""
    details: dict[str, Any] = {"name": name, "group": group, "kind": kind, **more}
    return {key: value for key, value in details.items() if value != ""}


def not_found(group: str, plural: str, name: str) -> ApiError:
    """`<plural>.<group> "<name>" not found` with details, as for a missing object."""
    qualified = f"{plural}.{group}" if group else plural
    return ApiError(404, f'{qualified} "{name}" not found', details=_details(name, group, plural))


def already_exists(group: str, plural: str, name: str) -> ApiError:
    """409 AlreadyExists for a create over an existing name."""
    qualified = f"{plural}.{group}" if group else plural
    return ApiError(
        409,
        f'{qualified} "{name}" already exists',
        reason="AlreadyExists",
        details=_details(name, group, plural),
    )


def conflict(group: str, plural: str, name: str, detail: str) -> ApiError:
    """409 Conflict: `Operation cannot be fulfilled on <plural>.<group> "<name>": <detail>`."""
    qualified = f"{plural}.{group}" if group else plural
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {qualified} "{name}": {detail}',
        reason="Conflict",
        details=_details(name, group, plural),
    )


def namespace_terminating(group: str, plural: str, name: str, namespace: str) -> ApiError:
    """403 Forbidden for a create in a namespace being deleted (the NamespaceLifecycle
    admission plugin's answer)."""
    qualified = f"{plural}.{group}" if group else plural
    cause = {
        "reason": "NamespaceTerminating",
        "message": f"namespace {namespace} is being terminated",
        "field": "metadata.namespace",
    }
    return ApiError(
        403,
        f'{qualified} "{name}" is forbidden: unable to create new content in namespace '
        f"{namespace} because it is being terminated",
        reason="Forbidden",
        details=_details(name, group, plural, causes=[cause]),
    )


STALE_OBJECT = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


def invalid(
    kind: str, group: str, name: str, causes: list[dict[str, str]], summary: list[str]
) -> ApiError:
    """422 Invalid: `<Kind>.<group> "<name>" is invalid: <field>: <detail>, ...`."""
    qualified = f"{kind}.{group}" if group else kind
    joined = summary[0] if len(summary) == 1 else "[" + ", ".join(summary) + "]"
    return ApiError(
        422,
        f'{qualified} "{name}" is invalid: {joined}',
        reason="Invalid",
        details=_details(name, group, kind, causes=causes),
    )
