from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from app.api.deps import Engine, Principal, Session, require
from app.api.pagination import Filter, Page, Paging
from app.api.roles import Right
from app.api.transaction import TransactionRoute
from app.payouts import service as payouts
from app.payouts.schemas import (
    PayoutApprovalIn,
    PayoutOut,
    PayoutRejectionIn,
    PayoutStatus,
    WalletRefundOut,
    WalletRefundStatus,
)

router = APIRouter(
    prefix="/v1/payouts",
    tags=["payouts"],
    route_class=TransactionRoute,
)

PayoutId = Annotated[str, Path(max_length=40, description="The platform_payout ledger entry's id.")]
Approver = Annotated[Principal, Depends(require(Right.APPROVE_PAYOUTS))]


@router.get(
    "",
    response_model=Page[PayoutOut],
    summary="The payouts, newest first: the finance manager's queue with status=pending_approval",
    description="Every given filter must match. A payout's status: pending_approval (waits "
    "for the finance manager), released, rejected, or cancelled (a later decision reversed "
    "the one that made it).",
)
async def list_payouts(
    session: Session,
    # The key first: a stranger hears 401, not what is wrong with the cursor.
    _: Annotated[Principal, Depends(require(Right.LIST_PAYOUTS))],
    paging: Paging,
    status: Annotated[PayoutStatus | None, Query()] = None,
    vendor_id: Annotated[Filter, Query(examples=["V-1001"])] = None,
) -> Page[PayoutOut]:
    items = await payouts.list_payouts(
        session, status=status, vendor_id=vendor_id, after=paging.after_number(), limit=paging.fetch
    )
    return paging.page(items, key=lambda p: str(p.seq))


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


wallet_refunds = APIRouter(
    prefix="/v1/wallet-refunds",
    tags=["payouts"],
    route_class=TransactionRoute,
)


@wallet_refunds.get(
    "",
    response_model=Page[WalletRefundOut],
    summary="The wallet refunds, newest first: ops's queue with status=eligible",
)
async def list_wallet_refunds(
    session: Session,
    _: Annotated[Principal, Depends(require(Right.LIST_WALLET_REFUNDS))],
    paging: Paging,
    status: Annotated[WalletRefundStatus | None, Query()] = None,
    vendor_id: Annotated[Filter, Query(examples=["V-1001"])] = None,
) -> Page[WalletRefundOut]:
    items = await payouts.list_wallet_refunds(
        session, status=status, vendor_id=vendor_id, after=paging.after_number(), limit=paging.fetch
    )
    return paging.page(items, key=lambda w: str(w.seq))
