"""The one lock order, for everything that touches a case, its vendor or its money.

    vendor  ->  order  ->  case  ->  the case's ledger entries  ->  deadlines (SKIP LOCKED)

Every request and the watcher take their locks through these functions, so no two
transactions can wait for each other in a cycle. The vendor comes first because a vendor's
decisions count its history (strikes, earlier disputes) and an order's money is checked
against everything the vendor's other decisions paid on it; an order has one vendor, so the
vendor's lock also serialises every write of the order's money. A deadline is never waited
for: it is taken with SKIP LOCKED, and one held by a watcher is being fired right now.
"""

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ARRAY, String, any_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Case, Order, Vendor
from app.services.errors import NotFound


@dataclass(frozen=True)
class Locked:
    """A case with its vendor and order, locked in the one order until commit."""

    case: Case
    vendor: Vendor | None
    order: Order | None


async def _scalar_locked(session: AsyncSession, model: type, key: str) -> object | None:
    return await session.scalar(
        select(model)
        .where(model.id == key)  # type: ignore[attr-defined]
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def lock_vendor(session: AsyncSession, vendor_id: str) -> Vendor | None:
    vendor = await _scalar_locked(session, Vendor, vendor_id)
    assert vendor is None or isinstance(vendor, Vendor)
    return vendor


async def lock_vendors(session: AsyncSession, vendor_ids: Collection[str]) -> dict[str, Vendor]:
    """Several vendors at once, in id order by bytes (Python's sort, whatever the database's
    collation), as the deadline watcher fires its batch: batches never wait in a cycle."""
    rows = await session.scalars(
        select(Vendor)
        .where(Vendor.id == any_(bindparam("vendor_ids", sorted(vendor_ids), type_=ARRAY(String))))
        .order_by(Vendor.id.collate("C"))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {vendor.id: vendor for vendor in rows}


async def lock_order(session: AsyncSession, order_id: str) -> tuple[Order, Vendor] | None:
    """An order and its vendor, vendor first; None when there is no such order."""
    vendor_id = await session.scalar(select(Order.vendor_id).where(Order.id == order_id))
    if vendor_id is None:
        return None
    vendor = await lock_vendor(session, vendor_id)
    order = await _scalar_locked(session, Order, order_id)
    assert isinstance(order, Order) and vendor is not None  # neither is ever deleted
    return order, vendor


async def lock_case(session: AsyncSession, case_id: str, *, case_type: str | None = None) -> Locked:
    """The case, its vendor and its order, locked in the one order.

    ``case_type``: the case must be of that type, else it is not found (a payout id asked of
    the fail-review endpoint is no fail review).
    """
    found = (
        await session.execute(
            select(Case.case_type, Case.vendor_id, Case.order_id).where(Case.id == case_id)
        )
    ).one_or_none()
    if found is None or (case_type is not None and found.case_type != case_type):
        raise NotFound(f"No {(case_type or 'case').replace('_', ' ')} {case_id}.")
    vendor = await lock_vendor(session, found.vendor_id) if found.vendor_id else None
    order = await _scalar_locked(session, Order, found.order_id) if found.order_id else None
    case = await _scalar_locked(session, Case, case_id)
    assert isinstance(case, Case)
    assert order is None or isinstance(order, Order)
    return Locked(case=case, vendor=vendor, order=order)
