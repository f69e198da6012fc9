from typing import Annotated

from fastapi import APIRouter, Depends

from app.api.deps import Principal, Session, require
from app.api.roles import Right
from app.api.transaction import TransactionRoute
from app.schemas.cases import CaseOut
from app.schemas.common import PROBLEM_RESPONSES, PublicId
from app.schemas.payment_records import ResolveDiscrepancyIn
from app.services import cases, payment_discrepancies

router = APIRouter(
    prefix="/v1/payment-discrepancies",
    tags=["payment reconciliation"],
    route_class=TransactionRoute,
    responses=PROBLEM_RESPONSES,
)


@router.post(
    "/{case_id}/resolve",
    response_model=CaseOut,
    summary="The decided resolution was carried out: the case is resolved, the customer told",
)
async def post_resolve(
    case_id: PublicId,
    body: ResolveDiscrepancyIn,
    session: Session,
    principal: Annotated[Principal, Depends(require(Right.RESOLVE_DISCREPANCIES))],
) -> CaseOut:
    case = await payment_discrepancies.resolved(session, principal.acting, case_id, body.note)
    return await cases.view(session, case)
