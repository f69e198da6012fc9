from datetime import datetime
from typing import Literal

from pydantic import Field

from app.api.schemas import InputModel, OutputModel, Text

PayoutStatus = Literal["pending_approval", "released", "rejected", "cancelled"]


class PayoutOut(OutputModel):
    id: str = Field(description="The ledger entry of the platform payout.")
    seq: int = Field(description="Its place in the ledger.")
    vendor_id: str
    case_id: str | None
    order_id: str | None
    decision_id: str | None
    amount: int = Field(description="Paise the platform pays the customer.")
    requires_approval: bool
    status: PayoutStatus
    decided_by_name: str | None = Field(
        default=None,
        description="The person whose decision made it (an override, a manager's finding), "
        "who may not approve it.",
    )
    settled_by: str | None = Field(description="Who approved or rejected it; null otherwise.")
    settled_by_name: str | None = None
    settled_at: datetime | None
    created_at: datetime


WalletRefundStatus = Literal["eligible", "released", "withdrawn"]


class WalletRefundOut(OutputModel):
    id: str = Field(description="The wallet_refund_eligible ledger entry; release it by this id.")
    seq: int = Field(description="Its place in the ledger.")
    vendor_id: str
    case_id: str | None
    order_id: str | None
    decision_id: str | None
    amount: int = Field(description="Paise refunded to the vendor's wallet when released.")
    status: WalletRefundStatus = Field(
        description="eligible (waits for an ops release), released, or withdrawn (a later "
        "decision reversed the one that made it)."
    )
    settled_by: str | None = Field(description="Who released it; null otherwise.")
    settled_at: datetime | None
    created_at: datetime


class PayoutApprovalIn(InputModel):
    note: str | None = Field(default=None, max_length=2000)


class PayoutRejectionIn(InputModel):
    reason: Text = Field(examples=["Customer confirmed the vendor paid in cash"])
