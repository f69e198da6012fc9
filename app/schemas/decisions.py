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
    stage: str = Field(
        description="proposed (shown, nothing applied), interim (applied while the case still "
        "waits, e.g. a payout dispute opening) or final (applied, the case's answer)."
    )
    outcome: str | None
    actions: list[dict[str, Any]]
    rules_fired: list[str]
    ruleset_version: str
    policy: dict[str, Any]
    facts: dict[str, Any]
    decided_by: dict[str, Any]
    decided_at: datetime
    supersedes: str | None
