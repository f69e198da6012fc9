from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Vendor


async def ensure(session: AsyncSession, vendor_id: str, max_leads: int) -> None:
    """Creates the vendor the first time the order system names it."""
    await session.execute(
        insert(Vendor)
        .values(id=vendor_id, max_leads=max_leads, base_max_leads=max_leads)
        .on_conflict_do_nothing()
    )


async def get(session: AsyncSession, vendor_id: str) -> Vendor | None:
    return await session.get(Vendor, vendor_id)


async def lock(session: AsyncSession, vendor_id: str) -> Vendor:
    """The vendor row, locked until commit: one decision per vendor at a time."""
    vendor = await session.scalar(
        select(Vendor)
        .where(Vendor.id == vendor_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if vendor is None:
        raise LookupError(vendor_id)
    return vendor
