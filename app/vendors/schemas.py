from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from app.api.schemas import InputModel, OutputModel, Text


class VendorOut(OutputModel):
    id: str
    status: str = Field(description="active, on_hold, deactivation_review or deactivated.")
    new_leads_blocked: bool
    receives_new_leads: bool = Field(
        description="Whether the vendor gets new leads: only while active and not blocked."
    )
    max_leads: int
    base_max_leads: int = Field(description="What max_leads started at; restore gives it back.")
    flags: list[dict[str, Any]]
    active_strikes: int = Field(
        description="SLA strikes given in the last strike_expiry_days that nothing reversed."
    )
    credits_refunded: int = Field(description="Credits refunded to the vendor by decisions.")
    credits_deducted: int = Field(description="Credits fined by decisions.")
    created_at: datetime
    updated_at: datetime


class LedgerEntryOut(OutputModel):
    id: str
    seq: int = Field(description="The entry's place in the ledger: entries are in this order.")
    vendor_id: str
    kind: str = Field(examples=["credit_refund"])
    amount: int | None = Field(description="Paise for money, credits for credit entries.")
    decision_id: str | None
    case_id: str | None
    order_id: str | None
    details: dict[str, Any]
    settles_entry_id: str | None = Field(description="The entry this one releases or reverses.")
    created_by: str = Field(description="The key that acted (role:key_id), or rules.")
    created_by_name: str | None = Field(description="The person or system behind that key.")
    created_at: datetime


StandingAction = Literal[
    "unblock", "release_hold", "reinstate", "deactivate", "restore_max_leads", "clear_flags"
]


class StandingIn(InputModel):
    action: StandingAction = Field(
        description="unblock (lift a block on new leads), release_hold, reinstate or "
        "deactivate (conclude a deactivation review), restore_max_leads, clear_flags."
    )
    reason: Text = Field(examples=["Vendor answered; payment confirmed by the ops manager"])
