from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.api.deps import Principal, Session, require
from app.api.transaction import TransactionRoute
from app.repositories import events
from app.schemas.common import PROBLEM_RESPONSES
from app.schemas.events import EventOut, EventPage

router = APIRouter(
    prefix="/v1/events", tags=["events"], route_class=TransactionRoute, responses=PROBLEM_RESPONSES
)


@router.get(
    "",
    response_model=EventPage,
    summary="The outbox feed, in order, resumable from the last id seen",
)
async def get_events(
    session: Session,
    _: Annotated[Principal, Depends(require("ops", "service"))],
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="Id of the last event seen.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventPage:
    rows = await events.after(session, after, limit)
    items = [EventOut.model_validate(r) for r in rows]
    return EventPage(items=items, last_id=items[-1].id if items else after)
