from typing import Annotated

from fastapi import APIRouter, Depends

from app.api.deps import Engine, Principal, Session, require
from app.api.roles import Right
from app.api.schemas import PublicId
from app.api.transaction import TransactionRoute
from app.cases import views as cases
from app.cases.schemas import CaseOut
from app.payment_discrepancies import service as payment_discrepancies
from app.payment_discrepancies.schemas import ResolveDiscrepancyIn

router = APIRouter(
    prefix="/v1/payment-discrepancies",
    tags=["payment reconciliation"],
    route_class=TransactionRoute,
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
    engine: Engine,
    principal: Annotated[Principal, Depends(require(Right.RESOLVE_DISCREPANCIES))],
) -> CaseOut:
    case = await payment_discrepancies.resolved(
        session, engine, principal.acting, case_id, body.note
    )
    return await cases.view(session, case)
