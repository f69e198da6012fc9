"""Payout disputes: the customer's claim, the vendor's answer or its silence, the outcome.

Every choice is in rules/payout_disputes.yaml; this module measures the facts the table
reads, applies the decision through effects, and keeps the case, its ticket and its
vendor-response clock in step with the outcome.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.ids import new_id
from app.models import Case, Deadline, Decision, Order, Vendor
from app.repositories import cases, clock, deadlines, orders, vendors
from app.rules_engine import RulesError, format_rupees
from app.rules_engine.engine import RulesEngine
from app.rules_engine.policy import Policy
from app.schemas.payout_disputes import PayoutDisputeIn, VendorResponseIn
from app.services import decisions, effects, events
from app.services.cases import VENDOR_RESPONSE, open_case, resolve
from app.services.cases import get as get_case
from app.services.errors import Conflict, InvalidRequest, NotFound

CASE_TYPE = "payout_dispute"
TABLE = "payout_disputes"
AWAITING = "awaiting_vendor"
# The table's class of deduction reasons a pickup note may justify a shortfall with.
VALID_DEDUCTION = "valid_deduction"
# The case's status after an outcome; every other outcome resolves the case. The ticket
# carries the outcome itself.
CASE_STATUS = {AWAITING: AWAITING, "escalated_pending_manager": "escalated"}


@dataclass(frozen=True)
class Answer:
    """The vendor's answer, checked against the invoice."""

    response: str
    amount_paid: int
    proof: dict[str, Any] | None


def _percent(amount: int, percent: int) -> int:
    # Money stays integer paise: a fraction of a paisa is not fined.
    return amount * percent // 100


def _disputed_amount(body: PayoutDisputeIn, invoice: int) -> int:
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


def _answer(engine: RulesEngine, invoice: int, body: VendorResponseIn) -> Answer:
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
        raise InvalidRequest("not_paid means amount_paid 0; answer paid_partial.", "amount_paid")
    proof = body.proof.model_dump() if body.proof else None
    return Answer(response=body.response, amount_paid=paid or 0, proof=proof)


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


def facts_of(
    details: dict[str, Any],
    policy: Policy,
    event: str,
    answer: Answer | None = None,
    justification: Justification | None = None,
) -> dict[str, Any]:
    """What the table sees at one moment of a dispute whose case details are ``details``."""
    invoice: int = details["invoice_amount"]
    facts: dict[str, Any] = {
        "event": event,
        "claim": details["claim"],
        "invoice_amount": invoice,
        "disputed_amount": details["disputed_amount"],
        "earlier_disputes": details["earlier_disputes"],
        "response": "none",
        "has_proof": False,
        "proof_kind": "",
        "proof_ref": "",
        "amount_paid": 0,
        "shortfall": 0,
        "justified_amount": 0,
        "justified_reasons": "",
        "shortfall_justified": False,
        "unjustified_amount": 0,
        "shortfall_fine": 0,
        "invoice_fine": _percent(invoice, policy.shortfall_fine_percent),
    }
    if answer is None or justification is None:
        return facts
    facts.update(
        response=answer.response,
        has_proof=answer.proof is not None,
        proof_kind=answer.proof["kind"] if answer.proof else "",
        proof_ref=answer.proof["ref"] if answer.proof else "",
        amount_paid=answer.amount_paid,
        shortfall=justification.shortfall,
        justified_amount=justification.justified,
        justified_reasons=justification.reasons,
        shortfall_justified=justification.whole,
        unjustified_amount=justification.unjustified,
        shortfall_fine=_percent(justification.unjustified, policy.shortfall_fine_percent),
    )
    return facts


async def _decide(
    session: AsyncSession,
    engine: RulesEngine,
    case: Case,
    facts: dict[str, Any],
    decided_by: dict[str, Any],
) -> Decision:
    decision = await decisions.decide(
        session,
        engine,
        case,
        table=TABLE,
        stage="final",
        waiting_outcomes=(AWAITING,),
        decided_by=decided_by,
        facts=facts,
    )
    if decision.outcome is None:
        # Every event and answer has a row in the table; a gap is a broken table, not input.
        raise RulesError(f"{TABLE}: no rule set an outcome for {facts}")
    return decision


async def _conclude(session: AsyncSession, case: Case, outcome: str, now: datetime) -> None:
    if outcome not in CASE_STATUS:
        await resolve(session, case, outcome, now)
        return
    case.ticket = {**case.ticket, "status": outcome}
    case.status = CASE_STATUS[outcome]


async def order_of(
    session: AsyncSession, body: PayoutDisputeIn, *, lock_vendor: bool = False
) -> tuple[Order, Vendor]:
    found = await orders.with_vendor(session, body.order_id, lock="vendor" if lock_vendor else None)
    if found is None:
        raise InvalidRequest(
            f"No order {body.order_id}; the order system must PUT it first.", "order_id"
        )
    return found


async def opening(
    session: AsyncSession, policy: Policy, order: Order, body: PayoutDisputeIn
) -> dict[str, Any]:
    """The details a dispute opens with: what the claim is worth and the vendor's dispute
    history (counted up to this statement: call it under the vendor's lock when the count
    must be exact)."""
    disputed = _disputed_amount(body, order.final_invoice_amount)
    earlier = await cases.count_earlier_for_vendor(
        session,
        order.vendor_id,
        CASE_TYPE,
        window=timedelta(days=policy.repeat_window_days),
    )
    return {
        **body.model_dump(mode="json"),
        "invoice_amount": order.final_invoice_amount,
        "disputed_amount": disputed,
        "earlier_disputes": earlier,
    }


async def open_dispute(
    session: AsyncSession, engine: RulesEngine, actor: str, body: PayoutDisputeIn
) -> Case:
    policy = engine.policy
    # The vendor is locked first: its dispute history is counted, and the order's open
    # dispute checked, under its lock.
    order, vendor = await order_of(session, body, lock_vendor=True)
    details = await opening(session, policy, order, body)
    existing = await cases.open_of_type_for_order(session, order.id, CASE_TYPE)
    if existing is not None:
        raise Conflict(f"Order {order.id} already has an open payout dispute, {existing.id}.")
    case = Case(
        id=new_id("case"),
        case_type=CASE_TYPE,
        order_id=order.id,
        vendor_id=vendor.id,
        status=AWAITING,
        ticket={
            "type": CASE_TYPE,
            "status": AWAITING,
            "priority": "normal",
            "assignee_team": "ops",
        },
        details={**details, "opened_by": actor, "vendor_responses": []},
        reason=body.claim,
    )
    now = await open_case(
        session,
        case,
        policy,
        claim=body.claim,
        disputed_amount=details["disputed_amount"],
        channel=body.channel,
    )
    await deadlines.add(
        session,
        Deadline(
            id=new_id("dl"),
            case_id=case.id,
            kind=VENDOR_RESPONSE,
            due_at=now + timedelta(hours=policy.vendor_response_hours),
        ),
    )
    decision = await _decide(
        session,
        engine,
        case,
        facts_of(case.details, policy, "opened"),
        {"kind": "rules", "opened_by": actor},
    )
    await effects.apply(session, decision, case, vendor)
    # Whatever the rules sent to a manager at once is urgent for the ops team too.
    if case.escalations:
        case.ticket = {**case.ticket, "priority": "high"}
    return case


async def respond(
    session: AsyncSession, engine: RulesEngine, actor: str, case: Case, body: VendorResponseIn
) -> Case:
    """The vendor's answer; ``case`` is the dispute as read, unlocked, by the caller."""
    if case.case_type != CASE_TYPE or case.vendor_id is None:
        raise NotFound(f"No payout dispute {case.id}.")
    answer = _answer(engine, case.details["invoice_amount"], body)
    vendor = await vendors.lock(session, case.vendor_id)
    case = await get_case(session, case.id, for_update=True)
    if case.status != AWAITING:
        raise Conflict(
            f"Payout dispute {case.id} is already decided: {case.ticket['status']} "
            f"(decision {case.current_decision_id})."
        )
    now = await clock.now(session)
    deadline = await deadlines.running(session, case.id, VENDOR_RESPONSE)
    if deadline is None or deadline.due_at <= now:
        # None: a watcher has claimed the clock and is escalating right now.
        raise Conflict(
            f"The vendor's answer to payout dispute {case.id} was due"
            + (f" at {deadline.due_at.isoformat()}" if deadline else "")
            + "; the dispute goes to the ops manager."
        )
    assert case.order_id is not None  # disputes are opened against an order
    order = await orders.get(session, case.order_id)
    assert order is not None  # orders are never deleted
    justification = justify(
        engine,
        order.pickup_notes,
        max(0, case.details["invoice_amount"] - answer.amount_paid),
        before=case.created_at,
    )
    decision = await _decide(
        session,
        engine,
        case,
        facts_of(case.details, engine.policy, "vendor_response", answer, justification),
        {"kind": "rules", "answered_by": actor},
    )
    await effects.apply(session, decision, case, vendor)
    answered = {
        **body.model_dump(mode="json"),
        "amount_paid": answer.amount_paid,
        "by": actor,
        "at": now.isoformat(),
        "decision_id": decision.id,
    }
    case.details = {
        **case.details,
        "vendor_responses": [*case.details["vendor_responses"], answered],
    }
    assert decision.outcome is not None  # checked by _decide
    if decision.outcome != AWAITING:
        deadline.settle("met", now)
    await _conclude(session, case, decision.outcome, now)
    return case


async def vendor_response_missed(
    session: AsyncSession, engine: RulesEngine, deadline: Deadline, watcher: str
) -> bool:
    """Fires a claimed vendor-response deadline: no final answer came in time. Returns False
    when the dispute had moved on and the clock was only cancelled."""
    unlocked = await get_case(session, deadline.case_id)
    assert unlocked.vendor_id is not None  # disputes always have a vendor
    vendor = await vendors.lock(session, unlocked.vendor_id)
    case = await get_case(session, deadline.case_id, for_update=True)
    now = await clock.now(session)
    if case.status != AWAITING:
        deadline.settle("cancelled", now)
        return False
    decision = await _decide(
        session,
        engine,
        case,
        facts_of(case.details, engine.policy, "deadline_missed"),
        {"kind": "rules", "trigger": "deadline_missed", "deadline_id": deadline.id, "by": watcher},
    )
    await effects.apply(session, decision, case, vendor)
    deadline.settle("missed", now)
    await events.emit(
        session,
        "deadline.missed",
        case=case,
        kind=deadline.kind,
        due_at=deadline.due_at.isoformat(),
    )
    assert decision.outcome is not None  # checked by _decide
    await _conclude(session, case, decision.outcome, now)
    return True
