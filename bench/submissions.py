"""The submission kinds the load benchmark drives: one table entry each.

An entry names the endpoint (its path holds ``{id}`` or its body does, through ``ID``), the
role that submits, a body factory, and the schema that validates that body (the baseline
app validates with the same one). ``orders`` says which orders the kind needs (``open``, or
``completed`` and paid), made before timing; ``before`` is a request each order needs first
(a fail reason before its verdict, a dispute before the vendor's answer), and the kind's
requests then name the case it opened instead of the order.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from tests.factories import fail_reason_body

# Stands for the id a request names; the load script puts a fresh one there per request.
ID = "__ID__"
CUSTOMER = {"name": "Asha Rao", "phone": "+919812345678"}
DEVICE = {"model": "iPhone XR", "variant": "128GB"}
PAID = {"marked": True, "amount": 1_500_000, "method": "upi", "reference": "UPI-1"}


@dataclass(frozen=True)
class Submission:
    name: str
    path: str  # may hold {id}
    role: str
    body: Callable[[str], dict[str, Any]]  # id -> request body
    schema: str  # "module:Class" of the Pydantic model the endpoint validates with
    orders: Literal["open", "completed"] = "open"
    before: "Submission | None" = None
    case_type: str | None = None  # of the case ``before`` opens
    method: str = "POST"


FAIL_REASON = Submission(
    name="fail-reasons",
    path="/v1/orders/{id}/fail-reasons",
    role="ops",
    body=lambda _: fail_reason_body("customer_not_available"),
    schema="app.fail_reasons.schemas:FailReasonIn",
)
PAYOUT_DISPUTE = Submission(
    name="payout-disputes",
    path="/v1/payout-disputes",
    role="support",
    body=lambda order_id: {
        "order_id": order_id,
        "claim": "not_paid",
        "channel": "app",
        "customer": CUSTOMER,
        "evidence": [{"kind": "payment_proof", "ref": "UPI-4821-XY"}],
        "summary": "Customer says the payout never arrived.",
    },
    schema="app.payout_disputes.schemas:PayoutDisputeIn",
    orders="completed",
)

SUBMISSIONS = [
    FAIL_REASON,
    Submission(
        name="verdicts",
        path="/v1/fail-reviews/{id}/verdict",
        role="ops",
        body=lambda _: {"fault": "customer", "checks": ["call_logs", "vendor_gps"]},
        schema="app.fail_reasons.schemas:VerdictIn",
        before=FAIL_REASON,
        case_type="fail_reason",
    ),
    PAYOUT_DISPUTE,
    Submission(
        name="vendor-answers",
        path="/v1/payout-disputes/{id}/vendor-response",
        # Ops answers for the vendor: one key for the orders of every vendor.
        role="ops",
        body=lambda _: {
            "response": "paid_full",
            "method": "upi",
            "proof": {"kind": "payment_proof", "ref": "UPI-9"},
        },
        schema="app.payout_disputes.schemas:VendorResponseIn",
        orders="completed",
        before=PAYOUT_DISPUTE,
        case_type="payout_dispute",
    ),
    Submission(
        name="pickup-complaints",
        path="/v1/pickup-complaints",
        role="support",
        body=lambda order_id: {
            "order_id": order_id,
            "customer": CUSTOMER,
            "device": DEVICE,
            "pickup_slot": "2026-11-21T10:00:00Z/12:00",
            "issues": ["vendor_rude_late_unprofessional"],
            "description": "Vendor came three hours late and was rude.",
        },
        schema="app.pickup_complaints.schemas:PickupComplaintIn",
    ),
]
