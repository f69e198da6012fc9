from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import driver
from app.models import Event


async def add(session: AsyncSession, event: Event) -> None:
    # Not flushed here: nothing reads an event back in the request that wrote it, and the
    # events of a request go out together at its next flush, as one multi-row INSERT in
    # the order they were emitted, instead of one round trip each.
    driver.add(session, event)


async def position(session: AsyncSession, event_id: int) -> int | None:
    """The writing transaction's id of an event, None if there is no such event."""
    xid: int | None = await session.scalar(select(Event.xid).where(Event.id == event_id))
    return xid


async def after(
    session: AsyncSession, position: tuple[int, int] | None, limit: int
) -> Sequence[Event]:
    return (await session.scalars(feed_query(position, limit))).all()


def feed_query(position: tuple[int, int] | None, limit: int) -> Select[Any]:
    """Events after ``(xid, id)`` in feed order, from finished transactions only.

    Every transaction still running, or not yet begun, has an xid at or above the snapshot's
    xmin, so nothing can ever be inserted before the last event this returns: a reader that
    resumes from it misses nothing and sees nothing twice (served by ix_events_xid_id).
    """
    query = select(Event).where(Event.xid < func.pg_snapshot_xmin(func.pg_current_snapshot()))
    if position is not None:
        xid, event_id = position
        # Typed, or the driver would send the xid as an integer, which xid8 cannot compare.
        bound = tuple_(literal(xid, Event.xid.type), literal(event_id, Event.id.type))
        query = query.where(tuple_(Event.xid, Event.id) > bound)
    return query.order_by(Event.xid, Event.id).limit(limit)
