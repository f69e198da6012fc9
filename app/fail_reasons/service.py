""" "To Be Failed" orders: the vendor's reason, the proposed decision, ops's verdict. One case
type (docs/fail-reasons.md).

    pending_review --verdict (or an override)--> resolved, and the order fails

Filing only proposes: nothing is applied until ops has verified and says who was at fault,
and confirms whether (and how much) the vendor had paid the customer.
"""

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import deadline_repository as deadlines
from app.cases import locks
from app.cases import repository as cases
from app.cases.case_type import CaseType, Simulated, Stage, Status
from app.cases.deciding import Actor, Authorize, anyone, decide_by_rules
from app.cases.lifecycle import open_case
from app.cases.locks import Locked
from app.db import clock
from app.errors import Conflict, InvalidRequest, NotFound
from app.events import service as events
from app.fail_reasons.schemas import FailReasonIn, VerdictIn
from app.ids import new_id
from app.models import Case, Decision, Order, Vendor
from app.orders import service as order_service
from app.rules_engine.engine import RulesEngine

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

    async def simulate(self, session: AsyncSession, engine: RulesEngine, body: Any) -> Simulated:
        """The proposal shown when the vendor files the reason on ``body.order_id``."""
        order, vendor = await order_service.named_in_body(session, body.order_id)
        _, facts, _ = await proposal(session, engine, order, vendor, body)
        return Simulated(facts, Stage.PROPOSED, order.id, order.vendor_id)

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


async def _record(
    session: AsyncSession, engine: RulesEngine, order: Order, vendor: Vendor, case_id: str | None
) -> cases.VendorRecord:
    """The vendor's record and the order's other cases, exact under the vendor's lock."""
    policy = engine.policy
    return await cases.fail_reason_record(
        session,
        vendor.id,
        order.id,
        window=timedelta(days=policy.repeat_window_days),
        strike_expiry=timedelta(days=policy.strike_expiry_days),
        now=await clock.now(session),
        excluding=case_id,
    )


def _history(engine: RulesEngine, vendor: Vendor, record: cases.VendorRecord) -> dict[str, Any]:
    """The facts of the vendor's record: active strikes, earlier fail reasons, and each
    complaint issue the table asks about (complaint_<code>) reported on this order."""
    return {
        "active_strikes": record.active_strikes,
        "strikes_if_vendor_fault": record.active_strikes + 1,
        "vendor_status": vendor.status,
        "earlier_fail_reasons": record.earlier_fail_reasons,
        **{
            name: name.removeprefix(COMPLAINT_FACT) in record.complaint_issues
            for name in engine.tables[TABLE].facts
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
    return _within_what_was_owed(order, paid)


def _within_what_was_owed(order: Order, paid: int) -> int:
    """A payment to the customer is never more than the final invoice, nor more than the
    order system recorded as paid when it recorded an amount."""
    recorded = order.payment.get("amount")
    limit = min(order.final_invoice_amount, recorded if isinstance(recorded, int) else paid)
    if paid > limit:
        raise InvalidRequest(
            f"amount_paid_to_customer {paid} is more than the order allows: its final invoice "
            f"is {order.final_invoice_amount} paise"
            + (
                f" and the order system recorded {recorded} paid"
                if isinstance(recorded, int)
                else ""
            )
            + ".",
            "amount_paid_to_customer",
        )
    return paid


async def proposal(
    session: AsyncSession, engine: RulesEngine, order: Order, vendor: Vendor, body: FailReasonIn
) -> tuple[dict[str, Any], dict[str, Any], cases.VendorRecord]:
    """The filing's details, the facts of its proposed decision, and the record read."""
    cls = reason_class(engine, body.reason)
    paid = _claimed_payment(order, body)
    details = {**body.model_dump(), "amount_paid_to_customer": paid}
    record = await _record(session, engine, order, vendor, None)
    history = _history(engine, vendor, record)
    facts = _facts(
        reason=body.reason,
        cls=cls,
        fault=IMPLIED_FAULT[cls],
        order=order,
        paid=paid,
        history=history,
    )
    return details, facts, record


def admit(order: Order, record: cases.VendorRecord) -> None:
    """A fail reason is filed once, for a pickup that could not be completed."""
    if order.pickup_status == "completed":
        raise Conflict(
            f"Order {order.id}'s pickup is completed: a fail reason is only for a pickup that "
            "could not be completed."
        )
    if order.status != "open":
        raise Conflict(f"Order {order.id} is {order.status}; only an open order can be failed.")
    if record.payout_dispute is not None:
        raise Conflict(
            f"Order {order.id} has payout dispute {record.payout_dispute}: the customer was paid "
            "for a pickup that happened, so it cannot be failed."
        )


async def file(
    session: AsyncSession,
    engine: RulesEngine,
    actor: Actor,
    order_id: str,
    body: FailReasonIn,
    authorize: Authorize = anyone,
) -> Case:
    found = await locks.lock_order(session, order_id)
    if found is None:
        raise NotFound(f"No order {order_id}; the order system must PUT it first.")
    order, vendor = found
    authorize(order.vendor_id)
    details, facts, record = await proposal(session, engine, order, vendor, body)
    admit(order, record)
    case = Case(
        id=new_id("case"),
        case_type=CASE_TYPE,
        order_id=order.id,
        vendor_id=order.vendor_id,
        status=CASE.opens_as.value,
        category="to_be_failed_review",
        ticket_status=CASE.opens_as.value,
        priority="high" if facts["reason_class"] in ("fraud", "disputed") else "normal",
        assignee_team="ops",
        details={**details, "filed_by": actor.key, "filed_by_name": actor.name},
        reason=body.reason,
    )
    await open_case(session, engine, case, CASE, reason=body.reason)
    order.status = "to_be_failed"
    await events.emit(
        session, "order.status_changed", case=case, status="to_be_failed", previous="open"
    )
    await decide_by_rules(
        session,
        engine,
        Locked(case, vendor, order),
        CASE,
        facts,
        decided_by=actor.recorded(),
        stage=Stage.PROPOSED,
    )
    return case


def _confirmed_payment(case: Case, order: Order, body: VerdictIn) -> int | None:
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
    return _within_what_was_owed(order, int(paid))


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
    paid = _confirmed_payment(case, order, body)
    history = _history(engine, vendor, await _record(session, engine, order, vendor, case.id))
    # The clocks the verdict settles, read (and locked) before anything is written: the
    # decision's writes then go out together at the answer's flush.
    await deadlines.all_running(session, case.id)
    facts = _facts(
        reason=reason, cls=cls, fault=body.fault, order=order, paid=paid, history=history
    )
    await decide_by_rules(
        session,
        engine,
        locked,
        CASE,
        facts,
        decided_by={
            "verdict_by": actor.key,
            "name": actor.name,
            "fault": body.fault,
            "reason": reason,
            "checks": body.checks,
            "note": body.note,
        },
        actor=actor,
        wallet_confirmed=paid,
    )
    # What ops found, beside what the vendor said: the case shows both. Set after the
    # decision's reads, so the case is written once, with its new status.
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
    return case
