from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Case, Deadline


async def get(session: AsyncSession, case_id: str, *, for_update: bool = False) -> Case | None:
    query = select(Case).where(Case.id == case_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    case: Case | None = await session.scalar(query)
    return case


async def add(session: AsyncSession, case: Case) -> None:
    session.add(case)
    await session.flush()


async def for_order(session: AsyncSession, order_id: str) -> Sequence[Case]:
    return (
        await session.scalars(select(Case).where(Case.order_id == order_id).order_by(Case.id))
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


async def deadlines(session: AsyncSession, case_id: str) -> Sequence[Deadline]:
    return (
        await session.scalars(
            select(Deadline).where(Deadline.case_id == case_id).order_by(Deadline.due_at)
        )
    ).all()
