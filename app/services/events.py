"""Writes to the outbox, in the caller's transaction."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Case, Event
from app.observability.context import request_id
from app.repositories import events


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
