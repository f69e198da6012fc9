from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def now(session: AsyncSession) -> datetime:
    """The transaction's time on the database: one clock for every instance and host."""
    return (await session.execute(select(func.now()))).scalar_one()
