from typing import Annotated

from fastapi import APIRouter, Depends

from app.api.deps import Principal, Session, require
from app.api.transaction import TransactionRoute
from app.schemas.cases import CaseOut
from app.schemas.common import PROBLEM_RESPONSES, PublicId
from app.services import cases

router = APIRouter(
    prefix="/v1/cases", tags=["cases"], route_class=TransactionRoute, responses=PROBLEM_RESPONSES
)


@router.get("/{case_id}", response_model=CaseOut, summary="A case, its ticket and its decision")
async def get_case(
    case_id: PublicId,
    session: Session,
    principal: Annotated[Principal, Depends(require("vendor", "support", "ops", "service"))],
) -> CaseOut:
    case = await cases.get(session, case_id)
    principal.ensure_vendor(case.vendor_id)
    return await cases.view(session, case)
