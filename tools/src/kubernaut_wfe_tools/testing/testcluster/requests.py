"""The API requests of one user, read from the API server's audit log, in the shape of the
emulator's request log (`RequestRecord`), so a test counts requests the same way on both."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from kubernaut_wfe_tools.emulator.faults import RequestLog, RequestRecord

_METHODS = {
    "get": "GET",
    "list": "GET",
    "watch": "GET",
    "create": "POST",
    "update": "PUT",
    "patch": "PATCH",
    "delete": "DELETE",
    "deletecollection": "DELETE",
}


AUTHORIZATION_DECISION = "authorization.k8s.io/decision"
"""The audit annotation saying whether authorization allowed the request (`allow`/`forbid`)."""


def record_of(event: dict[str, Any]) -> RequestRecord:
    """The request an audit event (`audit.k8s.io/v1` Event) describes."""
    reference = event.get("objectRef") or {}
    uri = str(event.get("requestURI") or "")
    path, _, query = uri.partition("?")
    verb = str(event.get("verb") or "")
    return RequestRecord(
        method=_METHODS.get(verb, verb.upper()),
        path=path,
        verb=verb or None,
        resource=reference.get("resource"),
        namespace=reference.get("namespace"),
        name=reference.get("name"),
        subresource=reference.get("subresource"),
        query=dict(parse_qsl(query, keep_blank_values=True)),
        user_agent=str(event.get("userAgent") or ""),
        status=int((event.get("responseStatus") or {}).get("code") or 0),
        timestamp=_epoch(event.get("requestReceivedTimestamp")),
        message=(event.get("responseStatus") or {}).get("message"),
    )


def _epoch(stamp: Any) -> float:
    if not isinstance(stamp, str):
        return 0.0
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


class AuditedRequests:
    """The requests of `user` in the audit log at `path`, read as the log grows.

    One record per request (`auditID`): a watch is logged when its response starts and again when
    it ends, every other request once (the policy omits `RequestReceived`). `clear()` forgets what
    was logged so far, as the emulator's request log does."""

    def __init__(self, path: Path, user: str) -> None:
        self._path = path
        self._user = user
        self._offset = 0
        self._seen: set[str] = set()
        self._log = RequestLog()
        self._denied: list[RequestRecord] = []

    def _read(self) -> None:
        try:
            with self._path.open("rb") as log:
                log.seek(self._offset)
                chunk = log.read()
        except FileNotFoundError:
            return
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits
        self._offset += len(complete)
        for line in complete.splitlines():
            event = json.loads(line)
            if (event.get("user") or {}).get("username") != self._user:
                continue
            audit_id = str(event.get("auditID"))
            if audit_id not in self._seen:
                self._seen.add(audit_id)
                record = record_of(event)
                self._log.append(record)
                if (event.get("annotations") or {}).get(AUTHORIZATION_DECISION) == "forbid":
                    self._denied.append(record)

    def filter(self, **criteria: str | None) -> list[RequestRecord]:
        """The requests whose fields equal every given criterion (as `RequestLog.filter`)."""
        self._read()
        return self._log.filter(**criteria)

    def denied_by_rbac(self) -> list[RequestRecord]:
        """The requests authorization refused (a 403 from admission, e.g. a create in a
        namespace being terminated, is not one of them)."""
        self._read()
        return list(self._denied)

    def clear(self) -> None:
        """Forget every request logged so far."""
        self._read()
        self._log.clear()
        self._denied.clear()

    def __iter__(self) -> Iterator[RequestRecord]:
        self._read()
        return iter(self._log)

    def __len__(self) -> int:
        self._read()
        return len(self._log)
