from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Decision


async def get(session: AsyncSession, decision_id: str) -> Decision | None:
    return await session.get(Decision, decision_id)


async def add(session: AsyncSession, decision: Decision) -> None:
    session.add(decision)
    await session.flush()
    # The session holds unchanged rows only weakly, and the caller usually drops this one;
    # the answer then reads it again (the case's current decision). Held for the session's
    # life, it is found in the identity map instead of selected a second time.
    session.info.setdefault("decisions", []).append(decision)
