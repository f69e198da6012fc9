from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import LedgerEntry


async def add(session: AsyncSession, entry: LedgerEntry) -> None:
    session.add(entry)
    await session.flush()


async def get(
    session: AsyncSession, entry_id: str, *, for_update: bool = False
) -> LedgerEntry | None:
    query = select(LedgerEntry).where(LedgerEntry.id == entry_id)
    if for_update:
        query = query.with_for_update()
    entry: LedgerEntry | None = await session.scalar(query)
    return entry


async def settling(session: AsyncSession, entry_id: str, *kinds: str) -> LedgerEntry | None:
    """The entry of one of these kinds that settles ``entry_id``, if any."""
    entry: LedgerEntry | None = await session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.settles_entry_id == entry_id, LedgerEntry.kind.in_(kinds)
        )
    )
    return entry


async def for_vendor(
    session: AsyncSession, vendor_id: str, *, after: str | None, limit: int
) -> Sequence[LedgerEntry]:
    query = select(LedgerEntry).where(LedgerEntry.vendor_id == vendor_id)
    if after is not None:
        query = query.where(LedgerEntry.id > after)
    return (await session.scalars(query.order_by(LedgerEntry.id).limit(limit))).all()


async def latest_of_kind(session: AsyncSession, vendor_id: str, kind: str) -> LedgerEntry | None:
    entry: LedgerEntry | None = await session.scalar(
        select(LedgerEntry)
        .where(LedgerEntry.vendor_id == vendor_id, LedgerEntry.kind == kind)
        .order_by(LedgerEntry.id.desc())
        .limit(1)
    )
    return entry
