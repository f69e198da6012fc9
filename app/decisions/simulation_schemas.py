from typing import Annotated, Any, Literal

from pydantic import Field

from app.api.schemas import Id
from app.decisions.schemas import DecisionResult
from app.fail_reasons.schemas import FailReasonIn
from app.payout_disputes.schemas import PayoutDisputeIn
from app.pickup_complaints.schemas import PickupComplaintIn

FactOverrides = Annotated[
    dict[str, Any],
    Field(
        default_factory=dict,
        max_length=50,
        description="Facts to use instead of the computed ones, by the names of the case "
        "type's rule table (GET /v1/rulesets), e.g. the vendor's standing. Each replaces one "
        "fact as given; nothing is derived from it again.",
        examples=[{"earlier_complaints": 2}],
    ),
]


class SimulatedPickupComplaint(PickupComplaintIn):
    """The body of POST /v1/pickup-complaints."""

    case_type: Literal["pickup_complaint"]
    facts: FactOverrides


class SimulatedFailReason(FailReasonIn):
    """The body of POST /v1/orders/{order_id}/fail-reasons, with the order id: the proposal."""

    case_type: Literal["fail_reason"]
    order_id: Id = Field(examples=["ORD-20931"])
    facts: FactOverrides


class SimulatedPayoutDispute(PayoutDisputeIn):
    """The body of POST /v1/payout-disputes: the decision the dispute opens with."""

    case_type: Literal["payout_dispute"]
    facts: FactOverrides


SimulationIn = Annotated[
    SimulatedPickupComplaint | SimulatedFailReason | SimulatedPayoutDispute,
    Field(discriminator="case_type"),
]


class SimulationOut(DecisionResult):
    case_type: str
    order_id: str | None
    vendor_id: str | None
    overridden_facts: list[str] = Field(description="The facts taken from the request.")
