from typing import Annotated

from fastapi import APIRouter, Depends, Path

from app.api.deps import Engine, Principal, Session, require
from app.api.roles import Right
from app.api.transaction import TransactionRoute
from app.schemas.common import PROBLEM_RESPONSES
from app.schemas.payouts import PayoutApprovalIn, PayoutOut, PayoutRejectionIn
from app.services import payouts

router = APIRouter(
    prefix="/v1/payouts",
    tags=["payouts"],
    route_class=TransactionRoute,
    responses=PROBLEM_RESPONSES,
)

PayoutId = Annotated[str, Path(max_length=40, description="The platform_payout ledger entry's id.")]
Approver = Annotated[Principal, Depends(require(Right.APPROVE_PAYOUTS))]


@router.get("/{payout_id}", response_model=PayoutOut, summary="A platform payout and its status")
async def get_payout(
    payout_id: PayoutId,
    session: Session,
    principal: Annotated[Principal, Depends(require(Right.READ))],
) -> PayoutOut:
    payout = await payouts.get(session, payout_id)
    principal.ensure_vendor(payout.vendor_id)
    return await payouts.view(session, payout)


@router.post(
    "/{payout_id}/approve",
    response_model=PayoutOut,
    summary="Finance approves a payout that waits for approval; it is released (once)",
)
async def post_approve(
    payout_id: PayoutId,
    body: PayoutApprovalIn,
    session: Session,
    engine: Engine,
    principal: Approver,
) -> PayoutOut:
    payout = await payouts.settle(
        session, engine, principal.acting, payout_id, approve=True, text=body.note
    )
    return await payouts.view(session, payout)


@router.post(
    "/{payout_id}/reject",
    response_model=PayoutOut,
    summary="Finance rejects a payout that waits for approval (once)",
)
async def post_reject(
    payout_id: PayoutId,
    body: PayoutRejectionIn,
    session: Session,
    engine: Engine,
    principal: Approver,
) -> PayoutOut:
    payout = await payouts.settle(
        session, engine, principal.acting, payout_id, approve=False, text=body.reason
    )
    return await payouts.view(session, payout)
