from datetime import datetime
from typing import Any

from pydantic import Field

from app.api.schemas import OutputModel


class EventOut(OutputModel):
    id: int
    type: str
    case_id: str | None
    order_id: str | None
    vendor_id: str | None
    decision_id: str | None
    data: dict[str, Any]
    request_id: str | None = Field(description="X-Request-ID of the request that caused it.")
    created_at: datetime


class EventPage(OutputModel):
    items: list[EventOut]
    last_id: int = Field(
        description="Id of the last item (or the given after when there is none): pass it as "
        "?after= to resume. Not the largest id: the feed is not in id order."
    )
