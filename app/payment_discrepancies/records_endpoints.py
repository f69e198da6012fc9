from typing import Annotated

from fastapi import APIRouter, Depends

from app.api.deps import Engine, Principal, Session, require
from app.api.roles import Right
from app.api.transaction import TransactionRoute
from app.payment_discrepancies import reconciliation
from app.payment_discrepancies.schemas import PaymentRecordsIn, ReconciliationOut

router = APIRouter(
    prefix="/v1/payment-records",
    tags=["payment reconciliation"],
    route_class=TransactionRoute,
)


@router.post(
    "",
    response_model=ReconciliationOut,
    summary="Payment records in (up to 10,000): stored once each, compared with their orders; "
    "discrepancies and payouts below the invoice open cases",
)
async def post_payment_records(
    body: PaymentRecordsIn,
    session: Session,
    engine: Engine,
    principal: Annotated[Principal, Depends(require(Right.SEND_PAYMENT_RECORDS))],
) -> ReconciliationOut:
    return await reconciliation.reconcile(session, engine, principal.acting, body)
