"""One transaction, and what must wait for its commit."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.observability.context import collect_after_commit, reset_after_commit


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Commits on success and then runs the ``on_commit`` callbacks registered inside it;
    on error rolls back and drops them (a rolled-back decision is not counted)."""
    pending, token = collect_after_commit()
    try:
        async with sessionmaker() as session, session.begin():
            yield session
    finally:
        reset_after_commit(token)
    for callback in pending:
        callback()
