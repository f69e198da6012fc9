from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import locks
from app.db import clock
from app.db.keyset import newest_first
from app.models import Order, Vendor


async def get(session: AsyncSession, order_id: str, *, for_update: bool = False) -> Order | None:
    query = select(Order).where(Order.id == order_id)
    if for_update:
        query = query.with_for_update(**locks.ORDER_LOCK).execution_options(populate_existing=True)
    order: Order | None = await session.scalar(query)
    return order


async def with_vendor(
    session: AsyncSession, order_id: str, *, lock: Literal["order", "vendor"] | None = None
) -> tuple[Order, Vendor] | None:
    """The order and its vendor in one statement, the one ``lock`` names locked until commit.

    Every submission starts here, so the same statement reads the transaction's time too
    (clock.now then sends nothing).
    """
    query = (
        select(Order, Vendor, func.now())
        .join(Vendor, Vendor.id == Order.vendor_id)
        .where(Order.id == order_id)
    )
    if lock is not None:
        locking = {"of": Order, **locks.ORDER_LOCK} if lock == "order" else {"of": Vendor}
        query = query.with_for_update(**locking).execution_options(populate_existing=True)
    row = (await session.execute(query)).one_or_none()
    if row is None:
        return None
    order, vendor, now = row
    clock.remember(session, now)
    return order, vendor


async def add(session: AsyncSession, order: Order) -> None:
    session.add(order)
    await session.flush()


def by_customer_phone(
    phone: str, *, after: tuple[datetime, str] | None = None, limit: int
) -> Select[Any]:
    """The statement behind GET /v1/orders?customer_phone=, newest first (its plan is tested).

    ``phone`` is spelled as app.orders.phones.normalise spells it."""
    query = select(Order).where(Order.customer_phone == phone)
    return newest_first(query, Order.created_at, Order.id, after, limit)


async def page(session: AsyncSession, query: Select[Any]) -> Sequence[Order]:
    return (await session.scalars(query)).all()
