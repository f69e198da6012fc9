"""Reading a vendor: its standing as the API shows it, and its ledger page by page."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import clock
from app.effects import repository as ledger
from app.effects.ledger import standing_of
from app.errors import NotFound
from app.models import LedgerEntry, Vendor
from app.rules_engine.policy import Policy
from app.vendors import repository as vendors
from app.vendors.schemas import VendorOut


async def get(session: AsyncSession, vendor_id: str) -> Vendor:
    vendor = await vendors.get(session, vendor_id)
    if vendor is None:
        raise NotFound(f"No vendor {vendor_id}.")
    return vendor


async def ledger_page(
    session: AsyncSession, vendor_id: str, *, after: int | None, limit: int
) -> Sequence[LedgerEntry]:
    """A page of the vendor's ledger in the order it was written; 404 for no such vendor."""
    await get(session, vendor_id)
    return await ledger.for_vendor(session, vendor_id, after=after, limit=limit)


async def view(session: AsyncSession, vendor: Vendor, policy: Policy) -> VendorOut:
    now: datetime = await clock.now(session)
    strikes = await ledger.active_strikes(
        session, vendor.id, expiry_days=policy.strike_expiry_days, now=now
    )
    standing = standing_of(vendor)
    return VendorOut(
        id=vendor.id,
        status=vendor.status,
        new_leads_blocked=vendor.new_leads_blocked,
        receives_new_leads=standing.receives_new_leads,
        max_leads=vendor.max_leads,
        base_max_leads=vendor.base_max_leads,
        flags=vendor.flags,
        active_strikes=strikes,
        credits_refunded=vendor.credits_refunded,
        credits_deducted=vendor.credits_deducted,
        created_at=vendor.created_at,
        updated_at=vendor.updated_at,
    )
