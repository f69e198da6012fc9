from datetime import datetime

from sqlalchemy import DateTime, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.transaction import kept


async def now(session: AsyncSession) -> datetime:
    """The transaction's time on the database: one clock for every instance and host.

    It is fixed for the whole transaction, so it is asked for once per transaction.
    """
    values = kept(session)
    if "now" not in values:
        values["now"] = (await session.execute(select(func.now()))).scalar_one()
    moment: datetime = values["now"]
    return moment


async def current(session: AsyncSession) -> datetime:
    """The database's time at this statement, which moves on within the transaction.

    For bounds that must include rows committed while this transaction waited on a lock: a
    transaction that began later can commit first, with a created_at after this one's now().
    """
    stamp = func.clock_timestamp(type_=DateTime(timezone=True))
    moment: datetime = (await session.execute(select(stamp))).scalar_one()
    return moment
