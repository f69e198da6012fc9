"""Pickup complaints: a customer's bad pickup experience, escalated to the CX team."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.ids import new_id
from app.models import Case, Vendor
from app.repositories import cases, orders, vendors
from app.rules_engine.engine import RulesEngine
from app.schemas.pickup_complaints import PickupComplaintIn
from app.services import decisions, effects
from app.services.cases import get as get_case
from app.services.cases import open_case, resolve_by_hand
from app.services.errors import Conflict, InvalidRequest, NotFound

CASE_TYPE = "pickup_complaint"
TABLE = "pickup_complaints"


@dataclass(frozen=True)
class Subject:
    """What the complaint is against: the order if known here, and the vendor if any."""

    order_id: str | None
    vendor: Vendor | None

    @property
    def vendor_id(self) -> str | None:
        return self.vendor.id if self.vendor else None


def issue_codes(engine: RulesEngine, issues: list[str]) -> list[str]:
    """The reported codes, each known to the table, each once, in the order given."""
    known = engine.tables[TABLE].all_codes()
    for index, code in enumerate(issues):
        if code not in known:
            raise InvalidRequest(
                f"Unknown issue code '{code}'. Known codes: {', '.join(sorted(known))}.",
                f"issues[{index}]",
            )
    return list(dict.fromkeys(issues))


async def subject(session: AsyncSession, body: PickupComplaintIn, *, lock: bool = False) -> Subject:
    """``lock``: the vendor's row is locked until commit."""
    if body.order_id is not None:
        found = await orders.with_vendor(session, body.order_id, lock="vendor" if lock else None)
        if found is None:
            raise InvalidRequest(
                f"No order {body.order_id} here; the order system must PUT it first, or file "
                "the complaint with lead_id (and vendor_id if known).",
                "order_id",
            )
        order, vendor = found
        if body.vendor_id is not None and body.vendor_id != order.vendor_id:
            raise InvalidRequest(
                f"Order {order.id} belongs to vendor {order.vendor_id}, not {body.vendor_id}.",
                "vendor_id",
            )
        return Subject(order_id=order.id, vendor=vendor)
    if body.vendor_id is None:
        return Subject(order_id=None, vendor=None)
    named = await vendors.get(session, body.vendor_id)
    if named is None:
        raise InvalidRequest(f"No vendor {body.vendor_id}.", "vendor_id")
    return Subject(order_id=None, vendor=await vendors.lock(session, named.id) if lock else named)


async def complaint_facts(
    session: AsyncSession, engine: RulesEngine, issues: list[str], vendor_id: str | None
) -> dict[str, Any]:
    """One boolean per issue code (the table decides what each means), and the vendor's
    complaint history. Call with the vendor's row locked when the decision is for real."""
    earlier = 0
    if vendor_id is not None:
        earlier = await cases.count_earlier_for_vendor(
            session,
            vendor_id,
            CASE_TYPE,
            window=timedelta(days=engine.policy.repeat_window_days),
        )
    return {
        **{code: code in issues for code in engine.tables[TABLE].all_codes()},
        "vendor_known": vendor_id is not None,
        "earlier_complaints": earlier,
    }


async def file(
    session: AsyncSession, engine: RulesEngine, actor: str, body: PickupComplaintIn
) -> Case:
    issues = issue_codes(engine, body.issues)
    # The vendor's row is locked first: two complaints at once must each count the other
    # exactly once.
    against = await subject(session, body, lock=True)
    vendor = against.vendor
    facts = await complaint_facts(session, engine, issues, against.vendor_id)
    case = Case(
        id=new_id("case"),
        case_type=CASE_TYPE,
        order_id=against.order_id,
        vendor_id=against.vendor_id,
        status="open",
        ticket={"status": "open"},
        details={**body.model_dump(mode="json"), "issues": issues, "filed_by": actor},
        # Reports count root causes by one code per case: the first issue the customer named.
        reason=issues[0],
    )
    # The table's own acknowledgement (notify, customer) goes out with the decision below.
    await open_case(session, case, engine.policy, rules_acknowledge=True, issues=issues)
    decision = await decisions.decide(
        session,
        engine,
        case,
        table=TABLE,
        stage="final",
        decided_by={"kind": "rules"},
        facts=facts,
    )
    # The ticket stays open for CX to follow up; the rules chose its category, team, priority.
    case.ticket = {**decision.ticket, "status": "open"}
    await effects.apply(session, decision, case, vendor)
    return case


async def resolved(session: AsyncSession, actor: str, case_id: str, note: str) -> Case:
    """CX followed the complaint up (003: "They'll review and get back to you"); the case is
    resolved, its resolution clock met if in time, and the customer told."""
    case = await get_case(session, case_id, for_update=True)
    if case.case_type != CASE_TYPE:
        raise NotFound(f"No pickup complaint {case_id}.")
    if case.resolved_at is not None:
        raise Conflict(f"Pickup complaint {case_id} is already resolved.")
    await resolve_by_hand(session, case, actor, note, template="pickup_complaint_resolved")
    return case
