from typing import Annotated

from fastapi import APIRouter, Depends

from app.api.deps import Engine, Principal, Session, require
from app.api.roles import Right
from app.api.schemas import PublicId
from app.api.transaction import TransactionRoute
from app.cases import views as cases
from app.cases.schemas import CaseOut
from app.pickup_complaints import service as pickup_complaints
from app.pickup_complaints.schemas import PickupComplaintIn, ResolveComplaintIn

router = APIRouter(
    prefix="/v1/pickup-complaints",
    tags=["pickup complaints"],
    route_class=TransactionRoute,
)


@router.post(
    "",
    status_code=201,
    response_model=CaseOut,
    summary="A customer's bad pickup experience: a CX ticket, acknowledged, decided by the rules",
)
async def post_pickup_complaint(
    body: PickupComplaintIn,
    session: Session,
    engine: Engine,
    principal: Annotated[Principal, Depends(require(Right.OPEN_CASES))],
) -> CaseOut:
    case = await pickup_complaints.file(session, engine, principal.acting, body)
    return await cases.view(session, case)


@router.post(
    "/{case_id}/resolve",
    response_model=CaseOut,
    summary="CX followed the complaint up: the case is resolved and the customer told",
)
async def post_resolve(
    case_id: PublicId,
    body: ResolveComplaintIn,
    session: Session,
    engine: Engine,
    principal: Annotated[Principal, Depends(require(Right.CLOSE_COMPLAINTS))],
) -> CaseOut:
    case = await pickup_complaints.resolved(session, engine, principal.acting, case_id, body.note)
    return await cases.view(session, case)
