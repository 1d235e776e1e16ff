"""The hostile DataStorage answers of `tests/corpus/datastorage_answers.yaml`: each case, the
answers the front (`hostile_datastorage.py`) gives to the controller's requests about its
WorkflowExecutions, and the outcome the controller must reach."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

import yaml

from kubernaut_wfe.constants import AuditEventType
from kubernaut_wfe_tools.testing import corpus


class Route(StrEnum):
    """The DataStorage request an answer replaces."""

    BATCH = "batch"
    """`POST /api/v1/audit/events/batch`."""
    QUERY = "query"
    """`GET /api/v1/audit/events`."""


class BodyKind(StrEnum):
    """Answers that are more than a status and a literal body."""

    LITERAL = "literal"
    """`body` as given (text), or JSON when `body` is not a string."""
    PROBLEM = "problem"
    """An RFC 7807 problem with the answer's status and `detail`."""
    TRUNCATED = "truncated"
    """The first half of the real service's answer."""
    DRIP = "drip"
    """The headers, then one byte a second until the client hangs up."""
    RESET = "reset"
    """The headers and half of the real service's answer, then a TCP reset."""
    FEWER_IDS = "fewer_ids"
    """Only the first half of the batch goes to the real service; its ids are the answer."""
    MORE_IDS = "more_ids"
    """The real service's answer with one event id more than it stored."""
    ENDLESS_PAGES = "endless_pages"
    """A query page holding only a predecessor's event (the WFE's last event sent, an hour
    earlier, another id), claiming more pages (`has_more`) whatever the offset, `total` 1."""


@dataclass(frozen=True)
class HostileAnswer:
    """What the front answers instead of the real service, to the requests it matches."""

    route: Route
    status: int
    body: Any = None
    kind: BodyKind = BodyKind.LITERAL
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    forward: bool = False
    """Whether the real service gets (and stores) the request before the answer is given."""
    times: int | None = None
    """How many matching requests get this answer; None: every one (a permanent answer)."""
    event_type: AuditEventType | None = None
    """Only batches holding this event type of the case (every request of the case if None)."""
    wfe: int | None = None
    """Only the events of this WFE of the case (all of them if None)."""
    min_events: int = 1
    """Only batches of at least this many events."""
    detail: str = ""

    @property
    def retry_after(self) -> float | None:
        """The Retry-After seconds the answer asks for, if any."""
        value = self.headers.get("Retry-After")
        return float(value) if value is not None else None


class Outcome(StrEnum):
    """What the case must end with (besides every WFE reaching its phase, no traceback)."""

    STORED_ONCE = "stored_once"
    """Every due audit event stored exactly once."""
    REJECTED = "rejected"
    """The answer's event refused for good (logged, counted, in status); every other stored
    once."""


@dataclass(frozen=True)
class DataStorageCase:
    """One case of `datastorage_answers.yaml`."""

    name: str
    answers: tuple[HostileAnswer, ...]
    outcome: Outcome
    rejected: AuditEventType | None = None
    wfes: int = 1
    """WFEs created at once; more than one: their events share batches (the batching
    controller runs the case)."""
    restart: bool = False
    """Once the WFEs completed and the first answer was given, the controller is killed and
    started again: the new one asks the query API before sending what status still owes
    (`verify_first`)."""

    @property
    def batched(self) -> bool:
        """Whether the case runs on the batching controller, alone."""
        return self.wfes > 1 or self.restart

    def wfe_names(self) -> list[str]:
        """The names of the case's WFEs (their correlation ids are `rr-<name>`)."""
        if self.wfes == 1:
            return [self.name]
        return [f"{self.name}-{index}" for index in range(self.wfes)]

    def rejected_for(self, index: int) -> AuditEventType | None:
        """The event type of WFE number `index` that must be rejected, if any."""
        if self.rejected is None:
            return None
        targets = {answer.wfe for answer in self.answers if answer.event_type == self.rejected}
        return self.rejected if None in targets or index in targets else None


_ANSWER_KEYS = frozenset(f.name for f in fields(HostileAnswer))
_CASE_KEYS = frozenset({"name", "answers", "outcome", "rejected", "wfes", "restart"})


def _answer(case: str, entry: dict[str, Any]) -> HostileAnswer:
    if unknown := set(entry) - _ANSWER_KEYS:
        raise ValueError(f"corpus case {case}: unknown answer keys {sorted(unknown)}")
    kind = BodyKind(entry.pop("kind", BodyKind.LITERAL))
    event_type = entry.pop("event_type", None)
    headers = {str(key): str(value) for key, value in (entry.pop("headers", None) or {}).items()}
    answer = HostileAnswer(
        route=Route(entry.pop("route")),
        kind=kind,
        event_type=AuditEventType(event_type) if event_type else None,
        headers=headers,
        **entry,
    )
    if kind in (BodyKind.FEWER_IDS, BodyKind.MORE_IDS) and answer.route is not Route.BATCH:
        raise ValueError(f"corpus case {case}: {kind} answers a batch")
    if kind is BodyKind.ENDLESS_PAGES and answer.route is not Route.QUERY:
        raise ValueError(f"corpus case {case}: {kind} answers a query")
    return answer


def datastorage_cases() -> list[DataStorageCase]:
    """Every case of `tests/corpus/datastorage_answers.yaml`, checked for a consistent outcome."""
    path = corpus.CORPUS_DIR / "datastorage_answers.yaml"
    cases = []
    for entry in yaml.safe_load(path.read_text(encoding="utf-8")):
        name = entry["name"]
        if unknown := set(entry) - _CASE_KEYS:
            raise ValueError(f"corpus case {name}: unknown keys {sorted(unknown)}")
        rejected = entry.get("rejected")
        if ("outcome" in entry) == bool(rejected):
            raise ValueError(f"corpus case {name}: give either `outcome` or `rejected`")
        case = DataStorageCase(
            name=name,
            answers=tuple(_answer(name, dict(answer)) for answer in entry["answers"]),
            outcome=Outcome.REJECTED if rejected else Outcome(entry["outcome"]),
            rejected=AuditEventType(rejected) if rejected else None,
            wfes=int(entry.get("wfes", 1)),
            restart=bool(entry.get("restart", False)),
        )
        permanent_refusals = [
            answer
            for answer in case.answers
            if answer.times is None and 400 <= answer.status < 500 and answer.min_events == 1
        ]
        if bool(permanent_refusals) != (case.outcome is Outcome.REJECTED):
            raise ValueError(f"corpus case {name}: a permanent 4xx answer means `rejected`")
        if case.rejected and any(a.event_type != case.rejected for a in permanent_refusals):
            raise ValueError(f"corpus case {name}: the refused event must be the rejected one")
        cases.append(case)
    return cases
