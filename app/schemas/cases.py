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
    deadlines: list[DeadlineOut]
    escalations: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    decision: DecisionOut | None = Field(description="The current decision.")
    history: list[DecisionOut] = Field(
        description="Every decision on the case, oldest first, superseded ones included: "
        "what the rules proposed and decided, and any ops override. Each names the one it "
        "supersedes."
    )
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
