from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Order


async def get(session: AsyncSession, order_id: str, *, for_update: bool = False) -> Order | None:
    query = select(Order).where(Order.id == order_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    order: Order | None = await session.scalar(query)
    return order


async def add(session: AsyncSession, order: Order) -> None:
    session.add(order)
    await session.flush()
