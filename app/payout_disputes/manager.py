"""The ops manager's finding on an escalated payout dispute: decided by the same table as
the rest of the dispute (docs/payout-disputes.md), with the finding as its facts."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import locks
from app.cases.case_type import Status
from app.cases.deciding import Actor
from app.cases.locks import Locked
from app.effects.guard import Decider
from app.errors import Conflict, InvalidRequest
from app.models import Case
from app.payout_disputes.facts import TABLE, VALID_DEDUCTION, finding_facts, justify
from app.payout_disputes.schemas import ManagerDecisionIn
from app.payout_disputes.service import CASE_TYPE, decide_dispute, lost_before
from app.rules_engine.engine import RulesEngine


async def manager_decision(
    session: AsyncSession, engine: RulesEngine, actor: Actor, case_id: str, body: ManagerDecisionIn
) -> Case:
    """The ops manager ends an escalated dispute with a finding, decided by the table."""
    locked = await locks.lock_case(session, case_id, case_type=CASE_TYPE)
    case = locked.case
    if case.status != Status.ESCALATED:
        raise Conflict(
            f"Payout dispute {case.id} is {case.status}, not escalated: only an escalated "
            "dispute waits for the ops manager's decision."
        )
    facts = finding_facts(
        case.details, engine.policy, body, await lost_before(session, engine, case)
    )
    if body.finding == "valid_deduction":
        facts.update(_deduction_found(engine, locked, facts["shortfall"]))
    if body.note:
        case.notes = [*case.notes, {"text": body.note, "by": actor.key, "name": actor.name}]
    await decide_dispute(
        session,
        engine,
        locked,
        facts,
        {"kind": "ops_manager", **actor.recorded(), "finding": body.finding},
        # A limit the finding breaks is about what the manager says the customer received.
        decider=Decider("manager", actor.role, field="amount_received"),
        actor=actor,
    )
    return case


def _deduction_found(engine: RulesEngine, locked: Locked, shortfall: int) -> dict[str, Any]:
    """A deduction is valid only by a pickup note recorded before the dispute
    (docs/payout-disputes.md): the manager's finding names which, and the customer is told."""
    assert locked.order is not None  # a dispute is opened on an order
    found = justify(engine, locked.order.pickup_notes, shortfall, before=locked.case.created_at)
    if found.justified == 0:
        valid = ", ".join(engine.tables[TABLE].codes[VALID_DEDUCTION])
        raise InvalidRequest(
            "No pickup note recorded before the dispute gives a valid deduction reason "
            f"({valid}): nothing justifies a deduction; the finding is vendor_at_fault.",
            "finding",
        )
    if not found.whole:
        # The customer would be told the whole deduction is explained by notes that explain
        # part of it, and nobody would pay the rest.
        raise InvalidRequest(
            f"The pickup notes recorded before the dispute explain {found.justified} of the "
            f"{shortfall} paise deducted; the rest is unexplained: the finding is "
            "vendor_at_fault.",
            "finding",
        )
    return {"justified_amount": found.justified, "justified_reasons": found.reasons}
