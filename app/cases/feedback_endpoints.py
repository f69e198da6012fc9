from typing import Annotated

from fastapi import APIRouter, Depends

from app.api.deps import Principal, Session, require
from app.api.roles import Right
from app.api.schemas import PublicId
from app.api.transaction import TransactionRoute
from app.cases import feedback
from app.cases import views as cases
from app.cases.feedback_schemas import FeedbackIn
from app.cases.schemas import CaseOut

router = APIRouter(
    prefix="/v1/cases",
    tags=["cases"],
    route_class=TransactionRoute,
)


@router.post(
    "/{case_id}/feedback",
    status_code=201,
    response_model=CaseOut,
    summary="The customer's satisfaction with a resolved case, once",
)
async def post_feedback(
    case_id: PublicId,
    body: FeedbackIn,
    session: Session,
    principal: Annotated[Principal, Depends(require(Right.GIVE_FEEDBACK))],
) -> CaseOut:
    case = await feedback.give(session, principal.actor, case_id, body)
    return await cases.view(session, case)
