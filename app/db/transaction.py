"""One transaction, and what must wait for its commit."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.util import greenlet_spawn

from app.observability.context import collect_after_commit, reset_after_commit


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Commits on success and then runs the ``on_commit`` callbacks registered inside it;
    on error rolls back and drops them (a rolled-back decision is not counted).

    Begun and closed as ``async with sessionmaker() as s, s.begin()`` would, less two of its
    hops into SQLAlchemy's greenlet (each costs a request more than a statement's own
    parameters): beginning takes no connection (the first statement does), and closing a
    session whose transaction has ended only forgets its rows.
    """
    pending, token = collect_after_commit()
    session = sessionmaker()
    try:
        began = session.sync_session.begin()
        began.__enter__()
        try:
            yield session
        except BaseException as error:
            await greenlet_spawn(began.__exit__, type(error), error, error.__traceback__)
            raise
        await greenlet_spawn(began.__exit__, None, None, None)
    finally:
        reset_after_commit(token)
        if session.sync_session.in_transaction():
            await session.close()  # a rollback that failed: let SQLAlchemy end it
        else:
            session.sync_session.close()
    for callback in pending:
        callback()
