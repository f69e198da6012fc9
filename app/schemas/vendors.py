from datetime import datetime
from typing import Any

from pydantic import Field

from app.schemas.common import InputModel, OutputModel, Text


class VendorOut(OutputModel):
    id: str
    status: str = Field(description="active, on_hold, deactivation_review or deactivated.")
    new_leads_blocked: bool
    max_leads: int
    flags: list[dict[str, Any]]
    active_strikes: int
    credits_refunded: int = Field(description="Credits refunded to the vendor by decisions.")
    credits_deducted: int = Field(description="Credits fined by decisions.")
    created_at: datetime
    updated_at: datetime


class LedgerEntryOut(OutputModel):
    id: str
    vendor_id: str
    kind: str = Field(examples=["credit_refund"])
    amount: int | None = Field(description="Paise for money, credits for credit entries.")
    decision_id: str | None
    case_id: str | None
    order_id: str | None
    details: dict[str, Any]
    settles_entry_id: str | None = Field(description="The entry this one releases or reverses.")
    created_by: str
    created_at: datetime


class UnblockIn(InputModel):
    reason: Text = Field(examples=["Vendor answered; payment confirmed by the ops manager"])
