"""Payout disputes: the customer's claim, the vendor's answer or its silence, the ops
manager's finding, finance's approval. One case type (docs/payout-disputes.md).

    awaiting_vendor --answer--> resolved | awaiting_approval (a payout waits for finance)
                    --denies, or no answer in time--> escalated --manager--> resolved | ...
    awaiting_approval --approved--> resolved
                      --rejected--> escalated (the ops manager decides again)

Every choice is in rules/payout_disputes.yaml; this module measures the facts the table
reads (app.payout_disputes.facts) and hands each decision to app.cases.deciding. The ops
manager's finding is app.payout_disputes.manager.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import deadline_repository as deadlines
from app.cases import locks
from app.cases import repository as cases
from app.cases.case_type import CaseType, Fire, Simulated, Stage, Status
from app.cases.deciding import RULES, Actor, Authorize, anyone, decide, evaluate
from app.cases.lifecycle import VENDOR_RESPONSE, open_case
from app.cases.locks import Locked
from app.db import clock
from app.decisions import service as decisions
from app.effects.guard import Decider
from app.errors import Conflict, InvalidRequest
from app.events import service as events
from app.ids import new_id
from app.models import Case, Deadline, LedgerEntry, Order
from app.orders import service as order_service
from app.payout_disputes.facts import (
    TABLE,
    answer_facts,
    answer_of,
    disputed_amount,
    justify,
    opening_facts,
)
from app.payout_disputes.schemas import PayoutDisputeIn, VendorResponseIn
from app.rules_engine.engine import Evaluation, RulesEngine

# Outcomes a dispute is lost by: decided against the vendor. A dispute the vendor won (paid
# in full, a valid deduction) does not make it a repeat offender.
LOST = ("resolved_paid_by_platform", "escalated_pending_manager")


class PayoutDisputes(CaseType):
    name = "payout_dispute"
    table = TABLE
    customer_facing = True
    opens_as = Status.AWAITING_VENDOR
    waiting = {
        "awaiting_vendor": Status.AWAITING_VENDOR,
        "escalated_pending_manager": Status.ESCALATED,
    }
    paying_outcomes = frozenset({"resolved_paid_by_platform"})
    waits_for = {
        Status.AWAITING_VENDOR: "the vendor's answer, within vendor_response_hours",
        Status.ESCALATED: "the ops manager's decision",
        Status.AWAITING_APPROVAL: "the finance manager's approval of the payout",
    }

    def clocks(self) -> Mapping[str, Fire]:
        return {VENDOR_RESPONSE: vendor_response_missed}

    async def simulate(self, session: AsyncSession, engine: RulesEngine, body: Any) -> Simulated:
        """The decision the dispute opens with."""
        order, _ = await order_service.named_in_body(session, body.order_id)
        details = await opening(session, order, body)
        return Simulated(
            opening_facts(details, engine.policy, "opened"),
            Stage.INTERIM,
            order.id,
            order.vendor_id,
        )

    async def payout_rejected(
        self,
        session: AsyncSession,
        engine: RulesEngine,
        locked: Locked,
        payout: LedgerEntry,
        reason: str | None,
        actor: Actor,
    ) -> None:
        await payout_rejected(session, engine, locked, payout, reason, actor)


CASE = PayoutDisputes()
CASE_TYPE = CASE.name


# Answers kept on an escalated dispute for the ops manager, at most.
MAX_LATE_ANSWERS = 20


async def lost_before(session: AsyncSession, engine: RulesEngine, case: Case) -> int:
    """The vendor's disputes lost within the repeat window, this one aside."""
    assert case.vendor_id is not None  # a dispute's order names its vendor
    return await cases.count_lost_by_vendor(
        session,
        case.vendor_id,
        CASE_TYPE,
        LOST,
        window=timedelta(days=engine.policy.repeat_window_days),
        excluding=case.id,
    )


async def admit(session: AsyncSession, order: Order) -> None:
    """A dispute is taken on a completed pickup not failed here and not yet made whole;
    otherwise 409 naming the reason and the earlier case. Call under the vendor's lock."""
    if order.pickup_status != "completed":
        raise Conflict(
            f"Order {order.id}'s pickup is {order.pickup_status}, not completed: a payout "
            "can only be disputed once the order system records the pickup as completed."
        )
    if order.status != "open":
        failing = await cases.of_type_for_order(session, order.id, "fail_reason")
        named = f" (case {failing[-1].id})" if failing else ""
        raise Conflict(
            f"Order {order.id} is {order.status} here{named}: a failed pickup has no payout "
            "to dispute."
        )
    for earlier in reversed(await cases.of_type_for_order(session, order.id, CASE_TYPE)):
        if earlier.status != Status.RESOLVED:
            raise Conflict(
                f"Order {order.id} already has an open payout dispute, {earlier.id} "
                f"({earlier.status})."
            )
        raise Conflict(
            f"Order {order.id} was already made whole by payout dispute {earlier.id} "
            f"({earlier.outcome}); to change that decision, override case {earlier.id}."
        )


async def opening(session: AsyncSession, order: Order, body: PayoutDisputeIn) -> dict[str, Any]:
    """The details a dispute opens with: what the claim is worth."""
    disputed = disputed_amount(body, order.final_invoice_amount)
    return {
        **body.model_dump(mode="json"),
        "invoice_amount": order.final_invoice_amount,
        "disputed_amount": disputed,
        "customer_received": body.amount_received or 0,
    }


async def open_dispute(
    session: AsyncSession, engine: RulesEngine, actor: Actor, body: PayoutDisputeIn
) -> Case:
    found = await locks.lock_order(session, body.order_id)
    if found is None:
        raise InvalidRequest(
            f"No order {body.order_id}; the order system must PUT it first.", "order_id"
        )
    order, vendor = found
    details = await opening(session, order, body)
    await admit(session, order)
    case = Case(
        id=new_id("case"),
        case_type=CASE_TYPE,
        order_id=order.id,
        vendor_id=vendor.id,
        status=CASE.opens_as.value,
        category="customer_not_paid" if body.claim == "not_paid" else "less_paid",
        ticket_status=CASE.opens_as.value,
        priority="normal",
        assignee_team="ops",
        details={**details, "opened_by": actor.key, "vendor_responses": []},
        reason=body.claim,
    )
    now = await open_case(
        session,
        engine,
        case,
        CASE,
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
            due_at=now + timedelta(hours=engine.policy.vendor_response_hours),
        ),
    )
    facts = opening_facts(case.details, engine.policy, "opened")
    await decide_dispute(
        session, engine, Locked(case, vendor, order), facts, {"kind": "rules", **actor.recorded()}
    )
    # Whatever the rules sent to a manager at once is urgent for the ops team too.
    if case.escalations:
        case.priority = "high"
    return case


async def decide_dispute(
    session: AsyncSession,
    engine: RulesEngine,
    locked: Locked,
    facts: dict[str, Any],
    decided_by: dict[str, Any],
    *,
    decider: Decider = Decider("rules"),
    actor: Actor = RULES,
    evaluation: Evaluation | None = None,
) -> None:
    """The dispute's table decides ``facts`` (or ``evaluation`` already made of them), and
    what the customer received by them is what the money gate checks payouts against."""
    evaluation = evaluation or evaluate(engine, TABLE, facts)
    if evaluation.outcome is None:
        # Every moment of a dispute has a row in the table; a gap is a broken table.
        raise RuntimeError(f"{TABLE}: no rule set an outcome for {facts}")
    await decide(
        session,
        engine,
        locked,
        CASE,
        evaluation,
        facts=facts,
        decided_by=decided_by,
        decider=decider,
        actor=actor,
        received=facts["counted_paid"],
    )


@dataclass(frozen=True)
class Answered:
    case: Case
    # False: the dispute was with the ops manager; the answer is kept for the manager.
    decided: bool


async def respond(
    session: AsyncSession,
    engine: RulesEngine,
    actor: Actor,
    case_id: str,
    body: VendorResponseIn,
    authorize: Authorize = anyone,
) -> Answered:
    """The vendor's answer to a dispute that waits for it."""
    locked = await locks.lock_case(session, case_id, case_type=CASE_TYPE, authorize=authorize)
    case, order = locked.case, locked.order
    assert order is not None  # a dispute is opened on an order
    now = await clock.now(session)
    answer = answer_of(engine, order, case.details["invoice_amount"], body)
    answered = {
        **body.model_dump(mode="json"),
        "by": actor.key,
        "name": actor.name,
        "at": now.isoformat(),
    }
    if case.status == Status.ESCALATED:
        # The ops manager decides now; the answer is kept on the case for the manager, up to
        # a bound, so that a vendor app in a loop cannot grow the case without end.
        late = sum(1 for kept in case.details["vendor_responses"] if kept.get("after_escalation"))
        if late >= MAX_LATE_ANSWERS:
            raise Conflict(
                f"Payout dispute {case.id} already keeps {late} answers for the ops manager, "
                "who decides it; add a note to the case instead."
            )
        _keep_answer(case, {**answered, "after_escalation": True})
        return Answered(case, decided=False)
    if case.status != Status.AWAITING_VENDOR:
        raise Conflict(
            f"Payout dispute {case.id} is already decided: {case.ticket_status} "
            f"(decision {case.current_decision_id})."
        )
    deadline = await deadlines.running(session, case.id, VENDOR_RESPONSE)
    if deadline is None or deadline.due_at <= now:
        # None: a watcher has claimed the clock and is escalating right now.
        raise Conflict(
            f"The vendor's answer to payout dispute {case.id} was due"
            + (f" at {deadline.due_at.isoformat()}" if deadline else "")
            + "; the dispute goes to the ops manager."
        )
    counted = answer.counted(case.details["customer_received"])
    justification = justify(
        engine,
        order.pickup_notes,
        case.details["invoice_amount"] - counted,
        before=case.created_at,
    )
    lost = await lost_before(session, engine, case)
    facts = answer_facts(case.details, engine.policy, answer, justification, lost)
    evaluation = evaluate(engine, TABLE, facts)
    if evaluation.outcome != "awaiting_vendor":
        deadline.settle("met", now)  # a final answer came in time
    decided_by = {"kind": "rules", "answered_by": actor.key, "name": actor.name}
    # Whoever answered (the vendor app, or ops for the vendor) made any payout that follows:
    # that person may not also approve it.
    await decide_dispute(
        session, engine, locked, facts, decided_by, evaluation=evaluation, actor=actor
    )
    _keep_answer(
        case,
        {**answered, "amount_paid": answer.vendor_paid, "decision_id": case.current_decision_id},
    )
    return Answered(case, decided=True)


def _keep_answer(case: Case, answered: dict[str, Any]) -> None:
    responses = [*case.details["vendor_responses"], answered]
    case.details = {**case.details, "vendor_responses": responses}


async def vendor_response_missed(
    session: AsyncSession, engine: RulesEngine, locked: Locked, deadline: Deadline, watcher: str
) -> bool:
    """Fires a claimed vendor-response deadline: no final answer came in time. Returns False
    when the dispute had moved on and the clock was only cancelled."""
    case = locked.case
    now = await clock.now(session)
    if case.status != Status.AWAITING_VENDOR:
        deadline.settle("cancelled", now)
        return False
    deadline.settle("missed", now)
    facts = opening_facts(case.details, engine.policy, "deadline_missed")
    facts["earlier_disputes_lost"] = await lost_before(session, engine, case)
    await decide_dispute(
        session,
        engine,
        locked,
        facts,
        {"kind": "rules", "trigger": "deadline_missed", "deadline_id": deadline.id, "by": watcher},
    )
    await events.emit(
        session,
        "deadline.missed",
        case=case,
        kind=deadline.kind,
        due_at=deadline.due_at.isoformat(),
    )
    return True


async def payout_rejected(
    session: AsyncSession,
    engine: RulesEngine,
    locked: Locked,
    payout: LedgerEntry,
    reason: str | None,
    actor: Actor,
) -> None:
    """Finance rejected the dispute's payout: the decision that made it no longer stands,
    and the ops manager decides the dispute again, with finance's reason."""
    why = f"Finance rejected the payout of decision {payout.decision_id}" + (
        f": {reason}" if reason else ""
    )
    evaluation = Evaluation(
        table=TABLE,
        outcome="escalated_pending_manager",
        actions=[
            {"type": "escalate", "to": "ops_manager"},
            {"type": "ticket_note", "text": why},
        ],
        rules_fired=[],
        ruleset_version=engine.version,
        policy=engine.policy.as_dict(),
        ticket={},
    )
    superseded = locked.case.current_decision_id
    assert superseded is not None  # only the decision in force has its payout rejected here
    rejected = await decisions.get(session, superseded)
    await decide(
        session,
        engine,
        locked,
        CASE,
        evaluation,
        # The situation is the rejected decision's: an override of this one answers it, with
        # what it counted as received and the facts the customer's outcome text reads.
        facts={**rejected.facts, "payout_id": payout.id, "rejected_decision": superseded},
        decided_by={"kind": "finance_rejection", **actor.recorded(), "reason": reason},
        decider=Decider("manager", actor.role),
        actor=actor,
        stage=Stage.INTERIM,
        replaces=False,
    )
