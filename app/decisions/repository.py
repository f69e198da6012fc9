from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import driver, written
from app.db.keyset import newest_first
from app.models import Decision


async def get(session: AsyncSession, decision_id: str) -> Decision | None:
    return await session.get(Decision, decision_id)


async def add(session: AsyncSession, decision: Decision) -> None:
    # Written with the next flush, after its case: the flush orders rows by foreign key.
    driver.add(session, decision)
    written.keep(session, decision)


def listing(
    *,
    order_id: str | None = None,
    vendor_id: str | None = None,
    case_type: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int,
) -> Select[Any]:
    """The statement behind GET /v1/decisions, newest first (its plans are tested)."""
    query = select(Decision)
    for column, value in (
        (Decision.order_id, order_id),
        (Decision.vendor_id, vendor_id),
        (Decision.case_type, case_type),
        (Decision.outcome, outcome),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(Decision.decided_at >= since)
    if until is not None:
        query = query.where(Decision.decided_at < until)
    return newest_first(query, Decision.decided_at, Decision.id, after, limit)


async def page(session: AsyncSession, query: Select[Any]) -> Sequence[Decision]:
    return (await session.scalars(query)).all()
