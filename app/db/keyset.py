"""Newest-first keyset paging over (time, id), shared by every list ordered that way."""

from datetime import datetime
from typing import Any

from sqlalchemy import Select, literal, tuple_
from sqlalchemy.orm import InstrumentedAttribute


def newest_first(
    query: Select[Any],
    at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[str],
    after: tuple[datetime, str] | None,
    limit: int,
) -> Select[Any]:
    """Rows strictly before ``after`` in (at, id) descending order, at most ``limit``.

    A row comparison, not ``at < x OR (at = x AND id < y)``: PostgreSQL turns it into one
    index range on an index ending in (at, id), so a page costs the same deep in the list.
    """
    if after is not None:
        bound = tuple_(literal(after[0], at.type), literal(after[1], row_id.type))
        query = query.where(tuple_(at, row_id) < bound)
    return query.order_by(at.desc(), row_id.desc()).limit(limit)


def soonest_first(
    query: Select[Any],
    at: InstrumentedAttribute[datetime | None],
    row_id: InstrumentedAttribute[str],
    after: tuple[datetime, str] | None,
    limit: int,
) -> Select[Any]:
    """Rows with ``at`` set, strictly after ``after`` in (at, id) ascending order: a queue,
    soonest first (one range of an index on (at, id) where at is set)."""
    query = query.where(at.is_not(None))
    if after is not None:
        bound = tuple_(literal(after[0], at.type), literal(after[1], row_id.type))
        query = query.where(tuple_(at, row_id) > bound)
    return query.order_by(at.asc(), row_id.asc()).limit(limit)
