from typing import Annotated

from fastapi import APIRouter, Depends, Path

from app.api.deps import Principal, Session, require
from app.api.pagination import Page, Paging
from app.api.roles import Right
from app.api.transaction import TransactionRoute
from app.repositories import ledger, vendors
from app.schemas.common import PROBLEM_RESPONSES, Id
from app.schemas.vendors import LedgerEntryOut, UnblockIn, VendorOut
from app.services import vendors as vendor_standing
from app.services.errors import NotFound

router = APIRouter(
    prefix="/v1/vendors",
    tags=["vendors"],
    route_class=TransactionRoute,
    responses=PROBLEM_RESPONSES,
)

VendorId = Annotated[Id, Path(examples=["V-1001"])]
Reader = Annotated[Principal, Depends(require(Right.READ))]


@router.get("/{vendor_id}", response_model=VendorOut, summary="A vendor's standing")
async def get_vendor(vendor_id: VendorId, session: Session, principal: Reader) -> VendorOut:
    principal.ensure_vendor(vendor_id)
    vendor = await vendors.get(session, vendor_id)
    if vendor is None:
        raise NotFound(f"No vendor {vendor_id}.")
    return VendorOut.model_validate(vendor)


@router.get(
    "/{vendor_id}/ledger",
    response_model=Page[LedgerEntryOut],
    summary="Every credit, payout, wallet and standing effect, each tied to its decision",
)
async def get_ledger(
    vendor_id: VendorId, session: Session, principal: Reader, paging: Paging
) -> Page[LedgerEntryOut]:
    principal.ensure_vendor(vendor_id)
    if await vendors.get(session, vendor_id) is None:
        raise NotFound(f"No vendor {vendor_id}.")
    rows = await ledger.for_vendor(session, vendor_id, after=paging.after, limit=paging.fetch)
    return paging.page([LedgerEntryOut.model_validate(r) for r in rows], key=lambda e: e.id)


@router.post(
    "/{vendor_id}/unblock",
    response_model=VendorOut,
    summary="A manager clears the vendor's block on new leads",
)
async def post_unblock(
    vendor_id: VendorId,
    body: UnblockIn,
    session: Session,
    principal: Annotated[Principal, Depends(require(Right.CHANGE_STANDING))],
) -> VendorOut:
    vendor = await vendor_standing.unblock_new_leads(
        session, principal.actor, vendor_id, body.reason
    )
    return VendorOut.model_validate(vendor)
