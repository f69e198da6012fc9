from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Event


async def add(session: AsyncSession, event: Event) -> None:
    # Not flushed here: nothing reads an event back in the transaction that writes it, and
    # the next flush writes them in the order they were added (ids follow that order). A
    # case opening writes several; one round trip each adds up over a reconciliation batch.
    session.add(event)


async def after(session: AsyncSession, after_id: int, limit: int) -> Sequence[Event]:
    return (
        await session.scalars(
            select(Event).where(Event.id > after_id).order_by(Event.id).limit(limit)
        )
    ).all()
