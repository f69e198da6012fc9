from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Decision


async def get(session: AsyncSession, decision_id: str) -> Decision | None:
    return await session.get(Decision, decision_id)


async def add(session: AsyncSession, decision: Decision) -> None:
    session.add(decision)
    await session.flush()
