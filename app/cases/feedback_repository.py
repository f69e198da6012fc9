from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import CaseFeedback


async def get(session: AsyncSession, case_id: str) -> CaseFeedback | None:
    return await session.get(CaseFeedback, case_id)


async def add(session: AsyncSession, given: CaseFeedback) -> None:
    session.add(given)
    await session.flush()


async def for_cases(session: AsyncSession, case_ids: Sequence[str]) -> Sequence[CaseFeedback]:
    return (
        await session.scalars(select(CaseFeedback).where(CaseFeedback.case_id.in_(case_ids)))
    ).all()
