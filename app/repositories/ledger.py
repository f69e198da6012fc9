from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

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


async def settled_by(session: AsyncSession, entry_id: str) -> LedgerEntry | None:
    """The entry that released, approved, rejected or reversed this one, if any."""
    entry: LedgerEntry | None = await session.scalar(
        select(LedgerEntry)
        .where(LedgerEntry.settles_entry_id == entry_id)
        .order_by(LedgerEntry.created_at)
        .limit(1)
    )
    return entry


async def applied_by(session: AsyncSession, decision_id: str) -> Sequence[LedgerEntry]:
    """The entries a decision's own actions made (not the reversals it made), in order,
    locked: a wallet refund release, which locks its entry too, cannot slip past a reversal."""
    return (
        await session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.decision_id == decision_id, LedgerEntry.action_index.is_not(None))
            .order_by(LedgerEntry.action_index)
            .with_for_update()
        )
    ).all()


async def in_force(
    session: AsyncSession, vendor_id: str, kind: str, *, excluding: str
) -> Sequence[LedgerEntry]:
    """A vendor's entries of one kind that nothing has reversed."""
    reversal = aliased(LedgerEntry)
    reversed_ = (
        select(reversal.id)
        .where(reversal.settles_entry_id == LedgerEntry.id, reversal.kind == "reversal")
        .exists()
    )
    return (
        await session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.vendor_id == vendor_id,
                LedgerEntry.kind == kind,
                LedgerEntry.id != excluding,
                ~reversed_,
            )
        )
    ).all()


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
