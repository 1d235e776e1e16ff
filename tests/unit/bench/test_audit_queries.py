"""The readers' checks of scenario 4 (`bench.audit_queries`): each kind of wrong answer is
found, and a right one passes; the readers' plan and choice of correlations."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import pytest

from bench.audit import build_events
from bench.audit_queries import (
    PAGE_LIMIT,
    PAGES,
    Defect,
    QueryKind,
    QueryPlan,
    ReaderQuery,
    answer_problems,
)
from bench.audit_readers import Correlations
from kubernaut_wfe.datastorage.events import serialize_audit_event
from kubernaut_wfe.datastorage.models import AuditEvent, AuditEventsQueryResponse, Pagination

EVENTS = [event for _, event in build_events(6)]  # two correlations, three event types each
CORRELATION = EVENTS[0].correlation_id
TYPES = frozenset(event.event_type for event in EVENTS[:3])


def stored(index: int, **changes: object) -> AuditEvent:
    """Event number `index` of EVENTS as the service returns it."""
    body = {**serialize_audit_event(EVENTS[index]), "event_id": str(uuid.uuid4()), **changes}
    return AuditEvent.model_validate(body)


def answer(
    events: list[AuditEvent], *, limit: int = 100, offset: int = 0, total: int | None = None
) -> AuditEventsQueryResponse:
    """A page as the service builds it: `total` defaults to the events on the page."""
    total = len(events) + offset if total is None else total
    has_more = offset + len(events) < total
    pagination = Pagination(limit=limit, offset=offset, total=total, has_more=has_more)
    return AuditEventsQueryResponse(data=events, pagination=pagination)


ACKNOWLEDGED = ReaderQuery(
    QueryKind.ACKNOWLEDGED,
    100,
    correlation_id=CORRELATION,
    allowed_types=TYPES,
    required_types=TYPES,
)
IN_FLIGHT = ReaderQuery(QueryKind.IN_FLIGHT, 100, correlation_id=CORRELATION, allowed_types=TYPES)


def defects(query: ReaderQuery, page: AuditEventsQueryResponse) -> set[Defect]:
    return {problem.defect for problem in answer_problems(query, page)}


def test_an_acknowledged_correlation_with_all_its_events_is_a_right_answer() -> None:
    assert answer_problems(ACKNOWLEDGED, answer([stored(0), stored(1), stored(2)])) == []


def test_an_acknowledged_event_missing_from_a_complete_answer_is_invisible() -> None:
    problems = answer_problems(ACKNOWLEDGED, answer([stored(0), stored(2)]))
    assert [problem.defect for problem in problems] == [Defect.INVISIBLE]
    assert EVENTS[1].event_type in problems[0].detail


def test_an_event_still_being_written_may_be_missing() -> None:
    assert answer_problems(IN_FLIGHT, answer([stored(0)])) == []
    assert answer_problems(IN_FLIGHT, answer([])) == []


def test_an_event_stored_twice_is_a_duplicate() -> None:
    assert defects(IN_FLIGHT, answer([stored(0), stored(0)])) == {Defect.DUPLICATED}


def test_an_event_of_another_correlation_breaks_the_filter() -> None:
    assert defects(IN_FLIGHT, answer([stored(0), stored(3)])) == {Defect.MALFORMED}


def test_more_events_than_the_total_counts_is_malformed() -> None:
    # the count and the page read at different instants while a batch was committed
    assert defects(IN_FLIGHT, answer([stored(0), stored(1)], total=0)) == {Defect.MALFORMED}


def test_an_empty_page_past_the_end_is_a_right_answer() -> None:
    query = ReaderQuery(QueryKind.BY_TYPE_PAGE, 100, 500, event_type=EVENTS[0].event_type)
    assert answer_problems(query, answer([], offset=500, total=3)) == []


@pytest.mark.parametrize(
    "pagination",
    [
        Pagination(limit=100, offset=0, total=2, has_more=True),
        Pagination(limit=50, offset=0, total=2, has_more=False),
        Pagination(limit=100, offset=0, total=None, has_more=False),
    ],
)
def test_pagination_that_contradicts_the_page_or_the_query_is_malformed(
    pagination: Pagination,
) -> None:
    page = AuditEventsQueryResponse(data=[stored(0), stored(1)], pagination=pagination)
    assert defects(IN_FLIGHT, page) == {Defect.MALFORMED}


def test_an_answer_without_pagination_is_malformed() -> None:
    page = AuditEventsQueryResponse(data=[stored(0)], pagination=None)
    assert defects(IN_FLIGHT, page) == {Defect.MALFORMED}


def test_events_of_another_type_on_a_page_by_type_are_malformed() -> None:
    query = ReaderQuery(QueryKind.BY_TYPE_PAGE, 100, event_type=EVENTS[0].event_type)
    assert answer_problems(query, answer([stored(0), stored(3)])) == []
    assert defects(query, answer([stored(0), stored(1)])) == {Defect.MALFORMED}


def test_events_not_newest_first_are_malformed() -> None:
    later = (EVENTS[1].event_timestamp + timedelta(seconds=1)).isoformat()
    assert defects(IN_FLIGHT, answer([stored(0), stored(1, event_timestamp=later)])) == {
        Defect.MALFORMED
    }


def test_a_plan_asks_every_kind_in_turn_and_walks_the_pages() -> None:
    plan = QueryPlan(0, ("a", "b"))
    acknowledged, in_flight = (CORRELATION, TYPES), ("rr-other", TYPES)
    queries = [plan.next_query(acknowledged, in_flight) for _ in range(4 * PAGES * 2)]
    assert {query.kind for query in queries} == set(QueryKind)
    pages = [query for query in queries if query.kind is QueryKind.BY_TYPE_PAGE]
    assert {query.offset for query in pages} == {page * PAGE_LIMIT for page in range(PAGES)}
    assert {query.event_type for query in pages} == {"a", "b"}
    lookups = [query for query in queries if query.kind is QueryKind.LOOKUP]
    assert {query.event_type for query in lookups} == TYPES
    assert all(query.required_types == {query.event_type} for query in lookups)


def test_a_plan_skips_the_correlation_kinds_that_have_nothing_to_ask() -> None:
    plan = QueryPlan(1, ("a",))
    kinds = {plan.next_query(None, None).kind for _ in range(12)}
    assert kinds == {QueryKind.BY_TYPE_PAGE}
    kinds = {plan.next_query(None, (CORRELATION, TYPES)).kind for _ in range(12)}
    assert kinds == {QueryKind.BY_TYPE_PAGE, QueryKind.IN_FLIGHT}


def test_a_correlation_once_acknowledged_is_never_picked_as_in_flight() -> None:
    types = {f"rr-{index}": TYPES for index in range(5)}
    correlations = Correlations(types, random.Random(1))
    assert correlations.pick_acknowledged() is None
    for index in range(4):
        correlations.acknowledge(f"rr-{index}")
    assert {correlations.pick_in_flight() for _ in range(20)} == {("rr-4", TYPES)}
    assert correlations.pick_acknowledged() in {(f"rr-{index}", TYPES) for index in range(4)}
    correlations.acknowledge("rr-4")
    assert correlations.pick_in_flight() is None
