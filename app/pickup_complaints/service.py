"""Pickup complaints: a customer's bad pickup experience, escalated to the CX team. One case
type (docs/pickup-complaints.md).

    open (with CX) --CX follows it up, or an override--> resolved
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import locks
from app.cases import repository as cases
from app.cases.case_type import CaseType, Simulated, Stage, Status
from app.cases.deciding import Actor, decide_by_rules
from app.cases.lifecycle import open_case, resolve_by_hand
from app.cases.locks import Locked
from app.errors import Conflict, InvalidRequest
from app.ids import new_id
from app.models import Case, Order, Vendor
from app.orders import repository as orders
from app.pickup_complaints.schemas import PickupComplaintIn
from app.rules_engine.engine import RulesEngine
from app.vendors import repository as vendors

TABLE = "pickup_complaints"


class PickupComplaints(CaseType):
    name = "pickup_complaint"
    table = TABLE
    customer_facing = True
    opens_as = Status.OPEN
    # The rules' decision opens the CX ticket; CX resolves the case once it followed it up.
    carried_out_in = Status.OPEN
    waits_for = {Status.OPEN: "the CX team's follow-up"}

    async def simulate(self, session: AsyncSession, engine: RulesEngine, body: Any) -> Simulated:
        issues = issue_codes(engine, body.issues)
        against = await subject(session, body)
        facts = await complaint_facts(session, engine, issues, against.vendor_id)
        return Simulated(facts, Stage.FINAL, against.order_id, against.vendor_id)


CASE = PickupComplaints()
CASE_TYPE = CASE.name


@dataclass(frozen=True)
class Subject:
    """What the complaint is against: the order if known here, and the vendor if any."""

    order: Order | None
    vendor: Vendor | None

    @property
    def order_id(self) -> str | None:
        return self.order.id if self.order else None

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
        found = await (
            locks.lock_order(session, body.order_id)
            if lock
            else orders.with_vendor(session, body.order_id)
        )
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
        return Subject(order=order, vendor=vendor)
    if body.vendor_id is None:
        return Subject(order=None, vendor=None)
    named = await (locks.lock_vendor if lock else vendors.get)(session, body.vendor_id)
    if named is None:
        raise InvalidRequest(f"No vendor {body.vendor_id}.", "vendor_id")
    return Subject(order=None, vendor=named)


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
    session: AsyncSession, engine: RulesEngine, actor: Actor, body: PickupComplaintIn
) -> Case:
    issues = issue_codes(engine, body.issues)
    # The vendor's row is locked first: two complaints at once must each count the other
    # exactly once.
    against = await subject(session, body, lock=True)
    facts = await complaint_facts(session, engine, issues, against.vendor_id)
    case = Case(
        id=new_id("case"),
        case_type=CASE_TYPE,
        order_id=against.order_id,
        vendor_id=against.vendor_id,
        status=CASE.opens_as.value,
        category="customer_pickup_complaint",
        ticket_status=CASE.opens_as.value,
        priority="normal",
        assignee_team="cx_team",
        details={
            **body.model_dump(mode="json"),
            "issues": issues,
            "filed_by": actor.key,
            "filed_by_name": actor.name,
        },
        # Reports count root causes by one code per case: the first issue the customer named.
        reason=issues[0],
    )
    await open_case(session, engine, case, CASE, issues=issues)
    # The rules choose the ticket's category, team and priority; the case stays open for CX.
    locked = Locked(case, against.vendor, against.order)
    await decide_by_rules(session, engine, locked, CASE, facts, decided_by=actor.recorded())
    return case


async def resolved(
    session: AsyncSession, engine: RulesEngine, actor: Actor, case_id: str, note: str
) -> Case:
    """CX followed the complaint up (they review it and get back to the customer); the case
    is resolved, its resolution clock met if in time, and the customer told."""
    locked = await locks.lock_case(session, case_id, case_type=CASE_TYPE)
    case = locked.case
    if case.resolved_at is not None:
        raise Conflict(f"Pickup complaint {case_id} is already resolved.")
    await resolve_by_hand(session, engine, locked, CASE, actor.key, actor.name, note)
    return case
