from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.transaction import kept


async def now(session: AsyncSession) -> datetime:
    """The transaction's time on the database: one clock for every instance and host.

    It is fixed for the whole transaction, so it is asked for once per transaction, and not
    at all after a statement that read it along with its rows (:func:`remember`).
    """
    values = kept(session)
    if "now" not in values:
        values["now"] = (await session.execute(select(func.now()))).scalar_one()
    moment: datetime = values["now"]
    return moment


def remember(session: AsyncSession, moment: datetime) -> None:
    """Keeps ``now()`` that a statement read beside its rows: a round trip saved."""
    kept(session).setdefault("now", moment)
