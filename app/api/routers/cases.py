from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.api.deps import Engine, Principal, Session, require
from app.api.pagination import Filter, Page, Paging, time_key
from app.api.roles import Right
from app.api.transaction import TransactionRoute
from app.schemas.cases import CaseOut, OverrideIn
from app.schemas.common import PROBLEM_RESPONSES, PublicId
from app.services import cases, overrides

router = APIRouter(
    prefix="/v1/cases", tags=["cases"], route_class=TransactionRoute, responses=PROBLEM_RESPONSES
)

Reader = Annotated[Principal, Depends(require(Right.READ))]


@router.get(
    "",
    response_model=Page[CaseOut],
    summary="Cases of every type, newest first",
    description="Newest first by creation time (then id). Every given filter must match. A "
    "vendor key lists only its own vendor's cases.",
)
async def list_cases(
    session: Session,
    principal: Reader,
    paging: Paging,
    case_type: Annotated[Filter, Query(examples=["pickup_complaint"])] = None,
    status: Annotated[Filter, Query(examples=["open"])] = None,
    vendor_id: Annotated[Filter, Query(examples=["V-1001"])] = None,
    order_id: Annotated[Filter, Query(examples=["ORD-20931"])] = None,
) -> Page[CaseOut]:
    items = await cases.find(
        session,
        case_type=case_type,
        status=status,
        vendor_id=principal.vendor_scope(vendor_id),
        order_id=order_id,
        after=paging.after_time_key(),
        limit=paging.fetch,
    )
    return paging.page(items, key=lambda c: time_key(c.created_at, c.id))


@router.get(
    "/{case_id}",
    response_model=CaseOut,
    summary="A case, its ticket, its current decision and every earlier one",
)
async def get_case(case_id: PublicId, session: Session, principal: Reader) -> CaseOut:
    case = await cases.get(session, case_id)
    principal.ensure_vendor(case.vendor_id)
    return await cases.view(session, case)


@router.post(
    "/{case_id}/override",
    response_model=CaseOut,
    summary="Ops replaces the case's decision; the rules' decision stays on record",
    description="The new decision is final, decided_by {kind: ops_override, actor, reason}, and "
    "supersedes the current one. If that one was final, each ledger entry it made is reversed "
    "by a new `reversal` entry (opposite amount, settles_entry_id = the entry) and the vendor's "
    "standing is put back where that entry moved it; then the override's actions are applied. "
    "If the current decision was only a proposal, nothing is reversed and the case is resolved "
    "as by a verdict. Money already paid out (a released payout or wallet refund) cannot be "
    "reversed: 409.",
)
async def post_override(
    case_id: PublicId,
    body: OverrideIn,
    session: Session,
    engine: Engine,
    principal: Annotated[Principal, Depends(require(Right.OVERRIDE))],
) -> CaseOut:
    case = await overrides.override(session, engine, principal.acting, case_id, body)
    return await cases.view(session, case)
