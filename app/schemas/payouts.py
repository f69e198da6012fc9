from datetime import datetime
from typing import Literal

from pydantic import Field

from app.schemas.common import InputModel, OutputModel, Text


class PayoutOut(OutputModel):
    id: str = Field(description="The ledger entry of the platform payout.")
    vendor_id: str
    case_id: str | None
    order_id: str | None
    decision_id: str | None
    amount: int = Field(description="Paise the platform pays the customer.")
    requires_approval: bool
    status: Literal["pending_approval", "released", "rejected", "cancelled"]
    settled_by: str | None = Field(description="Who approved or rejected it; null otherwise.")
    settled_at: datetime | None
    created_at: datetime


class PayoutApprovalIn(InputModel):
    note: str | None = Field(default=None, max_length=2000)


class PayoutRejectionIn(InputModel):
    reason: Text = Field(examples=["Customer confirmed the vendor paid in cash"])
