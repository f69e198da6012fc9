""" "To Be Failed" orders: the vendor's reason, the proposed decision, ops's verdict. One case
type (docs/fail-reasons.md).

    pending_review --verdict (or an override)--> resolved, and the order fails

Filing only proposes: nothing is applied until ops has verified and says who was at fault,
and confirms whether (and how much) the vendor had paid the customer.
"""

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import locks
from app.cases.case_type import CaseType, Stage, Status
from app.cases.deciding import Actor, decide, evaluate
from app.cases.lifecycle import open_case, ticket
from app.cases.locks import Locked
from app.effects.guard import Decider
from app.ids import new_id
from app.models import Case, Decision, Order, Vendor
from app.repositories import cases, clock, ledger
from app.rules_engine.engine import RulesEngine
from app.schemas.fail_reasons import FailReasonIn, VerdictIn
from app.services import events
from app.services.errors import Conflict, InvalidRequest, NotFound

TABLE = "fail_reasons"
# Facts named complaint_<issue code>: a pickup complaint on this order reported that issue.
COMPLAINT_FACT = "complaint_"

# The fault a code implies when ops confirms it; disputed codes wait for the verdict.
IMPLIED_FAULT = {
    "customer": "customer",
    "vendor": "vendor",
    "fraud": "vendor",
    "disputed": "undecided",
}
ALLOWED_FAULTS = {
    "customer": {"customer"},
    "vendor": {"vendor"},
    "fraud": {"vendor"},
    "disputed": {"customer", "vendor"},
}


class FailReasons(CaseType):
    name = "fail_reason"
    table = TABLE
    customer_facing = False
    opens_as = Status.PENDING_REVIEW
    proposals = frozenset({"pending_verdict"})
    waits_for = {Status.PENDING_REVIEW: "ops's verdict: who was at fault"}

    async def on_resolved(self, session: AsyncSession, locked: Locked, decision: Decision) -> None:
        """A final fail decision, the verdict's or an override's: the order fails."""
        order = locked.order
        assert order is not None  # a fail reason is filed on an order
        previous, order.status = order.status, "failed"
        await events.emit(
            session, "order.status_changed", case=locked.case, status="failed", previous=previous
        )


CASE = FailReasons()
CASE_TYPE = CASE.name


def reason_class(engine: RulesEngine, code: str, field: str = "reason") -> str:
    table = engine.tables[TABLE]
    cls = table.class_of(code)
    if cls is None:
        known = ", ".join(sorted(table.all_codes()))
        raise InvalidRequest(f"Unknown fail reason '{code}'. Known codes: {known}.", field)
    return cls


async def _history(
    session: AsyncSession, engine: RulesEngine, order: Order, vendor: Vendor, case_id: str | None
) -> dict[str, Any]:
    """What the vendor's record says: active strikes, earlier fail reasons, complaints about
    its behaviour on this order. Exact under the vendor's lock."""
    policy = engine.policy
    strikes = await ledger.active_strikes(
        session, vendor.id, expiry_days=policy.strike_expiry_days, now=await clock.now(session)
    )
    earlier = await cases.count_earlier_for_vendor(
        session,
        vendor.id,
        CASE_TYPE,
        window=timedelta(days=policy.repeat_window_days),
        excluding=case_id,
    )
    reported = {
        code
        for complaint in await cases.of_type_for_order(session, order.id, "pickup_complaint")
        for code in complaint.details.get("issues", [])
    }
    table = engine.tables[TABLE]
    return {
        "active_strikes": strikes,
        "strikes_if_vendor_fault": strikes + 1,
        "vendor_status": vendor.status,
        "earlier_fail_reasons": earlier,
        **{
            name: name.removeprefix(COMPLAINT_FACT) in reported
            for name in table.facts
            if name.startswith(COMPLAINT_FACT)
        },
    }


def _facts(
    *, reason: str, cls: str, fault: str, order: Order, paid: int | None, history: dict[str, Any]
) -> dict[str, Any]:
    return {
        "fault": fault,
        "reason": reason,
        "reason_class": cls,
        "unlock_credits": order.unlock_credits,
        "vendor_paid_customer": paid is not None,
        "amount_paid_to_customer": paid or 0,
        **history,
    }


def _claimed_payment(order: Order, body: FailReasonIn) -> int | None:
    """What the vendor says it paid the customer before failing (None: it did not pay)."""
    if not body.vendor_paid_customer:
        if body.amount_paid_to_customer is not None:
            raise InvalidRequest(
                "amount_paid_to_customer goes with vendor_paid_customer true.",
                "amount_paid_to_customer",
            )
        return None
    paid = body.amount_paid_to_customer
    if paid is None:
        paid = order.payment.get("amount")
    if not isinstance(paid, int) or paid < 1:
        raise InvalidRequest(
            "amount_paid_to_customer is required when vendor_paid_customer is true and the "
            "order records no payment amount.",
            "amount_paid_to_customer",
        )
    return paid


async def proposal(
    session: AsyncSession, engine: RulesEngine, order: Order, vendor: Vendor, body: FailReasonIn
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The filing's details and the facts of its proposed decision."""
    cls = reason_class(engine, body.reason)
    paid = _claimed_payment(order, body)
    details = {**body.model_dump(), "amount_paid_to_customer": paid}
    history = await _history(session, engine, order, vendor, None)
    facts = _facts(
        reason=body.reason,
        cls=cls,
        fault=IMPLIED_FAULT[cls],
        order=order,
        paid=paid,
        history=history,
    )
    return details, facts


async def admit(session: AsyncSession, order: Order) -> None:
    """A fail reason is filed once, for a pickup that could not be completed."""
    if order.pickup_status == "completed":
        raise Conflict(
            f"Order {order.id}'s pickup is completed: a fail reason is only for a pickup that "
            "could not be completed."
        )
    if order.status != "open":
        raise Conflict(f"Order {order.id} is {order.status}; only an open order can be failed.")
    disputes = await cases.of_type_for_order(session, order.id, "payout_dispute")
    if disputes:
        raise Conflict(
            f"Order {order.id} has payout dispute {disputes[-1].id}: the customer was paid for "
            "a pickup that happened, so it cannot be failed."
        )


async def file(
    session: AsyncSession, engine: RulesEngine, actor: Actor, order_id: str, body: FailReasonIn
) -> Case:
    found = await locks.lock_order(session, order_id)
    if found is None:
        raise NotFound(f"No order {order_id}; the order system must PUT it first.")
    order, vendor = found
    details, facts = await proposal(session, engine, order, vendor, body)
    await admit(session, order)
    case = Case(
        id=new_id("case"),
        case_type=CASE_TYPE,
        order_id=order.id,
        vendor_id=order.vendor_id,
        status=CASE.opens_as.value,
        ticket=ticket(
            CASE_TYPE,
            category="to_be_failed_review",
            priority="high" if facts["reason_class"] in ("fraud", "disputed") else "normal",
            team="ops",
            status=CASE.opens_as.value,
        ),
        details={**details, "filed_by": actor.key, "filed_by_name": actor.name},
        reason=body.reason,
    )
    await open_case(session, case, CASE, engine.policy, reason=body.reason)
    order.status = "to_be_failed"
    await events.emit(
        session, "order.status_changed", case=case, status="to_be_failed", previous="open"
    )
    await decide(
        session,
        engine,
        Locked(case, vendor, order),
        CASE,
        evaluate(engine, TABLE, facts),
        facts=facts,
        decided_by={"kind": "rules", **actor.recorded()},
        decider=Decider("rules"),
        stage=Stage.PROPOSED,
    )
    return case


def _confirmed_payment(case: Case, body: VerdictIn) -> int | None:
    """Whether, and how much, ops confirms the vendor paid the customer before failing."""
    claimed = case.details.get("amount_paid_to_customer")
    if body.vendor_paid_customer is None:
        if claimed:
            raise InvalidRequest(
                f"The vendor says it paid the customer {claimed} paise before failing: confirm "
                "it with vendor_paid_customer (true, with amount_paid_to_customer, or false).",
                "vendor_paid_customer",
            )
        return None
    if not body.vendor_paid_customer:
        if body.amount_paid_to_customer is not None:
            raise InvalidRequest(
                "amount_paid_to_customer goes with vendor_paid_customer true.",
                "amount_paid_to_customer",
            )
        return None
    paid = body.amount_paid_to_customer if body.amount_paid_to_customer is not None else claimed
    if not paid:
        raise InvalidRequest(
            "amount_paid_to_customer is required: how much ops confirmed the vendor paid.",
            "amount_paid_to_customer",
        )
    return int(paid)


async def verdict(
    session: AsyncSession, engine: RulesEngine, actor: Actor, case_id: str, body: VerdictIn
) -> Case:
    locked = await locks.lock_case(session, case_id, case_type=CASE_TYPE)
    case, order, vendor = locked.case, locked.order, locked.vendor
    if case.status != Status.PENDING_REVIEW:
        raise Conflict(f"Case {case_id} is already decided (decision {case.current_decision_id}).")
    assert order is not None and vendor is not None  # filed on an order, which has a vendor
    reason = body.reason or case.details["reason"]
    cls = reason_class(engine, reason)
    if body.fault not in ALLOWED_FAULTS[cls]:
        raise InvalidRequest(
            f"fault '{body.fault}' contradicts the {cls}-side reason '{reason}'; "
            "give in 'reason' the code ops found.",
            "reason",
        )
    paid = _confirmed_payment(case, body)
    history = await _history(session, engine, order, vendor, case.id)
    facts = _facts(
        reason=reason, cls=cls, fault=body.fault, order=order, paid=paid, history=history
    )
    # What ops found, beside what the vendor said: the case shows both.
    case.details = {
        **case.details,
        "verdict": {
            "fault": body.fault,
            "reason": reason,
            "checks": body.checks,
            "vendor_paid_customer": paid is not None,
            "amount_paid_to_customer": paid,
            "by": actor.key,
            "name": actor.name,
        },
    }
    # The root-cause reports count the code ops confirmed, not the vendor's claim.
    case.reason = reason
    await decide(
        session,
        engine,
        locked,
        CASE,
        evaluate(engine, TABLE, facts),
        facts=facts,
        decided_by={
            "kind": "rules",
            "verdict_by": actor.key,
            "name": actor.name,
            "fault": body.fault,
            "reason": reason,
            "checks": body.checks,
            "note": body.note,
        },
        decider=Decider("rules"),
        actor=actor,
        wallet_confirmed=paid,
    )
    return case
