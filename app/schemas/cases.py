from datetime import datetime
from typing import Any

from pydantic import Field

from app.schemas.common import OutputModel
from app.schemas.decisions import DecisionOut


class DeadlineOut(OutputModel):
    kind: str = Field(examples=["vendor_response"])
    due_at: datetime
    outcome: str | None = Field(description="met, missed, or null while it runs.")
    settled_at: datetime | None


class CaseOut(OutputModel):
    id: str
    case_type: str
    order_id: str | None
    vendor_id: str | None
    status: str
    ticket: dict[str, Any]
    details: dict[str, Any]
    deadlines: list[DeadlineOut] = Field(description="Every clock of the case, by due time.")
    vendor_response_due_at: datetime | None = Field(
        default=None,
        description="The contract's deadlines.vendor_response_due_at: when the vendor's answer "
        "to a payout dispute is due (also in `deadlines`, kind vendor_response).",
    )
    escalations: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    decision: DecisionOut | None = Field(description="The current decision.")
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
