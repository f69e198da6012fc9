"""The customer's satisfaction with a resolved case (002: "Monitor customer feedback after
dispute resolution"), once per case."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import feedback_repository as feedback
from app.cases import locks
from app.cases.feedback_schemas import FeedbackIn
from app.cases.views import CUSTOMER_FACING
from app.errors import Conflict, InvalidRequest
from app.events import service as events
from app.models import Case, CaseFeedback


async def give(session: AsyncSession, actor: str, case_id: str, body: FeedbackIn) -> Case:
    # Locked: of two simultaneous answers, the second sees the first and is refused.
    case = (await locks.lock_case(session, case_id)).case
    if case.case_type not in CUSTOMER_FACING:
        raise InvalidRequest(
            f"Case {case_id} is a {case.case_type}, which no customer raised; only "
            f"{', '.join(sorted(CUSTOMER_FACING))} cases take the customer's feedback.",
            "case_id",
            where="path",
        )
    if case.resolved_at is None:
        raise Conflict(
            f"Case {case_id} is {case.status}, not resolved; feedback is asked after resolution."
        )
    if await feedback.get(session, case.id) is not None:
        raise Conflict(f"Case {case_id} already has the customer's feedback.")
    await feedback.add(
        session,
        CaseFeedback(
            case_id=case.id,
            score=body.score,
            communication_score=body.communication_score,
            comment=body.comment,
            given_by=actor,
        ),
    )
    await events.emit(session, "case.feedback_received", case=case, score=body.score)
    return case
