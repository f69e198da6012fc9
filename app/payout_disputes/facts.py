"""What the payout-dispute table sees: the claim, the vendor's answer checked against the
invoice, which amount counts as received, and how much of a shortfall pickup notes explain.

Measuring only; every choice is in rules/payout_disputes.yaml (docs/payout-disputes.md).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.errors import InvalidRequest
from app.models import Order
from app.payout_disputes.schemas import ManagerDecisionIn, PayoutDisputeIn, VendorResponseIn
from app.rules_engine import format_rupees
from app.rules_engine.engine import RulesEngine
from app.rules_engine.policy import Policy

TABLE = "payout_disputes"
# The table's class of deduction reasons a pickup note may justify a shortfall with.
VALID_DEDUCTION = "valid_deduction"
# The proof kind a payment the order system marked, with a reference, counts as.
ORDER_SYSTEM_PROOF = "order_system"
# The one kind of the vendor's evidence that proves it paid.
PAYMENT_PROOF = "payment_proof"


def disputed_amount(body: PayoutDisputeIn, invoice: int) -> int:
    if body.claim == "not_paid":
        if body.amount_received:
            raise InvalidRequest(
                "A not_paid claim received nothing; send claim paid_less with amount_received.",
                "amount_received",
            )
        if invoice == 0:
            raise InvalidRequest(
                f"Order {body.order_id} has a final invoice of 0; nothing can be unpaid.",
                "order_id",
            )
        return invoice
    if body.amount_received is None:
        raise InvalidRequest(
            "amount_received is required for a paid_less claim.", "amount_received"
        )
    if body.amount_received >= invoice:
        raise InvalidRequest(
            f"amount_received {body.amount_received} is not below the order's final invoice "
            f"{invoice} (paise): there is no shortfall to dispute.",
            "amount_received",
        )
    return invoice - body.amount_received


@dataclass(frozen=True)
class Answer:
    """The vendor's answer, checked against the invoice, and what proves its figure."""

    response: str
    vendor_paid: int
    proof: dict[str, Any] | None

    def counted(self, customer_received: int) -> int:
        """The customer's figure counts, unless the vendor proves it paid more."""
        if self.proof is not None and self.vendor_paid > customer_received:
            return self.vendor_paid
        return customer_received


def order_system_proof(order: Order, amount: int) -> dict[str, Any] | None:
    """The order system's payment, marked and with a reference, proves ``amount`` if it
    records at least that much."""
    payment = order.payment or {}
    recorded = payment.get("amount")
    if payment.get("marked") and payment.get("reference") and isinstance(recorded, int):
        if recorded >= amount:
            return {"kind": ORDER_SYSTEM_PROOF, "ref": payment["reference"]}
    return None


def answer_of(engine: RulesEngine, order: Order, invoice: int, body: VendorResponseIn) -> Answer:
    if body.deduction_reason is not None:
        if body.response != "paid_partial":
            raise InvalidRequest(
                "deduction_reason goes with response paid_partial only.", "deduction_reason"
            )
        valid = engine.tables[TABLE].codes[VALID_DEDUCTION]
        if body.deduction_reason not in valid:
            raise InvalidRequest(
                f"Unknown deduction reason '{body.deduction_reason}'. Valid reasons: "
                f"{', '.join(valid)}.",
                "deduction_reason",
            )
    paid = body.amount_paid
    if body.response == "paid_full":
        paid = invoice if paid is None else paid
        if paid < invoice:
            raise InvalidRequest(
                f"amount_paid {paid} is below the final invoice {invoice} (paise); "
                "answer paid_partial.",
                "amount_paid",
            )
    elif body.response == "paid_partial":
        if paid is None:
            raise InvalidRequest("amount_paid is required for paid_partial.", "amount_paid")
        if paid >= invoice:
            raise InvalidRequest(
                f"amount_paid {paid} is not below the final invoice {invoice} (paise); "
                "answer paid_full.",
                "amount_paid",
            )
    elif paid:
        raise InvalidRequest(
            f"{body.response} means amount_paid 0; answer paid_partial.", "amount_paid"
        )
    paid = paid or 0
    # Only a payment proof (the payment's screenshot or its UPI reference) proves a payment:
    # a bill or an app screen shows what was owed, not that it was paid. Any evidence stays
    # on the case with the answer; a payment it does not prove is not counted.
    given = body.proof
    proof = given.model_dump() if given is not None and given.kind == PAYMENT_PROOF else None
    if proof is None and body.response in ("paid_full", "paid_partial"):
        proof = order_system_proof(order, paid)
    return Answer(response=body.response, vendor_paid=paid, proof=proof)


@dataclass(frozen=True)
class Justification:
    """How much of a shortfall the order's pickup notes explain."""

    shortfall: int
    justified: int
    notes: tuple[dict[str, Any], ...]

    @property
    def unjustified(self) -> int:
        return self.shortfall - self.justified

    @property
    def whole(self) -> bool:
        """There is a shortfall and the notes cover all of it: a valid deduction."""
        return self.shortfall > 0 and self.unjustified == 0

    @property
    def reasons(self) -> str:
        return ", ".join(
            f"{note['reason']} ({format_rupees(note['amount'])})" for note in self.notes
        )


def justify(
    engine: RulesEngine, notes: Sequence[dict[str, Any]], shortfall: int, before: datetime
) -> Justification:
    """Pickup notes with a valid reason that existed before ``before`` (the dispute, or the
    payment record that shows the shortfall) justify up to the whole shortfall: a note
    written after the customer complained cannot explain it."""
    valid = engine.tables[TABLE].codes[VALID_DEDUCTION]
    justifying = tuple(
        note
        for note in notes
        if note["reason"] in valid and datetime.fromisoformat(note["recorded_at"]) < before
    )
    justified = min(shortfall, sum(note["amount"] for note in justifying))
    return Justification(shortfall=shortfall, justified=justified, notes=justifying)


def opening_facts(details: dict[str, Any], policy: Policy, event: str) -> dict[str, Any]:
    """What the table sees at a moment with no answer (opened, deadline_missed)."""
    invoice: int = details["invoice_amount"]
    received: int = details["customer_received"]
    return {
        "event": event,
        "claim": details["claim"],
        "invoice_amount": invoice,
        "disputed_amount": details["disputed_amount"],
        "customer_received": received,
        "earlier_disputes_lost": details.get("earlier_disputes_lost", 0),
        "response": "none",
        "has_proof": False,
        "proof_kind": "",
        "proof_ref": "",
        "vendor_paid": 0,
        "counted_paid": received,
        "shortfall": invoice - received,
        "justified_amount": 0,
        "justified_reasons": "",
        "shortfall_justified": False,
        "unjustified_amount": invoice - received,
        "finding": "none",
        "lift_block": False,
        "platform_name": policy.platform_name,
    }


def answer_facts(
    details: dict[str, Any],
    policy: Policy,
    answer: Answer,
    justification: Justification,
    earlier_lost: int,
) -> dict[str, Any]:
    facts = opening_facts(details, policy, "vendor_response")
    facts.update(
        earlier_disputes_lost=earlier_lost,
        response=answer.response,
        has_proof=answer.proof is not None,
        proof_kind=answer.proof["kind"] if answer.proof else "",
        proof_ref=answer.proof["ref"] if answer.proof else "",
        vendor_paid=answer.vendor_paid,
        counted_paid=details["invoice_amount"] - justification.shortfall,
        shortfall=justification.shortfall,
        justified_amount=justification.justified,
        justified_reasons=justification.reasons,
        shortfall_justified=justification.whole,
        unjustified_amount=justification.unjustified,
    )
    return facts


def finding_facts(
    details: dict[str, Any], policy: Policy, body: ManagerDecisionIn, earlier_lost: int
) -> dict[str, Any]:
    invoice: int = details["invoice_amount"]
    if body.amount_received > invoice:
        raise InvalidRequest(
            f"amount_received {body.amount_received} is above the final invoice {invoice} (paise).",
            "amount_received",
        )
    if body.finding == "vendor_at_fault" and body.amount_received == invoice:
        raise InvalidRequest(
            "The customer received the whole invoice: nothing is owed; the finding is "
            "vendor_paid_full.",
            "finding",
        )
    # The customer is told the finding: it must agree with what the manager says they got.
    if body.finding == "vendor_paid_full" and body.amount_received < invoice:
        raise InvalidRequest(
            f"A vendor that paid in full paid the whole invoice {invoice} (paise); "
            f"amount_received {body.amount_received} says it did not.",
            "amount_received",
        )
    if body.finding == "valid_deduction" and body.amount_received == invoice:
        raise InvalidRequest(
            "The customer received the whole invoice: nothing was deducted; the finding is "
            "vendor_paid_full.",
            "amount_received",
        )
    facts = opening_facts(details, policy, "manager_decision")
    facts.update(
        earlier_disputes_lost=earlier_lost,
        counted_paid=body.amount_received,
        shortfall=invoice - body.amount_received,
        unjustified_amount=invoice - body.amount_received,
        finding=body.finding,
        lift_block=body.lift_block,
    )
    return facts
