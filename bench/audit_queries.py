"""What the readers of scenario 4 ask the audit service while the load is delivered, and what
makes an answer wrong: pure, so the checks are unit-tested (`tests/unit/bench/`)."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from kubernaut_wfe.datastorage.models import AuditEvent, AuditEventsQueryResponse

CORRELATION_LIMIT = 100
"""Page size of a query by correlation id: far more than the three events a correlation has."""
PAGE_LIMIT = 100
"""Page size of the paginated queries by event type."""
PAGES = 10
"""A reader walks pages 1..PAGES of an event type, then starts again from the first."""


class QueryKind(StrEnum):
    """The queries a reader cycles through, as the platform asks them."""

    ACKNOWLEDGED = "acknowledged_correlation"
    """By correlation id, one whose events delivery has all acknowledged: every one must show."""
    IN_FLIGHT = "in_flight_correlation"
    """By correlation id, one whose events are being written right now: a subset, none twice."""
    LOOKUP = "lookup"
    """By correlation id and event type (the controller's lookup before a re-send): exactly one."""
    BY_TYPE_PAGE = "event_type_page"
    """By event type, one page of `PAGE_LIMIT` at offsets 0, 100, ... (a paginated listing)."""


class Defect(StrEnum):
    """What can be wrong with an answer."""

    MALFORMED = "malformed"
    """Inconsistent with the spec or with the query: pagination, filters, order, union."""
    DUPLICATED = "duplicated"
    """An event shows twice."""
    INVISIBLE = "invisible_after_ack"
    """An acknowledged event is missing."""


@dataclass(frozen=True)
class ReaderQuery:
    """One query and what its answer must show."""

    kind: QueryKind
    limit: int
    offset: int = 0
    correlation_id: str | None = None
    event_type: str | None = None
    allowed_types: frozenset[str] | None = None
    """A correlation's event types: no other may show, none twice (None: no such check)."""
    required_types: frozenset[str] = frozenset()
    """Event types that must show (acknowledged before the query was sent)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an answer."""

    defect: Defect
    detail: str


@dataclass
class QueryPlan:
    """The next query of one reader: the kinds in turn, skipping one that has nothing to ask."""

    reader: int
    event_types: tuple[str, ...]
    _turn: itertools.count[int] = field(default_factory=itertools.count)
    _page: itertools.count[int] = field(default_factory=itertools.count)
    _lookup: itertools.count[int] = field(default_factory=itertools.count)

    def next_query(
        self,
        acknowledged: tuple[str, frozenset[str]] | None,
        in_flight: tuple[str, frozenset[str]] | None,
    ) -> ReaderQuery:
        """The next query, given a correlation already acknowledged and one still being written
        (each with its event types; None when there is none)."""
        kinds = list(QueryKind)
        while True:
            kind = kinds[(next(self._turn) + self.reader) % len(kinds)]
            query = self._query(kind, acknowledged, in_flight)
            if query is not None:
                return query

    def _query(
        self,
        kind: QueryKind,
        acknowledged: tuple[str, frozenset[str]] | None,
        in_flight: tuple[str, frozenset[str]] | None,
    ) -> ReaderQuery | None:
        if kind is QueryKind.BY_TYPE_PAGE:
            page = next(self._page) + self.reader
            event_type = self.event_types[page % len(self.event_types)]
            offset = (page % PAGES) * PAGE_LIMIT
            return ReaderQuery(kind, PAGE_LIMIT, offset, event_type=event_type)
        if kind is QueryKind.IN_FLIGHT:
            if in_flight is None:
                return None
            correlation, types = in_flight
            return ReaderQuery(
                kind, CORRELATION_LIMIT, correlation_id=correlation, allowed_types=types
            )
        if acknowledged is None:
            return None
        correlation, types = acknowledged
        if kind is QueryKind.ACKNOWLEDGED:
            return ReaderQuery(
                kind,
                CORRELATION_LIMIT,
                correlation_id=correlation,
                allowed_types=types,
                required_types=types,
            )
        one = sorted(types)[next(self._lookup) % len(types)]
        return ReaderQuery(
            kind,
            CORRELATION_LIMIT,
            correlation_id=correlation,
            event_type=one,
            allowed_types=frozenset({one}),
            required_types=frozenset({one}),
        )


def answer_problems(query: ReaderQuery, answer: AuditEventsQueryResponse) -> list[Problem]:
    """Everything wrong with `answer` to `query` (an empty list for a good answer)."""
    if answer.data is None or answer.pagination is None:
        return [Problem(Defect.MALFORMED, "no data or no pagination")]
    data, problems = answer.data, _pagination_problems(query, answer)
    for name, wanted in (
        ("correlation_id", query.correlation_id),
        ("event_type", query.event_type),
    ):
        strays = [event for event in data if wanted is not None and getattr(event, name) != wanted]
        if strays:
            problems.append(Problem(Defect.MALFORMED, f"{len(strays)} events not of {wanted!r}"))
    problems += _event_problems(data)
    if query.allowed_types is not None:
        problems += _correlation_problems(query, answer, data)
    return problems


def _pagination_problems(query: ReaderQuery, answer: AuditEventsQueryResponse) -> list[Problem]:
    assert answer.pagination is not None
    assert answer.data is not None
    page, count = answer.pagination, len(answer.data)
    if page.limit != query.limit or page.offset != query.offset:
        detail = f"pagination says limit {page.limit}, offset {page.offset}"
        return [Problem(Defect.MALFORMED, f"{detail}; asked {query.limit}, {query.offset}")]
    if page.total is None or page.has_more is None:
        return [Problem(Defect.MALFORMED, "pagination without total or has_more")]
    problems = []
    if count > query.limit:
        problems.append(Problem(Defect.MALFORMED, f"{count} events on a page of {query.limit}"))
    if count > max(0, page.total - query.offset):
        detail = f"{count} events at offset {query.offset}, but total is {page.total}"
        problems.append(Problem(Defect.MALFORMED, detail))
    if page.has_more != (query.offset + count < page.total):
        detail = f"has_more {page.has_more} with {count} events at offset {query.offset}"
        problems.append(Problem(Defect.MALFORMED, f"{detail} of {page.total}"))
    return problems


def _event_problems(data: list[AuditEvent]) -> list[Problem]:
    problems = []
    ids = [event.event_id for event in data]
    if None in ids:
        problems.append(Problem(Defect.MALFORMED, "an event without event_id"))
    if len(set(ids)) != len(ids):
        problems.append(Problem(Defect.DUPLICATED, "an event_id twice on one page"))
    if any(event.event_data.event_type != event.event_type for event in data):
        problems.append(Problem(Defect.MALFORMED, "event_data.event_type ≠ event_type"))
    stamps = [event.event_timestamp for event in data]
    if any(newer > older for older, newer in itertools.pairwise(stamps)):
        problems.append(Problem(Defect.MALFORMED, "not newest first"))
    return problems


def _correlation_problems(
    query: ReaderQuery, answer: AuditEventsQueryResponse, data: list[AuditEvent]
) -> list[Problem]:
    assert query.allowed_types is not None
    assert answer.pagination is not None
    problems = []
    mine = [event for event in data if event.correlation_id == query.correlation_id]
    seen = Counter(event.event_type for event in mine)
    twice = sorted(kind for kind, times in seen.items() if times > 1)
    if twice:
        problems.append(Problem(Defect.DUPLICATED, f"{query.correlation_id}: twice {twice}"))
    strangers = sorted(set(seen) - query.allowed_types)
    if strangers:
        detail = f"{query.correlation_id}: types never sent {strangers}"
        problems.append(Problem(Defect.MALFORMED, detail))
    missing = sorted(query.required_types - set(seen))
    if missing and not answer.pagination.has_more:
        detail = f"{query.correlation_id}: acknowledged, not visible {missing}"
        problems.append(Problem(Defect.INVISIBLE, detail))
    return problems
