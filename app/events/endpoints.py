from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.api.deps import Principal, Session, require
from app.api.roles import Right
from app.api.transaction import TransactionRoute
from app.events import service as events
from app.events.schemas import EventOut, EventPage

router = APIRouter(prefix="/v1/events", tags=["events"], route_class=TransactionRoute)


@router.get(
    "",
    response_model=EventPage,
    summary="The outbox feed, in order, resumable from the last id seen",
    description="Events in the order their transactions can no longer change: by writing "
    "transaction, then id. Ids are unique but not always increasing along the feed. Pass the "
    "last event's id (`last_id`) as `after` to resume: no event is skipped or repeated, even "
    "when writers commit out of order. An event appears once its own transaction, and every "
    "transaction that began writing before it, has finished.",
)
async def get_events(
    session: Session,
    _: Annotated[Principal, Depends(require(Right.WATCH))],
    after: Annotated[
        int,
        Query(ge=0, le=2**63 - 1, description="Id of the last event received; 0 from the start."),
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventPage:
    rows = await events.feed(session, after, limit)
    items = [EventOut.model_validate(r) for r in rows]
    return EventPage(items=items, last_id=items[-1].id if items else after)
