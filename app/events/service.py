"""The outbox: written in the caller's transaction, read as a feed in commit-safe order."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidRequest
from app.events import repository as events
from app.models import Case, Event
from app.observability.context import request_id


async def emit(
    session: AsyncSession,
    type: str,
    *,
    case: Case | None = None,
    case_id: str | None = None,
    order_id: str | None = None,
    vendor_id: str | None = None,
    decision_id: str | None = None,
    **data: Any,
) -> None:
    await events.add(
        session,
        Event(
            type=type,
            case_id=case.id if case else case_id,
            order_id=order_id or (case.order_id if case else None),
            vendor_id=vendor_id or (case.vendor_id if case else None),
            decision_id=decision_id or (case.current_decision_id if case else None),
            data=data,
            request_id=request_id.get(),
        ),
    )


async def feed(session: AsyncSession, after: int, limit: int) -> Sequence[Event]:
    """Events after the one with id ``after`` (0: from the start), in feed order.

    Feed order is by writing transaction, then id, not by id alone: ids are taken at insert
    time but transactions commit in any order, so an id below the last one served could
    still appear. Resuming needs the event's own position, hence a known id.
    """
    if after == 0:
        return await events.after(session, None, limit)
    xid = await events.position(session, after)
    if xid is None:
        raise InvalidRequest(
            f"No event {after}; pass the id of the last event received, or 0.", "after", "query"
        )
    return await events.after(session, (xid, after), limit)
