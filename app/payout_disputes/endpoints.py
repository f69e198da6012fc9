from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.api.deps import Engine, Principal, Session, require
from app.api.roles import Right
from app.api.schemas import PublicId
from app.api.transaction import TransactionRoute
from app.cases import views as cases
from app.cases.schemas import CaseOut
from app.errors import InvalidRequest
from app.payout_disputes import manager
from app.payout_disputes import service as payout_disputes
from app.payout_disputes.schemas import (
    RECONCILIATION,
    ManagerDecisionIn,
    PayoutDisputeIn,
    VendorResponseIn,
)

router = APIRouter(
    prefix="/v1/payout-disputes",
    tags=["payout disputes"],
    route_class=TransactionRoute,
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
    if body.channel == RECONCILIATION:
        raise InvalidRequest(
            "Channel reconciliation is the service's own, for disputes it opens from payment "
            "records; a customer's dispute comes by app, whatsapp or support.",
            "channel",
        )
    case = await payout_disputes.open_dispute(session, engine, principal.acting, body)
    return await cases.view(session, case)


@router.post(
    "/{case_id}/vendor-response",
    response_model=CaseOut,
    summary="The vendor's answer: paid in full, paid less, not paid, or denies; decided by "
    "the table",
    description="200 with the decision. On a dispute already with the ops manager (escalated) "
    "the answer decides nothing: it is kept on the case for the manager, 202.",
    responses={202: {"model": CaseOut, "description": "Kept on the case for the ops manager"}},
)
async def post_vendor_response(
    case_id: PublicId,
    body: VendorResponseIn,
    session: Session,
    engine: Engine,
    response: Response,
    principal: Annotated[Principal, Depends(require(Right.ANSWER_DISPUTES))],
) -> CaseOut:
    answered = await payout_disputes.respond(
        session, engine, principal.acting, case_id, body, principal.ensure_vendor
    )
    if not answered.decided:
        response.status_code = 202
    return await cases.view(session, answered.case)


@router.post(
    "/{case_id}/manager-decision",
    response_model=CaseOut,
    summary="The ops manager ends an escalated dispute with a finding; decided by the table",
    description="Only for an escalated dispute. The finding, what the customer received and "
    "whether the vendor's block lifts are decided by the payout-dispute table: the dispute "
    "resolves, or waits for finance's approval of a payout.",
)
async def post_manager_decision(
    case_id: PublicId,
    body: ManagerDecisionIn,
    session: Session,
    engine: Engine,
    principal: Annotated[Principal, Depends(require(Right.DECIDE_ESCALATED))],
) -> CaseOut:
    case = await manager.manager_decision(session, engine, principal.acting, case_id, body)
    return await cases.view(session, case)
