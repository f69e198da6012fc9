"""'To Be Failed' orders: the vendor's reason, the proposed decision, ops's verdict."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.ids import new_id
from app.models import Case, LedgerEntry, Order, Vendor
from app.repositories import ledger, vendors
from app.rules_engine.engine import RulesEngine
from app.schemas.fail_reasons import FailReasonIn, VerdictIn
from app.services import decisions, effects, events, orders
from app.services.cases import get as get_case
from app.services.cases import open_case, resolve
from app.services.errors import Conflict, InvalidRequest, NotFound

CASE_TYPE = "fail_reason"
TABLE = "fail_reasons"

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


def reason_class(engine: RulesEngine, code: str, field: str = "reason") -> str:
    table = engine.tables[TABLE]
    cls = table.class_of(code)
    if cls is None:
        known = ", ".join(sorted(table.all_codes()))
        raise InvalidRequest(f"Unknown fail reason '{code}'. Known codes: {known}.", field)
    return cls


def _facts(
    *, reason: str, cls: str, fault: str, order: Order, vendor: Vendor, details: dict[str, Any]
) -> dict[str, Any]:
    return {
        "fault": fault,
        "reason": reason,
        "reason_class": cls,
        "unlock_credits": order.unlock_credits,
        "vendor_paid_customer": details["vendor_paid_customer"],
        "amount_paid_to_customer": details["amount_paid_to_customer"] or 0,
        "active_strikes": vendor.active_strikes,
        "strikes_if_vendor_fault": vendor.active_strikes + 1,
        "vendor_status": vendor.status,
    }


def proposal(
    engine: RulesEngine, order: Order, vendor: Vendor, body: FailReasonIn
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The filing's details and the facts of its proposed decision."""
    cls = reason_class(engine, body.reason)
    details = body.model_dump()
    if body.vendor_paid_customer and body.amount_paid_to_customer is None:
        details["amount_paid_to_customer"] = order.payment.get("amount")
        if details["amount_paid_to_customer"] is None:
            raise InvalidRequest(
                "amount_paid_to_customer is required when vendor_paid_customer is true and the "
                "order records no payment amount.",
                "amount_paid_to_customer",
            )
    facts = _facts(
        reason=body.reason,
        cls=cls,
        fault=IMPLIED_FAULT[cls],
        order=order,
        vendor=vendor,
        details=details,
    )
    return details, facts


async def file(
    session: AsyncSession,
    engine: RulesEngine,
    actor: str,
    order: Order,
    vendor: Vendor,
    body: FailReasonIn,
) -> Case:
    details, facts = proposal(engine, order, vendor, body)
    if order.status != "open":
        raise Conflict(f"Order {order.id} is {order.status}; only an open order can be failed.")
    case = Case(
        id=new_id("case"),
        case_type=CASE_TYPE,
        order_id=order.id,
        vendor_id=order.vendor_id,
        status="pending_review",
        ticket={
            "category": "to_be_failed_review",
            "status": "pending_review",
            "priority": "high" if facts["reason_class"] in ("fraud", "disputed") else "normal",
            "assignee_team": "ops",
        },
        details={**details, "filed_by": actor},
        reason=body.reason,
    )
    await open_case(session, case, engine.policy, reason=body.reason)
    order.status = "to_be_failed"
    await events.emit(
        session, "order.status_changed", case=case, status="to_be_failed", previous="open"
    )
    await decisions.decide(
        session,
        engine,
        case,
        table=TABLE,
        stage="proposed",
        decided_by={"kind": "rules"},
        facts=facts,
    )
    return case


async def verdict(
    session: AsyncSession, engine: RulesEngine, actor: str, case_id: str, body: VerdictIn
) -> Case:
    unlocked = await get_case(session, case_id)
    if unlocked.case_type != CASE_TYPE or unlocked.vendor_id is None:
        raise NotFound(f"No fail review {case_id}.")
    # Vendor first, then the case: strikes are counted under the vendor's lock.
    vendor = await vendors.lock(session, unlocked.vendor_id)
    case = await get_case(session, case_id, for_update=True)
    if case.status != "pending_review":
        raise Conflict(f"Case {case_id} is already decided (decision {case.current_decision_id}).")
    reason = body.reason or case.details["reason"]
    cls = reason_class(engine, reason)
    if body.fault not in ALLOWED_FAULTS[cls]:
        raise InvalidRequest(
            f"fault '{body.fault}' contradicts the {cls}-side reason '{reason}'; "
            "give in 'reason' the code ops found.",
            "reason",
        )
    assert case.order_id is not None
    order = await orders.get(session, case.order_id, for_update=True)
    decision = await decisions.decide(
        session,
        engine,
        case,
        table=TABLE,
        stage="final",
        decided_by={
            "kind": "rules",
            "verdict_by": actor,
            "fault": body.fault,
            "reason": reason,
            "checks": body.checks,
            "note": body.note,
        },
        facts=_facts(
            reason=reason,
            cls=cls,
            fault=body.fault,
            order=order,
            vendor=vendor,
            details=case.details,
        ),
    )
    await effects.apply(session, decision, case, vendor)
    # The root-cause reports count the code ops confirmed, not the vendor's claim.
    case.reason = reason
    await close(session, case, decision.outcome)
    return case


async def close(session: AsyncSession, case: Case, outcome: str | None) -> None:
    """A final fail decision, the verdict's or an override's: the order fails, the case is
    resolved."""
    assert case.order_id is not None
    order = await orders.get(session, case.order_id, for_update=True)
    order.status = "failed"
    await events.emit(
        session, "order.status_changed", case=case, status="failed", previous="to_be_failed"
    )
    await resolve(session, case, outcome)


async def release_wallet_refund(
    session: AsyncSession, actor: str, entry_id: str, note: str | None
) -> LedgerEntry:
    eligible = await ledger.get(session, entry_id, for_update=True)
    if eligible is None or eligible.kind != "wallet_refund_eligible":
        raise NotFound(f"No wallet refund {entry_id}.")
    # Released, or withdrawn by an override that reversed the decision which made it.
    settled = await ledger.settled_by(session, entry_id)
    if settled is not None:
        done = "released" if settled.kind == "wallet_refund_released" else "reversed"
        raise Conflict(f"Wallet refund {entry_id} was already {done} ({settled.id}).")
    released = LedgerEntry(
        id=new_id("le"),
        vendor_id=eligible.vendor_id,
        case_id=eligible.case_id,
        order_id=eligible.order_id,
        kind="wallet_refund_released",
        amount=eligible.amount,
        details={"note": note} if note else {},
        settles_entry_id=eligible.id,
        created_by=actor,
    )
    await ledger.add(session, released)
    await events.emit(
        session,
        "wallet_refund.released",
        vendor_id=eligible.vendor_id,
        order_id=eligible.order_id,
        amount=eligible.amount,
        entry_id=released.id,
    )
    return released
