from typing import Annotated

from fastapi import APIRouter, Depends

from app.api.deps import Engine, Principal, Session, require
from app.api.roles import Right
from app.api.schemas import PublicId
from app.api.transaction import TransactionRoute
from app.cases import views as cases
from app.cases.schemas import CaseOut
from app.fail_reasons import service as fail_reasons
from app.fail_reasons.schemas import FailReasonIn, VerdictIn, WalletReleaseIn
from app.orders.endpoints import OrderId
from app.payouts import service as payouts
from app.vendors.schemas import LedgerEntryOut

router = APIRouter(prefix="/v1", tags=["fail reasons"], route_class=TransactionRoute)

Verdicts = Annotated[Principal, Depends(require(Right.GIVE_VERDICTS))]
WalletReleases = Annotated[Principal, Depends(require(Right.RELEASE_WALLET_REFUNDS))]


@router.post(
    "/orders/{order_id}/fail-reasons",
    status_code=201,
    response_model=CaseOut,
    summary="The vendor cannot complete the pickup: the order becomes to_be_failed",
)
async def post_fail_reason(
    order_id: OrderId,
    body: FailReasonIn,
    session: Session,
    engine: Engine,
    principal: Annotated[Principal, Depends(require(Right.FILE_FAIL_REASONS))],
) -> CaseOut:
    case = await fail_reasons.file(
        session, engine, principal.acting, order_id, body, principal.ensure_vendor
    )
    return await cases.view(session, case)


@router.post(
    "/fail-reviews/{case_id}/verdict",
    response_model=CaseOut,
    summary="Ops decides who was at fault; the decision is applied",
)
async def post_verdict(
    case_id: PublicId,
    body: VerdictIn,
    session: Session,
    engine: Engine,
    principal: Verdicts,
) -> CaseOut:
    case = await fail_reasons.verdict(session, engine, principal.acting, case_id, body)
    return await cases.view(session, case)


@router.post(
    "/wallet-refunds/{entry_id}/release",
    response_model=LedgerEntryOut,
    summary="Release a wallet refund a decision marked eligible (never automatic)",
)
async def post_wallet_release(
    entry_id: PublicId,
    body: WalletReleaseIn,
    session: Session,
    principal: WalletReleases,
) -> LedgerEntryOut:
    entry = await payouts.release_wallet_refund(session, principal.acting, entry_id, body.note)
    return LedgerEntryOut.model_validate(entry)
