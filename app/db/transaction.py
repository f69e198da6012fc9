"""One transaction, and what must wait for its commit."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

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


def kept(session: AsyncSession) -> dict[str, Any]:
    """What the session's current transaction keeps for itself: gone with it, as a session may
    run several transactions one after another."""
    transaction = session.sync_session.get_transaction()
    found = session.info.get("kept")
    if found is None or found[0] is not transaction:
        found = (transaction, {})
        session.info["kept"] = found
    values: dict[str, Any] = found[1]
    return values
