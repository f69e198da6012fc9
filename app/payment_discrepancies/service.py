"""Payment discrepancies: opened by reconciliation, resolved by rules/payment_discrepancies.yaml
(which resolution), carried out by the dispute resolution team, confirmed by ops. One case
type (docs/payment-discrepancies.md).

    pending_resolution --ops confirms it was carried out, or an override--> resolved
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import locks
from app.cases.case_type import CaseType, Status
from app.cases.deciding import Actor, decide_by_rules
from app.cases.lifecycle import open_case, resolve_by_hand
from app.cases.locks import Locked
from app.errors import Conflict
from app.ids import new_id
from app.models import Case, Order, Vendor
from app.rules_engine.engine import RulesEngine

TABLE = "payment_discrepancies"


class PaymentDiscrepancies(CaseType):
    name = "payment_discrepancy"
    table = TABLE
    customer_facing = True
    opens_as = Status.PENDING_RESOLUTION
    # The rules decide the resolution; the case is resolved once the team carried it out.
    carried_out_in = Status.PENDING_RESOLUTION
    waits_for = {
        Status.PENDING_RESOLUTION: "the dispute resolution team carrying the resolution out"
    }


CASE = PaymentDiscrepancies()
CASE_TYPE = CASE.name


@dataclass(frozen=True)
class Discrepancy:
    """What reconciliation found on one order, in one direction."""

    discrepancy_type: str
    order_id: str
    direction: str
    invoice: int
    # The money at issue: failed, missing, excess, double, over-refunded or charged back.
    amount: int
    succeeded: int
    refunded: int
    references: Sequence[str]
    # The platform's payouts that had reached the customer (to_customer; 0 otherwise).
    platform_paid: int = 0
    # What the customer holds of the vendor's payments (to_customer; 0 otherwise).
    vendor_held: int = 0


async def open_discrepancy(
    session: AsyncSession,
    engine: RulesEngine,
    actor: Actor,
    found: Discrepancy,
    vendor: Vendor,
    order: Order,
) -> Case:
    """Opens the case and decides its resolution; the caller holds ``vendor``'s lock."""
    case = Case(
        id=new_id("case"),
        case_type=CASE_TYPE,
        order_id=found.order_id,
        vendor_id=vendor.id,
        status=CASE.opens_as.value,
        category=found.discrepancy_type,
        ticket_status=CASE.opens_as.value,
        priority="normal",
        # Discrepancies are "logged and assigned to a dispute resolution team".
        assignee_team="dispute_resolution",
        details={
            "discrepancy_type": found.discrepancy_type,
            "direction": found.direction,
            "amount": found.amount,
            "invoice_amount": found.invoice,
            "succeeded_amount": found.succeeded,
            "refunded_amount": found.refunded,
            "platform_paid_amount": found.platform_paid,
            "references": list(found.references),
            "opened_by": actor.key,
        },
        reason=found.discrepancy_type,
    )
    await open_case(
        session,
        engine,
        case,
        CASE,
        discrepancy_type=found.discrepancy_type,
        amount=found.amount,
        references=list(found.references),
    )
    facts = {
        "discrepancy_type": found.discrepancy_type,
        "direction": found.direction,
        "invoice_amount": found.invoice,
        "amount": found.amount,
        "succeeded_amount": found.succeeded,
        "refunded_amount": found.refunded,
        "platform_paid_amount": found.platform_paid,
        "references": ", ".join(found.references),
    }
    await decide_by_rules(
        session, engine, Locked(case, vendor, order), CASE, facts, decided_by=actor.recorded()
    )
    return case


async def resolved(
    session: AsyncSession, engine: RulesEngine, actor: Actor, case_id: str, note: str
) -> Case:
    """Ops confirms the decided resolution was carried out; the customer is told."""
    locked = await locks.lock_case(session, case_id, case_type=CASE_TYPE)
    case = locked.case
    if case.status != Status.PENDING_RESOLUTION:
        raise Conflict(f"Payment discrepancy {case_id} is already {case.status}.")
    await resolve_by_hand(session, engine, locked, CASE, actor.key, actor.name, note)
    return case
