"""Platform payouts: released with their decision, or held for finance to approve or reject.

A payout is the decision's ``platform_payout`` ledger entry; approving or rejecting it is a
second entry that settles the first. The ledger is append-only, so a payout's status is
read from the pair, never stored twice.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from app.ids import new_id
from app.models import LedgerEntry
from app.repositories import ledger
from app.schemas.payouts import PayoutOut
from app.services import events
from app.services.errors import Conflict, NotFound

PAYOUT = "platform_payout"
APPROVED = "payout_approved"
REJECTED = "payout_rejected"
# What the entry that settles a payout makes of it.
SETTLED_STATUS = {APPROVED: "released", REJECTED: "rejected", "reversal": "cancelled"}


async def get(session: AsyncSession, payout_id: str, *, for_update: bool = False) -> LedgerEntry:
    entry = await ledger.get(session, payout_id, for_update=for_update)
    if entry is None or entry.kind != PAYOUT:
        raise NotFound(f"No payout {payout_id}.")
    return entry


async def view(session: AsyncSession, payout: LedgerEntry) -> PayoutOut:
    settled = await ledger.settled_by(session, payout.id)
    status = payout.details["status"] if settled is None else SETTLED_STATUS[settled.kind]
    assert payout.amount is not None  # the table always gives a payout its amount
    return PayoutOut(
        id=payout.id,
        vendor_id=payout.vendor_id,
        case_id=payout.case_id,
        order_id=payout.order_id,
        decision_id=payout.decision_id,
        amount=payout.amount,
        requires_approval=payout.details["requires_approval"],
        status=status,
        settled_by=settled.created_by if settled else None,
        settled_at=settled.created_at if settled else None,
        created_at=payout.created_at,
    )


async def settle(
    session: AsyncSession, actor: str, payout_id: str, *, approve: bool, text: str | None
) -> LedgerEntry:
    """Approves or rejects a payout waiting for finance, once.

    The payout's row lock makes a second answer wait and then see the first;
    uq_ledger_payout_settled_once refuses a second settlement even without it.
    """
    payout = await get(session, payout_id, for_update=True)
    if not payout.details["requires_approval"]:
        raise Conflict(f"Payout {payout_id} needed no approval; it was released with its decision.")
    # Any settlement ends it: approved, rejected, or cancelled by an override's reversal.
    settled = await ledger.settled_by(session, payout.id)
    if settled is not None:
        verb = {APPROVED: "approved", REJECTED: "rejected"}.get(settled.kind, "cancelled")
        raise Conflict(f"Payout {payout_id} was already {verb} by {settled.created_by}.")
    entry = LedgerEntry(
        id=new_id("le"),
        vendor_id=payout.vendor_id,
        case_id=payout.case_id,
        order_id=payout.order_id,
        kind=APPROVED if approve else REJECTED,
        amount=payout.amount,
        details={"note" if approve else "reason": text} if text else {},
        settles_entry_id=payout.id,
        created_by=actor,
    )
    await ledger.add(session, entry)
    await events.emit(
        session,
        "payout.released" if approve else "payout.rejected",
        vendor_id=payout.vendor_id,
        order_id=payout.order_id,
        decision_id=payout.decision_id,
        case_id=payout.case_id,
        payout_id=payout.id,
        amount=payout.amount,
        by=actor,
    )
    return payout
