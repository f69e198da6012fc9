from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StrictBool

from app.api.schemas import Credits, Id, InputModel, OutputModel, Paise

PickupStatus = Literal["scheduled", "completed", "cancelled"]
Phone = Annotated[
    str,
    Field(
        pattern=r"^\+?[0-9]{10,15}$",
        description="Digits, optional leading +.",
        examples=["+919812345678"],
    ),
]


class Customer(InputModel):
    name: str = Field(min_length=1, max_length=200, examples=["Asha Rao"])
    phone: Phone


class Device(InputModel):
    model: str = Field(min_length=1, max_length=100, examples=["iPhone XR"])
    variant: str = Field(min_length=1, max_length=100, examples=["128GB"])


class Payment(InputModel):
    marked: StrictBool = Field(
        default=False, description="Whether the vendor marked the order paid."
    )
    amount: Paise | None = Field(default=None, description="Amount the vendor recorded paying.")
    method: str | None = Field(default=None, max_length=32, examples=["upi"])
    reference: str | None = Field(default=None, max_length=128, examples=["UPI-4821-XY"])


class PickupNote(InputModel):
    reason: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9_]+$",
        description="Condition deduction reason recorded at pickup.",
        examples=["screen_damage"],
    )
    amount: Paise
    note: str | None = Field(default=None, max_length=1000)


class OrderIn(InputModel):
    vendor_id: Id = Field(examples=["V-1001"])
    customer: Customer
    device: Device
    pickup_slot: str | None = Field(
        default=None, min_length=1, max_length=100, examples=["2026-11-21T10:00:00Z/12:00"]
    )
    unlock_credits: Credits = Field(description="Credits the vendor paid to unlock the lead.")
    quoted_amount: Paise | None = None
    final_invoice_amount: Paise
    payment: Payment = Field(default_factory=Payment)
    pickup_notes: list[PickupNote] = Field(default_factory=list, max_length=50)
    pickup_status: PickupStatus = Field(
        default="scheduled",
        description="The order system's word on the pickup. Payout disputes are taken only on "
        "a completed pickup; fail reasons only on one not completed.",
    )


class PickupNoteOut(OutputModel):
    reason: str
    amount: int
    note: str | None = None
    recorded_at: datetime = Field(description="When this service first saw the note.")


class CaseLink(OutputModel):
    id: str
    case_type: str
    status: str
    url: str


class OrderOut(OutputModel):
    id: str
    vendor_id: str
    customer: Customer
    device: Device
    pickup_slot: str | None
    unlock_credits: int
    quoted_amount: int | None
    final_invoice_amount: int
    payment: Payment
    pickup_notes: list[PickupNoteOut]
    pickup_status: PickupStatus
    status: str = Field(description="open, to_be_failed, failed, …", examples=["open"])
    cases: list[CaseLink]
    links: dict[str, str]
    created_at: datetime
    updated_at: datetime
