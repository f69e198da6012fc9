"""Sending a case to a team: once per team, the ticket's team following the latest."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.events import service as events
from app.models import Case
from app.observability import metrics
from app.observability.context import on_commit


async def escalate(session: AsyncSession, case: Case, to: str, **why: str) -> bool:
    """Sends the case to a team once; returns False when it was already there.

    A later decision or a clock may name a team the case already went to (a high-value
    dispute is with finance from the start, an unreachable vendor's dispute is with the ops
    manager before it breaches its resolution clock): the team is told once. The ticket's
    ``assignee_team`` follows every escalation, so each team's queue shows what is with it.
    """
    if any(escalation["to"] == to for escalation in case.escalations):
        return False
    case.escalations = [*case.escalations, {"to": to, **why}]
    case.assignee_team = case.escalated_to = to
    on_commit(metrics.ESCALATIONS.labels(to).inc)
    await events.emit(session, "case.escalated", case=case, to=to, **why)
    return True
