from datetime import datetime
from typing import Any

from pydantic import Field

from app.schemas.common import OutputModel
from app.schemas.decisions import DecisionOut


class DeadlineOut(OutputModel):
    kind: str = Field(
        description="vendor_response (a payout dispute's vendor answer) or resolution (every "
        "case).",
        examples=["resolution"],
    )
    due_at: datetime
    outcome: str | None = Field(
        description="met, missed (a breach), cancelled (no longer awaited), or null while it runs."
    )
    settled_at: datetime | None


class FeedbackOut(OutputModel):
    score: int = Field(description="1 (very unhappy) to 5 (very happy).")
    comment: str | None
    given_by: str
    created_at: datetime


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
    resolution_due_at: datetime | None = Field(
        default=None,
        description="When the case should be resolved by (policy resolution_hours after it "
        "opened; also in `deadlines`, kind resolution). Past it, unresolved, the case is "
        "breached and escalated to the ops manager.",
    )
    escalations: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    decision: DecisionOut | None = Field(description="The current decision.")
    feedback: FeedbackOut | None = Field(
        default=None, description="The customer's satisfaction, given after resolution."
    )
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None = Field(
        default=None,
        description="When the customer was told the case is being handled (customer-facing "
        "cases; target: within policy first_response_hours of opening).",
    )
    resolved_at: datetime | None
