from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import IdempotencyRecord


async def try_lock(session: AsyncSession, principal: str, key: str) -> bool:
    """Takes a transaction-scoped lock on (caller, key); False while another request holds it."""
    locked = await session.scalar(
        select(func.pg_try_advisory_xact_lock(func.hashtextextended(text(":k"), 0))),
        {"k": f"{principal}:{key}"},
    )
    return bool(locked)


async def get(session: AsyncSession, principal: str, key: str) -> IdempotencyRecord | None:
    return await session.get(IdempotencyRecord, (principal, key))


async def add(session: AsyncSession, record: IdempotencyRecord) -> None:
    session.add(record)
    await session.flush()
