"""The one lock order, for everything that touches a case, its vendor or its money.

    vendor  ->  order  ->  case  ->  the case's ledger entries  ->  deadlines (SKIP LOCKED)

Every request and the watcher take their locks through these functions, so no two
transactions can wait for each other in a cycle. The vendor comes first because a vendor's
decisions count its history (strikes, earlier disputes) and an order's money is checked
against everything the vendor's other decisions paid on it; an order has one vendor, so the
vendor's lock also serialises every write of the order's money. A deadline is never waited
for: it is taken with SKIP LOCKED, and one held by a watcher is being fired right now.

An order is locked FOR NO KEY UPDATE (:data:`ORDER_LOCK`), as an UPDATE of it locks it: its
key never changes and it is never deleted, and so its lock need not wait for a transaction
that only refers to it (a payment record being inserted holds the order's KEY SHARE lock
until it commits, and may then wait for the vendor this transaction holds).
"""

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ARRAY, String, any_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import clock, driver
from app.errors import NotFound
from app.models import Case, Order, Vendor


@dataclass(frozen=True)
class Locked:
    """A case with its vendor and order, locked in the one order until commit."""

    case: Case
    vendor: Vendor | None
    order: Order | None


# with_for_update()'s arguments for an order's row: FOR NO KEY UPDATE (see above).
ORDER_LOCK: dict[str, Any] = {"key_share": True}


def _locked(model: type) -> Any:
    return (
        select(model)
        .where(model.id == bindparam("key", type_=String()))  # type: ignore[attr-defined]
        .with_for_update(**(ORDER_LOCK if model is Order else {}))
        .execution_options(populate_existing=True)
    )


def _vendor_of(model: type) -> Any:
    """The vendor row of an order's or case's vendor, locked, with the transaction's time."""
    key = bindparam("key", type_=String())
    owner = select(model.vendor_id).where(model.id == key).scalar_subquery()  # type: ignore[attr-defined]
    return (
        select(Vendor, func.now())
        .where(Vendor.id == owner)
        .with_for_update(of=Vendor)
        .execution_options(populate_existing=True)
    )


# Built once and executed with the key: every decision takes these locks, and building a
# statement costs more CPU than looking up one already built.
_LOCKED: dict[type, Any] = {model: _locked(model) for model in (Vendor, Order)}
_VENDOR_OF: dict[type, Any] = {model: _vendor_of(model) for model in (Order, Case)}
_CASE_WITH_ORDER = (
    select(Case, Order)
    .outerjoin(Order, Order.id == Case.order_id)
    .where(Case.id == bindparam("key", type_=String()))
    # The order is read, not locked: every write of it is made under its vendor's lock,
    # which this transaction holds, so what is read is the latest.
    .with_for_update(of=Case)
    .execution_options(populate_existing=True)
)


# The usual case in one statement, locked in the one order: the locking clauses take the
# rows of each result row in the order they name them. Run on asyncpg directly (app.db.driver).
# A row that changed while this waited is read again, as it is now, and no row comes back
# when the change broke the join (the order moved to another vendor): the step-by-step
# path below then takes over, as it does for what is not found.
_ORDER_AND_VENDOR = driver.Statement(
    """SELECT to_jsonb(v), to_jsonb(o), now() FROM vendors v
    JOIN orders o ON o.vendor_id = v.id WHERE o.id = $1
    FOR UPDATE OF v FOR NO KEY UPDATE OF o""",
    ["key"],
)
_CASE_ORDER_AND_VENDOR = driver.Statement(
    """SELECT to_jsonb(v), to_jsonb(o), to_jsonb(c), now() FROM cases c
    JOIN vendors v ON v.id = c.vendor_id JOIN orders o ON o.id = c.order_id
    WHERE c.id = $1 FOR UPDATE OF v FOR NO KEY UPDATE OF o FOR UPDATE OF c""",
    ["key"],
)


async def _at_once(session: AsyncSession, statement: driver.Statement, key: str) -> list[Any]:
    """The rows of one of the statements above as the session's instances, or []."""
    rows = await driver.fetch(session, statement, {"key": key})
    if not rows:
        return []
    *found, now = rows[0]
    clock.remember(session, now)
    return [
        driver.attach(session, cls, values)
        for cls, values in zip((Vendor, Order, Case), found, strict=False)
    ]


async def _scalar_locked(session: AsyncSession, model: type, key: str) -> object | None:
    found: object | None = await session.scalar(_LOCKED[model], {"key": key})
    return found


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


async def _vendor_first(session: AsyncSession, model: type, key: str) -> Vendor | None:
    row = (await session.execute(_VENDOR_OF[model], {"key": key})).one_or_none()
    if row is None:
        return None
    vendor, now = row
    clock.remember(session, now)
    assert isinstance(vendor, Vendor)
    return vendor


async def lock_order(session: AsyncSession, order_id: str) -> tuple[Order, Vendor] | None:
    """An order and its vendor, vendor first; None when there is no such order.

    Two statements: the vendor, locked (found through the order), then the order as it is
    now. Every write of an order is made under its vendor's lock, so the order read after
    the lock is the latest; it is locked too, which costs nothing more.
    """
    at_once = await _at_once(session, _ORDER_AND_VENDOR, order_id)
    if at_once:
        vendor, order = at_once
        return order, vendor
    vendor = await _vendor_first(session, Order, order_id)
    if vendor is None:
        return None
    order = await _scalar_locked(session, Order, order_id)
    assert isinstance(order, Order)  # orders are never deleted
    # The order system moved the order to another vendor while this waited for the one it
    # had (a vendor changes only while the order has no case): take the new vendor's lock
    # too, as the order's money is written under it.
    while order.vendor_id != vendor.id:
        moved_to = await lock_vendor(session, order.vendor_id)
        assert moved_to is not None  # vendors are never deleted
        vendor = moved_to
        order = await _scalar_locked(session, Order, order_id)
        assert isinstance(order, Order)
    return order, vendor


async def lock_case(
    session: AsyncSession,
    case_id: str,
    *,
    case_type: str | None = None,
    authorize: Callable[[str | None], None] | None = None,
) -> Locked:
    """The case, its vendor and its order, locked in the one order (the order too, though
    its writes are all made under the vendor's lock: one statement takes all three).

    ``authorize``: checks the caller may act on the case's vendor (raises 403) before
    anything else is said about it. ``case_type``: the case must be of that type, else it
    is not found (a payout id asked of the fail-review endpoint is no fail review).
    """
    at_once = await _at_once(session, _CASE_ORDER_AND_VENDOR, case_id)
    if at_once:
        vendor, order, case = at_once
        row: Any = (case, order)
    else:
        vendor = await _vendor_first(session, Case, case_id)
        row = (await session.execute(_CASE_WITH_ORDER, {"key": case_id})).one_or_none()
    if row is not None and authorize is not None:
        authorize(row[0].vendor_id)
    if row is None or (case_type is not None and row[0].case_type != case_type):
        raise NotFound(f"No {(case_type or 'case').replace('_', ' ')} {case_id}.")
    case, order = row
    return Locked(case=case, vendor=vendor, order=order)
