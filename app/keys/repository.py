from collections.abc import Collection, Sequence
from datetime import timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiKey


async def by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    return await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    )


async def get(session: AsyncSession, key_id: str, *, for_update: bool = False) -> ApiKey | None:
    query = select(ApiKey).where(ApiKey.id == key_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    key: ApiKey | None = await session.scalar(query)
    return key


async def every(session: AsyncSession) -> Sequence[ApiKey]:
    """Every key, revoked ones included, oldest first: a handful of rows, never a page."""
    return (await session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id))).all()


async def add(session: AsyncSession, key: ApiKey) -> None:
    session.add(key)
    await session.flush()


async def touch(session: AsyncSession, key_ids: Collection[str], every_seconds: float) -> None:
    """Sets ``last_used_at`` of these keys to now, except where some instance already did in
    the last ``every_seconds``: however many instances serve a key, its row is written about
    once in that time."""
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id.in_(list(key_ids)),
            or_(
                ApiKey.last_used_at.is_(None),
                ApiKey.last_used_at < func.now() - timedelta(seconds=every_seconds),
            ),
        )
        .values(last_used_at=func.now())
        .execution_options(synchronize_session=False)
    )
