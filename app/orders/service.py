"""Order snapshots from the order system."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import locks
from app.cases import repository as cases
from app.db import clock
from app.errors import REFUSED, Conflict, InvalidRequest, NotFound
from app.events import service as events
from app.models import Case, Order, Vendor
from app.orders import phones
from app.orders import repository as orders
from app.orders.schemas import CaseLink, OrderIn, OrderOut, PickupNote
from app.rules_engine.policy import Policy
from app.vendors import repository as vendors

_NO_ORDER = "No order {}; the order system must PUT it first."
# What decisions were made on: once an order has a case, these no longer change (a payout
# checked against one invoice cannot be measured against another).
FIXED_ONCE_CASES_EXIST = ("vendor_id", "final_invoice_amount", "unlock_credits")


def _note_key(note: dict[str, Any]) -> tuple[Any, ...]:
    return (note["reason"], note["amount"], note.get("note"))


def _merge_notes(
    known: list[dict[str, Any]], sent: list[PickupNote], now: datetime
) -> list[dict[str, Any]]:
    """Keeps the first-seen time of notes already known; new ones are recorded now. Notes
    are matched one for one: a note sent twice is two notes, and only one of them can be as
    old as the one that was known (a copy sent after a dispute opened justifies nothing)."""
    seen: dict[tuple[Any, ...], list[str]] = {}
    for old in known:
        seen.setdefault(_note_key(old), []).append(old["recorded_at"])
    merged = []
    for note in sent:
        data = note.model_dump()
        earlier = seen.get(_note_key(data))
        data["recorded_at"] = earlier.pop(0) if earlier else now.isoformat()
        merged.append(data)
    return merged


async def upsert(
    session: AsyncSession, order_id: str, body: OrderIn, policy: Policy
) -> tuple[Order, bool]:
    """Creates or replaces the snapshot; returns the order and whether it was created.

    Locks in the one order (vendor, then order): a snapshot never changes under a decision
    that is reading it.
    """
    await vendors.ensure(session, body.vendor_id, policy.default_max_leads)
    now = await clock.now(session)
    known = await orders.get(session, order_id)
    await locks.lock_vendors(session, {body.vendor_id} | ({known.vendor_id} if known else set()))
    order = await orders.get(session, order_id, for_update=True)
    snapshot = body.model_dump(exclude={"pickup_notes"})
    snapshot["customer_phone"] = phones.normalise(body.customer.phone)
    if order is None:
        order = Order(
            id=order_id, pickup_notes=_merge_notes([], body.pickup_notes, now), **snapshot
        )
        await orders.add(session, order)
        await events.emit(session, "order.created", order_id=order_id, vendor_id=order.vendor_id)
        return order, True
    opened = await cases.for_order(session, order_id)
    for name in FIXED_ONCE_CASES_EXIST:
        if opened and getattr(order, name) != snapshot[name]:
            raise Conflict(
                f"Order {order_id} has case {opened[0].id}: its {name} "
                f"({getattr(order, name)}) is what that case was decided on and cannot change.",
                [
                    {"field": name, "in": "body", "message": "fixed once the order has cases"}
                    | REFUSED
                ],
            )
    for name, value in snapshot.items():
        setattr(order, name, value)
    order.pickup_notes = _merge_notes(order.pickup_notes, body.pickup_notes, now)
    await session.flush()
    await events.emit(session, "order.updated", order_id=order_id, vendor_id=order.vendor_id)
    return order, False


async def get(session: AsyncSession, order_id: str, *, for_update: bool = False) -> Order:
    order = await orders.get(session, order_id, for_update=for_update)
    if order is None:
        raise NotFound(_NO_ORDER.format(order_id))
    return order


async def named_in_body(
    session: AsyncSession, order_id: str, field: str = "order_id"
) -> tuple[Order, Vendor]:
    """The order a request body names, and its vendor, read without locks; an unknown one is
    the body's fault (400 naming ``field``), not a missing resource."""
    found = await orders.with_vendor(session, order_id)
    if found is None:
        raise InvalidRequest(_NO_ORDER.format(order_id), field)
    return found


async def with_vendor(session: AsyncSession, order_id: str) -> tuple[Order, Vendor]:
    """The order, locked until commit, and its vendor (not locked), in one statement."""
    found = await orders.with_vendor(session, order_id, lock="order")
    if found is None:
        raise NotFound(_NO_ORDER.format(order_id))
    return found


def view(order: Order, order_cases: Sequence[Case]) -> OrderOut:
    """The order as the API shows it, with links to its cases and decisions."""
    links = [
        CaseLink(id=c.id, case_type=c.case_type, status=c.status, url=f"/v1/cases/{c.id}")
        for c in order_cases
    ]
    return OrderOut.model_validate(
        {
            **{c: getattr(order, c) for c in order.__table__.columns.keys()},
            "cases": links,
            "links": {
                "cases": f"/v1/cases?order_id={order.id}",
                "decisions": f"/v1/decisions?order_id={order.id}",
            },
        }
    )


async def view_of(session: AsyncSession, order: Order, *, new: bool = False) -> OrderOut:
    """``new``: the order was created in this request, so it has no cases to look up."""
    return view(order, [] if new else await cases.for_order(session, order.id))


async def find_by_customer_phone(
    session: AsyncSession, phone: str, *, after: tuple[datetime, str] | None, limit: int
) -> list[OrderOut]:
    """A customer's orders, newest first, from before ``after``; ``phone`` normalised."""
    found = await orders.page(session, orders.by_customer_phone(phone, after=after, limit=limit))
    if not found:
        return []
    by_order: dict[str | None, list[Case]] = defaultdict(list)
    for case in await cases.for_orders(session, [o.id for o in found]):
        by_order[case.order_id].append(case)
    return [view(order, by_order[order.id]) for order in found]
