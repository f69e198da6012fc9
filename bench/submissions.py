"""The submission kinds the load benchmark drives: one table entry each.

An entry names the endpoint (its path holds ``{order_id}`` or its body does, through
``ORDER_ID``), the role that submits, a body factory, the schema that validates that body
(the baseline app validates with the same one), and the order each submission needs, put
through the API before timing. A kind whose endpoint the running service answers with
404 or 405 is skipped, so a kind can be listed here before the service serves it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.factories import fail_reason_body, order_body

# Stands for the order's id in a body; the load script puts a fresh id there per request.
ORDER_ID = "__ORDER_ID__"
CUSTOMER = {"name": "Asha Rao", "phone": "+919812345678"}
DEVICE = {"model": "iPhone XR", "variant": "128GB"}


@dataclass(frozen=True)
class Submission:
    name: str
    path: str  # may hold {order_id}
    role: str
    body: Callable[[str], dict[str, Any]]  # order id -> request body
    schema: str  # "module:Class" of the Pydantic model the endpoint validates with
    order: Callable[[str], dict[str, Any]] = field(default=lambda vendor_id: order_body(vendor_id))
    method: str = "POST"


SUBMISSIONS = [
    Submission(
        name="fail-reasons",
        path="/v1/orders/{order_id}/fail-reasons",
        role="ops",
        body=lambda _: fail_reason_body("customer_not_available"),
        schema="app.fail_reasons.schemas:FailReasonIn",
    ),
    Submission(
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
        order=lambda vendor_id: order_body(
            vendor_id,
            payment={"marked": True, "amount": 1_500_000, "method": "upi", "reference": "UPI-1"},
        ),
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
