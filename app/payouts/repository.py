"""The finance and ops queues: payouts and wallet refunds with what settled them, newest
first, filtered by status (each list's plan is checked in tests/schema/test_list_plans.py)."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, String, case, func, literal, null, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.models import LedgerEntry

PAYOUT = "platform_payout"
WALLET = "wallet_refund_eligible"

_settlement = aliased(LedgerEntry)
# A payout's status: what its settlement made of it, else what its decision made it.
PAYOUT_STATUS = case(
    (_settlement.kind == "payout_approved", literal("released", String)),
    (_settlement.kind == "payout_rejected", literal("rejected", String)),
    (_settlement.kind == "reversal", literal("cancelled", String)),
    else_=LedgerEntry.details["status"].astext,
)
WALLET_STATUS = case(
    (_settlement.kind == "wallet_refund_released", literal("released", String)),
    (_settlement.kind == "reversal", literal("withdrawn", String)),
    else_=literal("eligible", String),
)


def released_total(order_id: Any) -> Any:
    """The sum of an order's platform payouts that have left (status released: released
    with their decision, or approved by finance); ``order_id`` is a column to correlate with
    or a parameter."""
    return (
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .select_from(LedgerEntry)
        .outerjoin(_settlement, _settlement.settles_entry_id == LedgerEntry.id)
        .where(
            LedgerEntry.order_id == order_id,
            LedgerEntry.kind == PAYOUT,
            PAYOUT_STATUS == "released",
        )
        .scalar_subquery()
    )


def _listing(
    kind: str,
    status_of: Any,
    *,
    status: str | None,
    vendor_id: str | None,
    after: int | None,
    limit: int,
) -> Select[Any]:
    waiting = status in ("pending_approval", "eligible")
    if waiting:
        # Nothing has settled these: no settlement to join, only to rule out, entry by entry
        # (uq_ledger_settles_once), newest first from the entries' own index.
        query: Select[Any] = select(  # type: ignore[assignment]
            LedgerEntry, null(), literal(status, String)
        ).where(
            ~select(_settlement.id).where(_settlement.settles_entry_id == LedgerEntry.id).exists()
        )
        if status == "pending_approval":
            query = query.where(LedgerEntry.details["status"].astext == "pending_approval")
    else:
        query = select(LedgerEntry, _settlement, status_of.label("status")).outerjoin(
            _settlement, _settlement.settles_entry_id == LedgerEntry.id
        )
        if status is not None:
            query = query.where(status_of == status)
    query = query.where(LedgerEntry.kind == kind)
    if vendor_id is not None:
        query = query.where(LedgerEntry.vendor_id == vendor_id)
    if after is not None:
        query = query.where(LedgerEntry.seq < after)
    return query.order_by(LedgerEntry.seq.desc()).limit(limit)


def payouts_listing(
    *, status: str | None, vendor_id: str | None, after: int | None, limit: int
) -> Select[Any]:
    return _listing(
        PAYOUT, PAYOUT_STATUS, status=status, vendor_id=vendor_id, after=after, limit=limit
    )


def wallet_refunds_listing(
    *, status: str | None, vendor_id: str | None, after: int | None, limit: int
) -> Select[Any]:
    return _listing(
        WALLET, WALLET_STATUS, status=status, vendor_id=vendor_id, after=after, limit=limit
    )


async def page(
    session: AsyncSession, query: Select[Any]
) -> Sequence[tuple[LedgerEntry, LedgerEntry | None, str]]:
    rows = (await session.execute(query)).all()
    return [(row[0], row[1] if isinstance(row[1], LedgerEntry) else None, row[2]) for row in rows]
