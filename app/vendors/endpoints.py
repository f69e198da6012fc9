from typing import Annotated

from fastapi import APIRouter, Depends, Path

from app.api.deps import Engine, Principal, Session, require
from app.api.pagination import Page, Paging
from app.api.roles import Right
from app.api.schemas import Id
from app.api.transaction import TransactionRoute
from app.vendors import service as vendors
from app.vendors import standing as vendor_standing
from app.vendors.schemas import LedgerEntryOut, StandingIn, VendorOut

router = APIRouter(
    prefix="/v1/vendors",
    tags=["vendors"],
    route_class=TransactionRoute,
)

VendorId = Annotated[Id, Path(examples=["V-1001"])]
Reader = Annotated[Principal, Depends(require(Right.READ))]


@router.get("/{vendor_id}", response_model=VendorOut, summary="A vendor's standing")
async def get_vendor(
    vendor_id: VendorId, session: Session, engine: Engine, principal: Reader
) -> VendorOut:
    principal.ensure_vendor(vendor_id)
    return await vendors.view(session, await vendors.get(session, vendor_id), engine.policy)


@router.get(
    "/{vendor_id}/ledger",
    response_model=Page[LedgerEntryOut],
    summary="Every credit, payout, wallet and standing effect, each tied to its decision",
)
async def get_ledger(
    vendor_id: VendorId, session: Session, principal: Reader, paging: Paging
) -> Page[LedgerEntryOut]:
    principal.ensure_vendor(vendor_id)
    rows = await vendors.ledger_page(
        session, vendor_id, after=paging.after_number(), limit=paging.fetch
    )
    return paging.page([LedgerEntryOut.model_validate(r) for r in rows], key=lambda e: str(e.seq))


@router.post(
    "/{vendor_id}/standing",
    response_model=VendorOut,
    summary="The ops manager changes the vendor's standing: unblock, release a hold, "
    "conclude a deactivation review, restore max leads, clear flags",
    description="Each is an entry of the vendor's ledger with the manager's name and reason. "
    "An action that does not apply to the vendor's standing (releasing a hold of a vendor not "
    "on hold, say) is a 409 saying why.",
)
async def post_standing(
    vendor_id: VendorId,
    body: StandingIn,
    session: Session,
    engine: Engine,
    principal: Annotated[Principal, Depends(require(Right.CHANGE_STANDING))],
) -> VendorOut:
    vendor = await vendor_standing.change(
        session, principal.acting, vendor_id, body.action, body.reason
    )
    return await vendors.view(session, vendor, engine.policy)
