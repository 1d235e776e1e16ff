"""When to stop paging through DataStorage's query answers (pure).

Delivery asks the query API whether an event is stored before sending it again; the answer comes
in pages. A server that claims more pages forever (or ignores the offset) must not hold delivery
in a loop of queries: its own `total` bounds the paging, and a page that brings back only records
already read ends it as undecidable.
"""

from __future__ import annotations

from collections.abc import Collection, Set


def next_page_offset(
    offset: int, records: int, *, has_more: bool | None, total: int | None
) -> int | None:
    """The offset of the page after one of `records` records read at `offset`, or None when
    that page was the last: it was empty, it said so, or the server's `total` is reached."""
    if records == 0 or has_more is False:
        return None
    following = offset + records
    if total is not None and following >= total:
        return None
    return following


def page_repeats(page_ids: Collection[str], seen_ids: Set[str]) -> bool:
    """Whether a page holds only records an earlier page of the same query held (the server
    ignored the offset), so paging on would read the same page forever."""
    return bool(page_ids) and all(event_id in seen_ids for event_id in page_ids)
