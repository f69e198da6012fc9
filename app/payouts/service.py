"""Money leaving: a platform payout approved or rejected by finance, a wallet refund released
by ops. Each is a ledger entry that settles the entry it releases, so a payout's status is
read from the pair, never stored twice (docs/money.md).

Both take the case's locks in the one order first (app.cases.locks), like every decision,
so an approval never races an override of the same case.
"""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app import names
from app.cases import lifecycle, locks
from app.cases.case_type import Status
from app.cases.deciding import Actor
from app.cases.registry import case_type_of
from app.decisions import repository as decision_rows
from app.effects import guard
from app.effects import repository as ledger
from app.effects.guard import PAYOUT, WALLET
from app.errors import Conflict, Forbidden, NotFound
from app.events import service as events
from app.ids import new_id
from app.models import LedgerEntry
from app.payouts import repository as queues
from app.payouts.schemas import PayoutOut, WalletRefundOut
from app.rules_engine.engine import RulesEngine
from app.rules_engine.templates import format_rupees

APPROVED = "payout_approved"
REJECTED = "payout_rejected"
RELEASED = "wallet_refund_released"
# What the entry that settles a payout makes of it.
SETTLED_STATUS = {APPROVED: "released", REJECTED: "rejected", "reversal": "cancelled"}


async def get(session: AsyncSession, payout_id: str) -> LedgerEntry:
    entry = await ledger.get(session, payout_id)
    if entry is None or entry.kind != PAYOUT:
        raise NotFound(f"No payout {payout_id}.")
    return entry


async def view(session: AsyncSession, payout: LedgerEntry) -> PayoutOut:
    settled = await ledger.settled_by(session, payout.id)
    status = payout.details["status"] if settled is None else SETTLED_STATUS[settled.kind]
    return payout_out(payout, settled, status)


def payout_out(payout: LedgerEntry, settled: LedgerEntry | None, status: str) -> PayoutOut:
    assert payout.amount is not None  # the table always gives a payout its amount
    return PayoutOut(
        id=payout.id,
        seq=payout.seq,
        vendor_id=payout.vendor_id,
        case_id=payout.case_id,
        order_id=payout.order_id,
        decision_id=payout.decision_id,
        amount=payout.amount,
        requires_approval=payout.details["requires_approval"],
        status=status,
        decided_by_name=payout.details.get("decided_by_name"),
        settled_by=settled.created_by if settled else None,
        settled_by_name=settled.created_by_name if settled else None,
        settled_at=settled.created_at if settled else None,
        created_at=payout.created_at,
    )


def wallet_refund_out(
    entry: LedgerEntry, settled: LedgerEntry | None, status: str
) -> WalletRefundOut:
    assert entry.amount is not None
    return WalletRefundOut(
        id=entry.id,
        seq=entry.seq,
        vendor_id=entry.vendor_id,
        case_id=entry.case_id,
        order_id=entry.order_id,
        decision_id=entry.decision_id,
        amount=entry.amount,
        status=status,
        settled_by=settled.created_by if settled else None,
        settled_at=settled.created_at if settled else None,
        created_at=entry.created_at,
    )


async def list_payouts(
    session: AsyncSession,
    *,
    status: str | None,
    vendor_id: str | None,
    after: int | None,
    limit: int,
) -> list[PayoutOut]:
    """The finance manager's queue (status=pending_approval) and every other payout."""
    listing = queues.payouts_listing(status=status, vendor_id=vendor_id, after=after, limit=limit)
    return [payout_out(*row) for row in await queues.page(session, listing)]


async def list_wallet_refunds(
    session: AsyncSession,
    *,
    status: str | None,
    vendor_id: str | None,
    after: int | None,
    limit: int,
) -> list[WalletRefundOut]:
    """Ops's queue (status=eligible) and every other wallet refund."""
    listing = queues.wallet_refunds_listing(
        status=status, vendor_id=vendor_id, after=after, limit=limit
    )
    return [wallet_refund_out(*row) for row in await queues.page(session, listing)]


async def _locked_entry(
    session: AsyncSession, entry_id: str, kind: str, what: str
) -> tuple[locks.Locked, LedgerEntry]:
    """The entry's case locked in the one order, then the entry itself."""
    unlocked = await ledger.get(session, entry_id)
    if unlocked is None or unlocked.kind != kind or unlocked.case_id is None:
        raise NotFound(f"No {what} {entry_id}.")
    locked = await locks.lock_case(session, unlocked.case_id)
    entry = await ledger.get(session, entry_id, for_update=True)
    assert entry is not None  # ledger entries are never deleted
    return locked, entry


def _four_eyes(entry: LedgerEntry, actor: Actor, what: str) -> None:
    """Nobody releases money that their own decision made. A person is their name: one
    person's keys of different roles are still one person."""
    decided_by = entry.details.get("decided_by_name")
    same_person = names.same_person(actor.name, decided_by)
    if same_person or entry.created_by == actor.key:
        raise Forbidden(
            f"{what} {entry.id} was made by {decided_by or entry.created_by}'s own decision; "
            "someone else must approve it (four eyes)."
        )


async def settle(
    session: AsyncSession,
    engine: RulesEngine,
    actor: Actor,
    payout_id: str,
    *,
    approve: bool,
    text: str | None,
) -> LedgerEntry:
    """Approves or rejects a payout waiting for finance, once."""
    locked, payout = await _locked_entry(session, payout_id, PAYOUT, "payout")
    if not payout.details["requires_approval"]:
        raise Conflict(f"Payout {payout_id} needed no approval; it was released with its decision.")
    # Any settlement ends it: approved, rejected, or cancelled by a later decision.
    settled = await ledger.settled_by(session, payout.id)
    if settled is not None:
        verb = {APPROVED: "approved", REJECTED: "rejected"}.get(settled.kind, "cancelled")
        raise Conflict(f"Payout {payout_id} was already {verb} by {settled.created_by}.")
    _four_eyes(payout, actor, "Payout")
    if approve:
        await _still_owed(session, locked, payout)
    entry = LedgerEntry(
        id=new_id("le"),
        vendor_id=payout.vendor_id,
        case_id=payout.case_id,
        order_id=payout.order_id,
        kind=APPROVED if approve else REJECTED,
        amount=payout.amount,
        details={"note" if approve else "reason": text} if text else {},
        settles_entry_id=payout.id,
        created_by=actor.key,
        created_by_name=actor.name,
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
        by=actor.key,
    )
    case = locked.case
    if payout.decision_id != case.current_decision_id or case.status != Status.AWAITING_APPROVAL:
        return payout
    if approve:
        await session.flush()
        if not await _still_pending(session, payout.decision_id):
            await lifecycle.resolve(
                session, engine, case, case_type_of(case.case_type), case.outcome
            )
    else:
        await case_type_of(case.case_type).payout_rejected(
            session, engine, locked, payout, text, actor
        )
    return payout


async def _still_owed(session: AsyncSession, locked: locks.Locked, payout: LedgerEntry) -> None:
    """A payout is measured again when it is released, like a wallet refund: what the order
    shows the customer received may have grown while it waited (a payment record, the order
    system's payment marked with a reference), and the platform does not pay it twice."""
    decision = await decision_rows.get(session, payout.decision_id) if payout.decision_id else None
    counted = decision.facts.get("counted_paid", 0) if decision is not None else 0
    room = await guard.limits(
        session,
        locked,
        undoing={payout.id},
        received=counted if isinstance(counted, int) else 0,
        wallet_confirmed=None,
    )
    assert payout.amount is not None
    if room is not None and payout.amount > room.owed:
        raise Conflict(
            f"Payout {payout.id} of {format_rupees(payout.amount)} is more than the order is "
            f"owed now: at most {format_rupees(room.owed)} (final invoice "
            f"{format_rupees(room.invoice)}, less {format_rupees(room.received)} the customer "
            f"received by {room.evidence}, less {format_rupees(room.paid_out)} the platform "
            "already pays). Reject it: the ops manager decides the dispute again."
        )


async def _still_pending(session: AsyncSession, decision_id: str | None) -> Sequence[str]:
    """Payouts of the decision that still wait for finance."""
    if decision_id is None:
        return []
    return [
        made.entry.id
        for made in await ledger.made_by(session, decision_id)
        if made.entry.kind == PAYOUT
        and made.entry.details.get("requires_approval")
        and made.settlement is None
    ]


async def release_wallet_refund(
    session: AsyncSession, actor: Actor, entry_id: str, note: str | None
) -> LedgerEntry:
    """Ops releases a wallet refund a decision marked eligible: never automatic."""
    locked, eligible = await _locked_entry(session, entry_id, WALLET, "wallet refund")
    # Released, or withdrawn by a later decision that reversed the one which made it.
    settled = await ledger.settled_by(session, entry_id)
    if settled is not None:
        done = "released" if settled.kind == RELEASED else "reversed"
        raise Conflict(f"Wallet refund {entry_id} was already {done} ({settled.id}).")
    order = locked.order
    recorded = order.payment.get("amount") if order is not None else None
    assert eligible.amount is not None
    if order is not None and eligible.amount > min(
        order.final_invoice_amount, recorded if isinstance(recorded, int) else eligible.amount
    ):
        raise Conflict(
            f"Wallet refund {entry_id} of {format_rupees(eligible.amount)} is more than the order "
            "now records as paid to the customer; a new decision must set the amount."
        )
    released = LedgerEntry(
        id=new_id("le"),
        vendor_id=eligible.vendor_id,
        case_id=eligible.case_id,
        order_id=eligible.order_id,
        kind=RELEASED,
        amount=eligible.amount,
        details={"note": note} if note else {},
        settles_entry_id=eligible.id,
        created_by=actor.key,
        created_by_name=actor.name,
    )
    await ledger.add(session, released)
    await session.flush()  # its seq and time, for the answer
    await events.emit(
        session,
        "wallet_refund.released",
        vendor_id=eligible.vendor_id,
        order_id=eligible.order_id,
        amount=eligible.amount,
        entry_id=released.id,
    )
    return released
