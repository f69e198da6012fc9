from typing import Annotated, Any, Literal, Self

from pydantic import Field, ModelWrapValidatorHandler, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from app.api.schemas import Id, InputModel
from app.orders.schemas import Customer, Device

IssueCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="An issue code of rules/pickup_complaints.yaml (see GET /v1/rulesets).",
        examples=["pickup_marked_not_attempted"],
    ),
]


class Attachment(InputModel):
    kind: Literal["screenshot", "recording", "document", "other"]
    ref: str = Field(
        min_length=1,
        max_length=500,
        description="Where the file is: a URL or the file store's id.",
        examples=["https://files.example.com/complaints/7f3a.png"],
    )


class PickupComplaintIn(InputModel):
    """What support collects before escalating (procedure step 2). Every missing part is
    named in the problem's ``errors``, all at once."""

    order_id: Id | None = Field(
        default=None,
        description="The order, when this service knows it; its vendor is the complaint's.",
        examples=["ORD-20931"],
    )
    lead_id: Id | None = Field(
        default=None,
        description="The lead id the customer has, when there is no order id. At least one of "
        "order_id and lead_id is required.",
        examples=["LEAD-88412"],
    )
    vendor_id: Id | None = Field(
        default=None,
        description="The vendor, for a complaint with only a lead id; with an order it must be "
        "the order's vendor.",
        examples=["V-1001"],
    )
    customer: Customer
    device: Device
    pickup_slot: str = Field(min_length=1, max_length=100, examples=["2026-11-21T10:00:00Z/12:00"])
    issues: list[IssueCode] = Field(
        min_length=1,
        max_length=20,
        description="Every issue the customer reports; repeats are counted once.",
        examples=[["vendor_rude_late_unprofessional", "price_changed_without_explanation"]],
    )
    description: str = Field(
        min_length=1,
        max_length=5000,
        description="The customer's own account of what went wrong.",
        examples=["Vendor came 3 hours late, didn't explain price drop, and refused to cancel."],
    )
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)

    @model_validator(mode="wrap")
    @classmethod
    def _order_or_lead(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        # A plain "after" validator would only run once every field is valid, so a body
        # missing both ids and, say, the phone would be refused twice, one field at a time.
        errors: list[InitErrorDetails] = []
        model = None
        try:
            model = handler(data)
        except ValidationError as exc:
            errors = [
                {
                    "type": PydanticCustomError(e["type"], e["msg"]),
                    "loc": e["loc"],
                    "input": e["input"],
                }
                for e in exc.errors()
            ]
        if isinstance(data, dict) and data.get("order_id") is None and data.get("lead_id") is None:
            errors.append(
                {
                    "type": PydanticCustomError("missing", "Give order_id or lead_id (or both)."),
                    "loc": ("order_id",),
                    "input": None,
                }
            )
        if model is None or errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return model


class ResolveComplaintIn(InputModel):
    note: str = Field(
        min_length=1,
        max_length=2000,
        description="How CX followed the complaint up; goes on the ticket.",
        examples=["Called the customer; vendor warned and re-briefed on pickup etiquette"],
    )
