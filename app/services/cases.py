"""Reading cases as clients see them."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Case, Deadline, Decision
from app.repositories import cases, clock, decisions
from app.schemas.cases import CaseOut, DeadlineOut
from app.schemas.decisions import DecisionOut
from app.services import events
from app.services.errors import NotFound

# The kind of deadline a payout dispute gives the vendor to answer.
VENDOR_RESPONSE = "vendor_response"


async def get(session: AsyncSession, case_id: str, *, for_update: bool = False) -> Case:
    case = await cases.get(session, case_id, for_update=for_update)
    if case is None:
        raise NotFound(f"No case {case_id}.")
    return case


async def resolve(session: AsyncSession, case: Case, outcome: str | None) -> None:
    """A final decision closes the case; its ticket shows the outcome."""
    case.status = "resolved"
    case.resolved_at = await clock.now(session)
    case.ticket = {**case.ticket, "status": outcome}
    await events.emit(session, "case.resolved", case=case, outcome=outcome)


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
    """The cases with their deadlines and every decision: three queries for any number."""
    ids = [case.id for case in rows]
    history: dict[str, list[Decision]] = defaultdict(list)
    for decision in await decisions.for_cases(session, ids):
        history[decision.case_id].append(decision)
    deadlines: dict[str, list[Deadline]] = defaultdict(list)
    for deadline in await cases.deadlines_of(session, ids):
        deadlines[deadline.case_id].append(deadline)
    return [_out(case, history[case.id], deadlines[case.id]) for case in rows]


def _out(case: Case, history: list[Decision], deadlines: list[Deadline]) -> CaseOut:
    decided = [DecisionOut.model_validate(d) for d in history]
    vendor_response = [d.due_at for d in deadlines if d.kind == VENDOR_RESPONSE]
    return CaseOut(
        id=case.id,
        case_type=case.case_type,
        order_id=case.order_id,
        vendor_id=case.vendor_id,
        status=case.status,
        ticket=case.ticket,
        details=case.details,
        deadlines=[DeadlineOut.model_validate(d) for d in deadlines],
        vendor_response_due_at=vendor_response[-1] if vendor_response else None,
        escalations=case.escalations,
        notes=case.notes,
        decision=next((d for d in decided if d.id == case.current_decision_id), None),
        history=decided,
        created_at=case.created_at,
        updated_at=case.updated_at,
        resolved_at=case.resolved_at,
    )
