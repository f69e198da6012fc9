from typing import Literal

from pydantic import Field, StrictBool

from app.api.schemas import InputModel, Paise
from app.fail_reasons.codes import FailReasonCode

Check = Literal[
    "call_logs", "customer_statement", "vendor_gps", "inspection_entry", "chat_ticket_reports"
]


class FailReasonIn(InputModel):
    reason: FailReasonCode = Field(
        description="A fail reason code of rules/fail_reasons.yaml.",
        examples=["customer_not_available"],
    )
    explanation: str = Field(
        min_length=1,
        max_length=1000,
        description="The vendor's short explanation.",
        examples=["Waited 40 minutes at the door; customer did not answer calls."],
    )
    vendor_paid_customer: StrictBool = Field(
        default=False, description="The vendor had already paid the customer before failing."
    )
    amount_paid_to_customer: Paise | None = Field(
        default=None,
        description="What the vendor paid; defaults to the order's recorded payment amount.",
    )


class VerdictIn(InputModel):
    fault: Literal["customer", "vendor"] = Field(description="Who ops found at fault.")
    reason: FailReasonCode | None = Field(
        default=None,
        description="The reason code ops found; required when it differs from the vendor's "
        "(e.g. a customer-side code the vendor gave, but the vendor is at fault).",
        examples=["vendor_not_visiting"],
    )
    checks: list[Check] = Field(
        min_length=1,
        description="What ops verified before deciding (procedure step 2).",
        examples=[["call_logs", "vendor_gps"]],
    )
    vendor_paid_customer: StrictBool | None = Field(
        default=None,
        description="What ops confirmed: the vendor had paid the customer before failing. "
        "Required when the vendor said it had; the vendor's word alone makes no wallet refund "
        "eligible.",
    )
    amount_paid_to_customer: Paise | None = Field(
        default=None,
        description="How much ops confirmed the vendor paid (defaults to the vendor's figure).",
    )
    note: str | None = Field(default=None, max_length=2000)


class WalletReleaseIn(InputModel):
    note: str | None = Field(default=None, max_length=2000)
