"""The request log and fault injection, usable in-process and over `/_emulator/`."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from kubernaut_wfe_tools.emulator.errors import ApiError

ACTIONS = ("error", "hold", "delay", "drop-watch")
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")


@dataclass
class RequestRecord:
    """One served API request."""

    method: str
    path: str
    verb: str | None
    resource: str | None
    namespace: str | None
    name: str | None
    """The object's name from the path; for a create, the created object's once it exists."""
    subresource: str | None
    query: dict[str, str]
    user_agent: str = ""
    """The client's User-Agent, to tell the controller's requests from a test's own."""
    status: int = 0
    timestamp: float = 0.0
    fault: str | None = None
    message: str | None = None
    """The failure message, for requests answered with an error."""
    warnings: list[str] = field(default_factory=list)
    """Warnings sent back, e.g. `unknown field "status.x"` for pruned fields."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form for `/_emulator/requests`."""
        return asdict(self)


_FILTERS = ("method", "verb", "resource", "namespace", "name", "subresource")


class RequestLog:
    """Append-only log of requests (bounded; the count of dropped entries is kept)."""

    def __init__(self, limit: int = 200_000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=limit)
        self.dropped = 0

    def append(self, record: RequestRecord) -> None:
        """Record a request (no scan of older entries)."""
        if len(self._records) == self._records.maxlen:
            self.dropped += 1
        record.timestamp = record.timestamp or time.time()
        self._records.append(record)

    def clear(self) -> None:
        """Forget every entry."""
        self._records.clear()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(list(self._records))

    def filter(self, **criteria: str | None) -> list[RequestRecord]:
        """Entries whose fields equal every given (non-None) criterion."""
        wanted = {k: v for k, v in criteria.items() if v is not None}
        unknown = set(wanted) - set(_FILTERS)
        if unknown:
            raise ApiError(400, f"unknown request-log filter(s): {', '.join(sorted(unknown))}")
        return [
            record
            for record in self._records
            if all(_field_matches(getattr(record, k), v) for k, v in wanted.items())
        ]


def _field_matches(actual: str | None, wanted: str) -> bool:
    # HTTP methods compare case-insensitively; everything else exactly.
    if actual is None:
        return False
    return actual == wanted or (actual.isupper() and actual == wanted.upper())


_ids = itertools.count(1)

INJECTABLE_STATUSES = (400, 403, 409, 410, 422, 429, 500, 503, 504)
"""Rejections (an admission webhook's 400, RBAC or quota 403, 422) and transient failures."""


@dataclass
class FaultRule:
    """Answer the next `count` matching requests with a fault."""

    action: str
    count: int = 1
    verb: str | None = None
    resource: str | None = None
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    status: int = 500
    delay_seconds: float = 0.0
    message: str | None = None
    """The error message to answer with (e.g. an `exceeded quota` or admission webhook text)."""
    id: int = field(default_factory=lambda: next(_ids))
    served: int = 0

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ApiError(422, f"action: Unsupported value: {self.action!r}: supported: {ACTIONS}")
        if self.verb is not None and self.verb not in VERBS:
            raise ApiError(422, f"verb: Unsupported value: {self.verb!r}: supported: {VERBS}")
        if self.count < 0:
            raise ApiError(422, "count: must be >= 0")
        if self.status not in INJECTABLE_STATUSES:
            raise ApiError(422, f"status: Unsupported value: {self.status}")

    def matches(self, record: RequestRecord, resource_names: tuple[str, ...]) -> bool:
        """Whether a request falls under this rule."""
        if self.verb is not None and record.verb != self.verb:
            return False
        if self.resource is not None and self.resource not in resource_names:
            return False
        if self.namespace is not None and record.namespace != self.namespace:
            return False
        if self.name is not None and record.name != self.name:
            return False
        return self.subresource is None or record.subresource == self.subresource

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)

    def error(self) -> ApiError:
        """The failure this rule answers with."""
        messages = {
            409: "Operation cannot be fulfilled: injected conflict",
            429: "Too many requests, please try again later (injected)",
        }
        details = {"retryAfterSeconds": 1} if self.status == 429 else None
        default = messages.get(self.status, f"injected fault (HTTP {self.status})")
        return ApiError(self.status, self.message or default, details=details)


class FaultInjector:
    """The active fault rules; consulted once per API request."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._release = asyncio.Event()
        self.on_drop_watches: list[Any] = []

    def add(self, **spec: Any) -> FaultRule:
        """Add a rule (same fields as the JSON of `POST /_emulator/faults`)."""
        known = {
            "action",
            "count",
            "verb",
            "resource",
            "namespace",
            "name",
            "subresource",
            "status",
            "delay_seconds",
            "message",
        }
        unknown = set(spec) - known
        if unknown:
            raise ApiError(400, f"unknown fault field(s): {', '.join(sorted(unknown))}")
        rule = FaultRule(**spec)
        if rule.action == "drop-watch":
            for callback in self.on_drop_watches:
                callback(rule)
        if rule.count > 0:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule and release held requests."""
        self.rules.clear()
        self.release()

    def release(self) -> None:
        """Let every held request proceed."""
        self._release.set()
        self._release = asyncio.Event()

    def take(self, record: RequestRecord, resource_names: tuple[str, ...]) -> FaultRule | None:
        """The first rule matching this request (using up one of its count), or None."""
        for rule in self.rules:
            if rule.action == "drop-watch" and record.verb != "watch":
                continue
            if rule.matches(record, resource_names):
                rule.served += 1
                if rule.served >= rule.count:
                    self.rules.remove(rule)
                return rule
        return None

    async def hold(self) -> None:
        """Wait until `release()`."""
        await self._release.wait()

    async def apply(
        self, record: RequestRecord, resource_names: tuple[str, ...]
    ) -> ApiError | None:
        """Consult the rules once for this request, as the emulator and the fault proxy both do:
        the error to answer (`error`, `drop-watch`), or None once a `hold` is released or a
        `delay` slept (or with no rule). The record notes the fault and any refusal."""
        rule = self.take(record, resource_names)
        if rule is None:
            return None
        record.fault = rule.action
        if rule.action in ("error", "drop-watch"):
            error = rule.error()
            record.status, record.message = error.code, error.message
            return error
        if rule.action == "hold":
            await self.hold()
        elif rule.action == "delay":
            await asyncio.sleep(rule.delay_seconds)
        return None
