"""Payment discrepancies: opened by reconciliation, resolved by rules/payment_discrepancies.yaml
(which resolution), carried out by the dispute resolution team, confirmed by ops."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.ids import new_id
from app.models import Case, Vendor
from app.rules_engine.engine import RulesEngine
from app.services import decisions, effects
from app.services.cases import get as get_case
from app.services.cases import open_case, resolve_by_hand
from app.services.errors import Conflict, NotFound

CASE_TYPE = "payment_discrepancy"
TABLE = "payment_discrepancies"
PENDING = "pending_resolution"


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


async def open_discrepancy(
    session: AsyncSession, engine: RulesEngine, actor: str, found: Discrepancy, vendor: Vendor
) -> Case:
    """Opens the case and decides its resolution; the caller holds ``vendor``'s lock."""
    case = Case(
        id=new_id("case"),
        case_type=CASE_TYPE,
        order_id=found.order_id,
        vendor_id=vendor.id,
        status=PENDING,
        ticket={
            "type": CASE_TYPE,
            "status": PENDING,
            "priority": "normal",
            # 002: "logged and assigned to a dispute resolution team".
            "assignee_team": "dispute_resolution",
        },
        details={
            "discrepancy_type": found.discrepancy_type,
            "direction": found.direction,
            "amount": found.amount,
            "invoice_amount": found.invoice,
            "succeeded_amount": found.succeeded,
            "refunded_amount": found.refunded,
            "references": list(found.references),
            "opened_by": actor,
        },
        reason=found.discrepancy_type,
    )
    await open_case(
        session,
        case,
        engine.policy,
        discrepancy_type=found.discrepancy_type,
        amount=found.amount,
        references=list(found.references),
    )
    decision = await decisions.decide(
        session,
        engine,
        case,
        table=TABLE,
        stage="final",
        decided_by={"kind": "rules", "opened_by": actor},
        facts={
            "discrepancy_type": found.discrepancy_type,
            "direction": found.direction,
            "invoice_amount": found.invoice,
            "amount": found.amount,
            "succeeded_amount": found.succeeded,
            "refunded_amount": found.refunded,
            "references": ", ".join(found.references),
        },
    )
    await effects.apply(session, decision, case, vendor)
    return case


async def resolved(session: AsyncSession, actor: str, case_id: str, note: str) -> Case:
    """Ops confirms the decided resolution was carried out; the customer is told."""
    case = await get_case(session, case_id, for_update=True)
    if case.case_type != CASE_TYPE:
        raise NotFound(f"No payment discrepancy {case_id}.")
    if case.status != PENDING:
        raise Conflict(f"Payment discrepancy {case_id} is already {case.status}.")
    await resolve_by_hand(session, case, actor, note, template="payment_discrepancy_resolved")
    return case
