from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Case, Deadline
from app.repositories import fresh
from app.repositories.keyset import newest_first


async def get(session: AsyncSession, case_id: str, *, for_update: bool = False) -> Case | None:
    query = select(Case).where(Case.id == case_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    case: Case | None = await session.scalar(query)
    return case


async def add(session: AsyncSession, case: Case) -> None:
    # Written with the next flush, with what the request gave it by then (its decision):
    # one INSERT, no UPDATE after it.
    # Until then it reads as stored: the lists the database would default to empty.
    case.escalations = case.escalations or []
    case.notes = case.notes or []
    session.add(case)
    fresh.case_opened(session, case)


async def for_order(session: AsyncSession, order_id: str) -> Sequence[Case]:
    return (
        await session.scalars(select(Case).where(Case.order_id == order_id).order_by(Case.id))
    ).all()


async def for_orders(session: AsyncSession, order_ids: Sequence[str]) -> Sequence[Case]:
    """The cases of several orders at once (a page of orders), by order, then id."""
    return (
        await session.scalars(
            select(Case).where(Case.order_id.in_(order_ids)).order_by(Case.order_id, Case.id)
        )
    ).all()


async def open_of_type_for_order(
    session: AsyncSession, order_id: str, case_type: str
) -> Case | None:
    case: Case | None = await session.scalar(
        select(Case).where(
            Case.order_id == order_id, Case.case_type == case_type, Case.resolved_at.is_(None)
        )
    )
    return case


async def deadlines_of(session: AsyncSession, case_ids: Sequence[str]) -> Sequence[Deadline]:
    return (
        await session.scalars(
            select(Deadline)
            .where(Deadline.case_id.in_(case_ids))
            .order_by(Deadline.due_at, Deadline.id)
        )
    ).all()


def listing(
    *,
    case_type: str | None = None,
    status: str | None = None,
    vendor_id: str | None = None,
    order_id: str | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int,
) -> Select[Any]:
    """The statement behind GET /v1/cases, newest first (its plans are tested)."""
    query = select(Case)
    for column, value in (
        (Case.case_type, case_type),
        (Case.status, status),
        (Case.vendor_id, vendor_id),
        (Case.order_id, order_id),
    ):
        if value is not None:
            query = query.where(column == value)
    return newest_first(query, Case.created_at, Case.id, after, limit)


async def page(session: AsyncSession, query: Select[Any]) -> Sequence[Case]:
    return (await session.scalars(query)).all()


async def count_earlier_for_vendor(
    session: AsyncSession, vendor_id: str, case_type: str, *, window: timedelta
) -> int:
    """A vendor's cases of one type opened in the ``window`` before this transaction began,
    and since, up to this statement: its history for repeat rules.

    Up to the statement, not to the transaction's start, so that a case committed while this
    transaction waited for the vendor's lock counts (its created_at is its own, earlier,
    start). Every case type reads its vendor's history here, so complaints, disputes and fail
    reasons count from one place (served by ix_cases_vendor_type_created).
    """
    count = await session.scalar(
        select(func.count())
        .select_from(Case)
        .where(
            Case.vendor_id == vendor_id,
            Case.case_type == case_type,
            Case.created_at >= func.now() - window,
            Case.created_at < func.statement_timestamp(),
        )
    )
    return int(count or 0)
