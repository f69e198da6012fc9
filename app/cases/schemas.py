from datetime import datetime
from typing import Any

from pydantic import Field

from app.api.schemas import InputModel, Name, OutputModel, Text
from app.decisions.schemas import DecisionOut
from app.effects.schemas import ActionIn


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
    communication_score: int | None = Field(
        description="Satisfaction with our communication, 1 to 5; null when not asked."
    )
    comment: str | None
    given_by: str
    created_at: datetime


class TicketOut(OutputModel):
    """One shape for every case type."""

    type: str = Field(description="The case type.", examples=["payout_dispute"])
    category: str | None = Field(examples=["customer_not_paid"])
    status: str = Field(
        description="The procedures' own status: awaiting_vendor, resolved_paid, "
        "resolved_valid_deduction, resolved_paid_by_platform, escalated_pending_manager, "
        "awaiting_approval, pending_review, open, pending_resolution, failed_customer_fault, "
        "failed_vendor_fault, ...",
        examples=["awaiting_vendor"],
    )
    priority: str = Field(examples=["normal"])
    assignee_team: str | None = Field(
        description="The team the case is with: who opened it, then each escalation's team."
    )
    assignee: str | None = Field(description="The person working it (POST .../assign).")


class CaseOut(OutputModel):
    id: str
    case_type: str
    order_id: str | None
    vendor_id: str | None
    status: str
    ticket: TicketOut
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
    history: list[DecisionOut] = Field(
        description="Every decision on the case, oldest first, superseded ones included: "
        "what the rules proposed and decided, and any ops override. Each names the one it "
        "supersedes."
    )
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


class Attachment(InputModel):
    kind: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$", examples=["photo"])
    ref: str = Field(
        min_length=1, max_length=500, description="A file id or link.", examples=["file-881"]
    )


class NoteIn(InputModel):
    text: Text = Field(examples=["Called the vendor: says the customer refused the UPI ref."])
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)


class AssignIn(InputModel):
    assignee: Name | None = Field(
        description="The person who works the case now, by name; null takes it back.",
        examples=["Priya Nair"],
    )


class OverrideIn(InputModel):
    outcome: str = Field(
        min_length=1,
        max_length=48,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="The outcome ops decides: one of the case type's outcomes (GET /v1/rulesets).",
        examples=["failed_vendor_fault"],
    )
    reason: str = Field(
        min_length=1,
        max_length=2000,
        description="Why the rules' decision is replaced; kept on the decision.",
        examples=["GPS shows the vendor never reached the address."],
    )
    actions: list[ActionIn] = Field(
        default_factory=list,
        max_length=20,
        description="What the new decision does, in the action vocabulary of the rules. The "
        "superseded decision's effects are reversed first; these are then applied.",
        examples=[[{"type": "sla_strike"}, {"type": "credit_fine", "amount": 40}]],
    )
