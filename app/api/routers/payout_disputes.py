from typing import Annotated

from fastapi import APIRouter, Depends, Path

from app.api.deps import Engine, Principal, Session, require
from app.api.roles import Right
from app.api.transaction import TransactionRoute
from app.schemas.cases import CaseOut
from app.schemas.common import PROBLEM_RESPONSES
from app.schemas.payout_disputes import PayoutDisputeIn, VendorResponseIn
from app.services import cases, payout_disputes

router = APIRouter(
    prefix="/v1/payout-disputes",
    tags=["payout disputes"],
    route_class=TransactionRoute,
    responses=PROBLEM_RESPONSES,
)


@router.post(
    "",
    status_code=201,
    response_model=CaseOut,
    summary="The customer was not paid, or paid less: open a dispute; the vendor's clock starts",
)
async def post_payout_dispute(
    body: PayoutDisputeIn,
    session: Session,
    engine: Engine,
    principal: Annotated[Principal, Depends(require(Right.OPEN_CASES))],
) -> CaseOut:
    case = await payout_disputes.open_dispute(session, engine, principal.actor, body)
    return await cases.view(session, case)


@router.post(
    "/{case_id}/vendor-response",
    response_model=CaseOut,
    summary="The vendor's answer: paid in full, paid less, or not paid; decided by the table",
)
async def post_vendor_response(
    case_id: Annotated[str, Path(max_length=40)],
    body: VendorResponseIn,
    session: Session,
    engine: Engine,
    principal: Annotated[Principal, Depends(require(Right.ANSWER_DISPUTES))],
) -> CaseOut:
    case = await cases.get(session, case_id)
    principal.ensure_vendor(case.vendor_id)
    case = await payout_disputes.respond(session, engine, principal.actor, case, body)
    return await cases.view(session, case)
