from typing import Annotated

from fastapi import APIRouter, Depends

from app.api.deps import Principal, Session, require
from app.api.transaction import TransactionRoute
from app.schemas.common import PROBLEM_RESPONSES, PublicId
from app.schemas.decisions import DecisionOut
from app.services import decisions

router = APIRouter(
    prefix="/v1/decisions",
    tags=["decisions"],
    route_class=TransactionRoute,
    responses=PROBLEM_RESPONSES,
)


@router.get("/{decision_id}", response_model=DecisionOut, summary="A whole decision record")
async def get_decision(
    decision_id: PublicId,
    session: Session,
    principal: Annotated[Principal, Depends(require("vendor", "support", "ops", "service"))],
) -> DecisionOut:
    decision = await decisions.get(session, decision_id)
    principal.ensure_vendor(decision.vendor_id)
    return DecisionOut.model_validate(decision)
