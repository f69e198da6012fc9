from datetime import datetime

from sqlalchemy import DateTime, func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def now(session: AsyncSession) -> datetime:
    """The transaction's time on the database: one clock for every instance and host."""
    return (await session.execute(select(func.now()))).scalar_one()


async def wall(session: AsyncSession) -> datetime:
    """The database's time at this statement, not at the transaction's start.

    After taking a lock, rows committed by transactions that started after ours are
    visible but stamped later than now(); this bound still counts them.
    """
    stamp = func.clock_timestamp(type_=DateTime(timezone=True))
    wall_time: datetime = (await session.execute(select(stamp))).scalar_one()
    return wall_time
