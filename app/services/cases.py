"""Reading cases as clients see them."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Case
from app.repositories import cases, decisions
from app.schemas.cases import CaseOut, DeadlineOut
from app.schemas.decisions import DecisionOut
from app.services.errors import NotFound

# The kind of deadline a payout dispute gives the vendor to answer.
VENDOR_RESPONSE = "vendor_response"


async def get(session: AsyncSession, case_id: str, *, for_update: bool = False) -> Case:
    case = await cases.get(session, case_id, for_update=for_update)
    if case is None:
        raise NotFound(f"No case {case_id}.")
    return case


async def view(session: AsyncSession, case: Case) -> CaseOut:
    decision = (
        await decisions.get(session, case.current_decision_id) if case.current_decision_id else None
    )
    deadlines = [DeadlineOut.model_validate(d) for d in await cases.deadlines(session, case.id)]
    vendor_response = [d.due_at for d in deadlines if d.kind == VENDOR_RESPONSE]
    return CaseOut(
        id=case.id,
        case_type=case.case_type,
        order_id=case.order_id,
        vendor_id=case.vendor_id,
        status=case.status,
        ticket=case.ticket,
        details=case.details,
        deadlines=deadlines,
        vendor_response_due_at=vendor_response[-1] if vendor_response else None,
        escalations=case.escalations,
        notes=case.notes,
        decision=DecisionOut.model_validate(decision) if decision else None,
        created_at=case.created_at,
        updated_at=case.updated_at,
        resolved_at=case.resolved_at,
    )
