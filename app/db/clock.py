"""The transaction's time, from the database: one clock for every instance and host."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

# PostgreSQL's now() is the time its transaction began, the same however often it is asked:
# keeping it for the transaction saves a round trip and changes no answer. Nothing else is
# kept this way.
_NOW = "transaction_now"


async def now(session: AsyncSession) -> datetime:
    """The transaction's time on the database, asked for at most once per transaction (not
    at all after a statement that read it along with its rows, :func:`remember`)."""
    transaction = session.sync_session.get_transaction()
    known = session.info.get(_NOW)
    if known is None or known[0] is not transaction:
        known = (transaction, (await session.execute(select(func.now()))).scalar_one())
        session.info[_NOW] = known
    moment: datetime = known[1]
    return moment


def remember(session: AsyncSession, moment: datetime) -> None:
    """Keeps ``now()`` that a statement read beside its rows: a round trip saved."""
    transaction = session.sync_session.get_transaction()
    known = session.info.get(_NOW)
    if known is None or known[0] is not transaction:
        session.info[_NOW] = (transaction, moment)
