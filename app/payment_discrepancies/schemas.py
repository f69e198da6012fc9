from typing import Literal

from pydantic import Field

from app.api.schemas import Id, InputModel, OutputModel, PositivePaise, Text, Timestamp

MAX_RECORDS = 10_000

RecordStatus = Literal["succeeded", "failed", "refunded", "charged_back"]
Direction = Literal["to_customer", "from_customer"]
DiscrepancyType = Literal[
    "transaction_failure",
    "partial_payment",
    "overpayment",
    "double_charge",
    "refund_issue",
    "chargeback",
]


class PaymentRecordIn(InputModel):
    order_id: Id = Field(examples=["ORD-20931"])
    reference: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[!-~]+$",
        description="The payment gateway's id of the transaction; it identifies the record.",
        examples=["pay_29QQoUBi66xm2f"],
    )
    amount: PositivePaise
    status: RecordStatus = Field(
        description="succeeded, failed, refunded (this amount went back to the payer) or "
        "charged_back (the customer reversed it through the bank)."
    )
    direction: Direction = Field(
        description="to_customer: the customer is paid for the phone; from_customer: the "
        "customer pays. Both are compared with the order's final invoice."
    )
    occurred_at: Timestamp


class PaymentRecordsIn(InputModel):
    records: list[PaymentRecordIn] = Field(min_length=1, max_length=MAX_RECORDS)


class OpenedCase(OutputModel):
    id: str
    case_type: str = Field(examples=["payment_discrepancy"])
    discrepancy_type: DiscrepancyType | None = Field(
        description="For a payment_discrepancy; null for a payout_dispute."
    )
    order_id: str
    references: list[str] = Field(description="The new records that showed it.")
    url: str


class UnmatchedRecord(OutputModel):
    reference: str
    order_id: str


class ReconciliationOut(OutputModel):
    received: int = Field(description="Records in the request.")
    new: int = Field(description="Records stored now and compared with their orders.")
    already_known: int = Field(description="References stored before: nothing is reopened.")
    unmatched: int = Field(
        description="Records for orders the order system has not sent: not stored, so they "
        "can be sent again once the order exists."
    )
    cases: list[OpenedCase] = Field(description="Cases this request opened.")
    unmatched_records: list[UnmatchedRecord]


class ResolveDiscrepancyIn(InputModel):
    note: Text = Field(
        description="What was done (the refund, the corrected invoice, the reprocessed "
        "payment); goes on the ticket.",
        examples=["Refunded ₹250 by UPI, ref RF-1182"],
    )
