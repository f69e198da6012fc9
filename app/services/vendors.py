"""A vendor's standing, where a person rather than a decision changes it."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.ids import new_id
from app.models import LedgerEntry, Vendor
from app.repositories import ledger, vendors
from app.services import events
from app.services.errors import Conflict, NotFound


async def unblock_new_leads(
    session: AsyncSession, actor: str, vendor_id: str, reason: str
) -> Vendor:
    """A manager clears a block on new leads (an escalation or a repeat vendor not paying)."""
    try:
        vendor = await vendors.lock(session, vendor_id)
    except LookupError:
        raise NotFound(f"No vendor {vendor_id}.") from None
    if not vendor.new_leads_blocked:
        raise Conflict(f"Vendor {vendor_id} is not blocked from new leads.")
    vendor.new_leads_blocked = False
    # Ties the clearance to the block it lifts, and through it to that block's decision.
    block = await ledger.latest_of_kind(session, vendor_id, "block_new_leads")
    entry = LedgerEntry(
        id=new_id("le"),
        vendor_id=vendor_id,
        case_id=block.case_id if block else None,
        order_id=block.order_id if block else None,
        kind="unblock_new_leads",
        details={"reason": reason},
        settles_entry_id=block.id if block else None,
        created_by=actor,
    )
    await ledger.add(session, entry)
    await events.emit(
        session,
        "vendor.new_leads_unblocked",
        vendor_id=vendor_id,
        entry_id=entry.id,
        reason=reason,
        by=actor,
    )
    return vendor
