from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Event


async def add(session: AsyncSession, event: Event) -> None:
    session.add(event)
    await session.flush()


async def after(session: AsyncSession, after_id: int, limit: int) -> Sequence[Event]:
    return (
        await session.scalars(
            select(Event).where(Event.id > after_id).order_by(Event.id).limit(limit)
        )
    ).all()
