from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import CaseFeedback


async def get(session: AsyncSession, case_id: str) -> CaseFeedback | None:
    return await session.get(CaseFeedback, case_id)


async def add(session: AsyncSession, given: CaseFeedback) -> None:
    session.add(given)
    await session.flush()


_FOR_CASES = select(CaseFeedback).where(
    CaseFeedback.case_id.in_(bindparam("case_ids", expanding=True))
)  # built once: every answer of a case reads it


async def for_cases(session: AsyncSession, case_ids: Sequence[str]) -> Sequence[CaseFeedback]:
    return (await session.scalars(_FOR_CASES, {"case_ids": list(case_ids)})).all()
