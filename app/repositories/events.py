from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Event


async def add(session: AsyncSession, event: Event) -> None:
    # Not flushed here: nothing reads an event back in the request that wrote it, and the
    # events of a request go out together at its next flush, as one multi-row INSERT in
    # the order they were emitted, instead of one round trip each.
    session.add(event)


async def after(session: AsyncSession, after_id: int, limit: int) -> Sequence[Event]:
    return (
        await session.scalars(
            select(Event).where(Event.id > after_id).order_by(Event.id).limit(limit)
        )
    ).all()
