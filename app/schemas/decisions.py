from datetime import datetime
from typing import Any

from pydantic import Field

from app.schemas.common import OutputModel


class DecisionOut(OutputModel):
    id: str
    case_id: str
    case_type: str
    order_id: str | None
    vendor_id: str | None
    stage: str = Field(description="proposed (shown, nothing applied) or final (applied).")
    outcome: str | None
    actions: list[dict[str, Any]]
    ticket: dict[str, str] = Field(
        description="Ticket fields the fired rules set (category, priority, assignee_team)."
    )
    rules_fired: list[str]
    ruleset_version: str
    policy: dict[str, Any]
    facts: dict[str, Any]
    decided_by: dict[str, Any]
    decided_at: datetime
    supersedes: str | None
