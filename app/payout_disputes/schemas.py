from typing import Literal

from pydantic import Field, StrictBool

from app.api.schemas import Id, InputModel, Paise, Text
from app.orders.schemas import Customer

Claim = Literal["not_paid", "paid_less"]
# reconciliation: the service opened the dispute itself, from a payment record below the
# invoice (POST /v1/payment-records).
Channel = Literal["app", "whatsapp", "support", "reconciliation"]
RECONCILIATION = "reconciliation"
EvidenceKind = Literal["payment_proof", "bill_screenshot", "app_screen", "other"]
VendorAnswer = Literal["paid_full", "paid_partial", "not_paid", "denies"]
Finding = Literal["vendor_paid_full", "valid_deduction", "vendor_at_fault"]


class Evidence(InputModel):
    kind: EvidenceKind
    ref: str = Field(
        min_length=1,
        max_length=500,
        description="Where it is: a file id, a link, or a payment reference such as a UPI ref.",
        examples=["UPI-4821-XY"],
    )


class PayoutDisputeIn(InputModel):
    order_id: Id = Field(examples=["ORD-20931"])
    claim: Claim = Field(
        description="not_paid: nothing received; paid_less: less than the final invoice."
    )
    amount_received: Paise | None = Field(
        default=None,
        description="What the customer received; required for paid_less, and must be below "
        "the order's final invoice.",
    )
    channel: Channel = Field(
        description="Where the customer raised it; reconciliation: the service opened it from "
        "a payment record below the invoice."
    )
    customer: Customer
    evidence: list[Evidence] = Field(default_factory=list, max_length=20)
    summary: Text = Field(examples=["Customer claims no payment received"])


class VendorResponseIn(InputModel):
    response: VendorAnswer = Field(
        description="paid_full, paid_partial (amount_paid below the invoice), not_paid, or "
        "denies (the vendor denies the claim: the dispute goes to the ops manager at once)."
    )
    amount_paid: Paise | None = Field(
        default=None,
        description="What the vendor paid the customer. Required for paid_partial (below the "
        "invoice); paid_full defaults to the invoice; not_paid means 0.",
    )
    method: str | None = Field(default=None, min_length=1, max_length=32, examples=["upi"])
    proof: Evidence | None = Field(
        default=None, description="Proof of payment; paid_full without it asks for proof."
    )
    deduction_reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Why the vendor paid less (paid_partial only): screen_damage, body_damage, "
        "different_model, missing_accessories, battery_issue or functional_defect. Only pickup "
        "notes recorded before the dispute justify a deduction.",
        examples=["screen_damage"],
    )


class ManagerDecisionIn(InputModel):
    """The ops manager ends an escalated dispute; decided by the same table."""

    finding: Finding = Field(
        description="What the manager found: the vendor paid in full, the deduction is valid, "
        "or the vendor is at fault (the platform pays what the customer is owed)."
    )
    amount_received: Paise = Field(
        description="What the customer received from the vendor, paise. Never below what the "
        "customer itself said it received; the whole invoice for vendor_paid_full, less for "
        "the other findings.",
        examples=[0],
    )
    lift_block: StrictBool = Field(
        description="Lift the block on new leads the escalation put on the vendor."
    )
    note: Text | None = Field(default=None, examples=["Called the vendor; no payment made."])
