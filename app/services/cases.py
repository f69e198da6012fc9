"""Reading cases as clients see them: a case with its ticket, clocks, decisions, feedback.

How a case lives (opens, is decided, resolved, breached) is app.cases.lifecycle; which case
types exist, app.cases.registry.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.lifecycle import RESOLUTION, VENDOR_RESPONSE
from app.cases.registry import CASE_TYPES
from app.models import Case, CaseFeedback, Deadline, Decision
from app.repositories import cases, decisions, feedback, fresh
from app.schemas.cases import CaseOut, DeadlineOut, FeedbackOut
from app.schemas.decisions import DecisionOut
from app.services.errors import NotFound

# Cases a customer raised, or that concern the customer's money.
CUSTOMER_FACING = frozenset(name for name, kind in CASE_TYPES.items() if kind.customer_facing)


async def get(session: AsyncSession, case_id: str, *, for_update: bool = False) -> Case:
    case = await cases.get(session, case_id, for_update=for_update)
    if case is None:
        raise NotFound(f"No case {case_id}.")
    return case


async def find(
    session: AsyncSession,
    *,
    case_type: str | None,
    status: str | None,
    vendor_id: str | None,
    order_id: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[CaseOut]:
    """Cases matching every given filter, newest first, from before ``after``."""
    query = cases.listing(
        case_type=case_type,
        status=status,
        vendor_id=vendor_id,
        order_id=order_id,
        after=after,
        limit=limit,
    )
    return await view_many(session, await cases.page(session, query))


async def view(session: AsyncSession, case: Case) -> CaseOut:
    return (await view_many(session, [case]))[0]


async def view_many(session: AsyncSession, rows: Sequence[Case]) -> list[CaseOut]:
    """The cases with their deadlines, every decision and feedback: three queries for any
    number, and none for cases this transaction opened, which hold only what it added."""
    await session.flush()  # the server's defaults (times) of what this transaction added
    history: dict[str, list[Decision]] = defaultdict(list)
    clocks: dict[str, list[Deadline]] = defaultdict(list)
    given: dict[str, CaseFeedback] = {}
    older = []
    for case in rows:
        opened = fresh.of(session, case.id)
        if opened is None:
            older.append(case.id)
            continue
        # In the order the queries below give.
        history[case.id] = sorted(opened.decisions, key=lambda d: (d.decided_at, d.id))
        clocks[case.id] = sorted(opened.deadlines, key=lambda d: (d.due_at, d.id))
    if older:
        given = {f.case_id: f for f in await feedback.for_cases(session, older)}
        for decision in await decisions.for_cases(session, older):
            history[decision.case_id].append(decision)
        for deadline in await cases.deadlines_of(session, older):
            clocks[deadline.case_id].append(deadline)
    return [_out(case, history[case.id], clocks[case.id], given.get(case.id)) for case in rows]


def _out(
    case: Case, history: list[Decision], clocks: list[Deadline], given: CaseFeedback | None
) -> CaseOut:
    decided = [DecisionOut.model_validate(d) for d in history]

    def due(kind: str) -> datetime | None:
        # The latest clock of the kind: the one that runs, or ran last.
        return max((d.due_at for d in clocks if d.kind == kind), default=None)

    return CaseOut(
        id=case.id,
        case_type=case.case_type,
        order_id=case.order_id,
        vendor_id=case.vendor_id,
        status=case.status,
        ticket=case.ticket,
        details=case.details,
        deadlines=[DeadlineOut.model_validate(d) for d in clocks],
        vendor_response_due_at=due(VENDOR_RESPONSE),
        resolution_due_at=due(RESOLUTION),
        escalations=case.escalations,
        notes=case.notes,
        decision=next((d for d in decided if d.id == case.current_decision_id), None),
        history=decided,
        feedback=FeedbackOut.model_validate(given) if given else None,
        created_at=case.created_at,
        updated_at=case.updated_at,
        acknowledged_at=case.acknowledged_at,
        resolved_at=case.resolved_at,
    )
