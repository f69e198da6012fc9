from sqlalchemy.ext.asyncio import AsyncSession

from app.db import written
from app.models import CaseFeedback


async def get(session: AsyncSession, case_id: str) -> CaseFeedback | None:
    return await session.get(CaseFeedback, case_id)


async def add(session: AsyncSession, given: CaseFeedback) -> None:
    session.add(given)
    written.keep(session, given)  # a case's answer shows it without reading it back
    await session.flush()
