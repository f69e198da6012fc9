from datetime import datetime
from typing import Any

from pydantic import Field

from app.api.schemas import OutputModel


class DecisionResult(OutputModel):
    """What the rules (or ops) decided and on what grounds: a decision without its record."""

    stage: str = Field(
        description="proposed (shown, nothing applied), interim (applied while the case still "
        "waits, e.g. a payout dispute opening) or final (applied, the case's answer)."
    )
    outcome: str | None
    actions: list[dict[str, Any]]
    ticket: dict[str, str] = Field(
        description="Ticket fields the fired rules set (category, priority, assignee_team)."
    )
    rules_fired: list[str]
    ruleset_version: str
    policy: dict[str, Any]
    facts: dict[str, Any]


class DecisionOut(DecisionResult):
    id: str
    case_id: str
    case_type: str
    order_id: str | None
    vendor_id: str | None
    decided_by: dict[str, Any]
    decided_at: datetime
    supersedes: str | None
