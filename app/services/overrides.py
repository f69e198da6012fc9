"""Ops replaces a case's decision with its own; the decision it replaces stays on record.

An override is a final decision like any other (app.cases.deciding): it may only choose an
outcome that ends the case, its money passes the same gate and approvals as the rules',
whatever the superseded decision applied is reversed first, and the case is resolved (or
waits for finance's approval of a payout) with its clocks settled.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import locks
from app.cases.case_type import Status
from app.cases.deciding import Actor, decide
from app.cases.registry import case_type_of
from app.effects.guard import Decider
from app.models import Case
from app.rules_engine.engine import Evaluation, RulesEngine
from app.schemas.cases import OverrideIn
from app.services import decisions
from app.services.errors import Conflict, Forbidden, InvalidRequest

# Who may override a case that waits for the ops manager's own decision.
ESCALATED_OVERRIDER = "ops_manager"


async def override(
    session: AsyncSession, engine: RulesEngine, actor: Actor, case_id: str, body: OverrideIn
) -> Case:
    locked = await locks.lock_case(session, case_id)
    case = locked.case
    case_type = case_type_of(case.case_type)
    final = case_type.final_outcomes(engine.tables[case_type.table])
    if body.outcome not in final:
        raise InvalidRequest(
            f"'{body.outcome}' is not an outcome that ends a {case.case_type} case; an "
            f"override is a final decision: {', '.join(final)}.",
            "outcome",
        )
    if case.current_decision_id is None:
        raise Conflict(f"Case {case_id} has no decision to override.")
    if case.status == Status.ESCALATED and actor.role != ESCALATED_OVERRIDER:
        raise Forbidden(
            f"Case {case_id} is escalated: it waits for the ops manager, who alone may "
            "override it (or decide it with a manager decision)."
        )
    superseded = await decisions.get(session, case.current_decision_id)
    verdict = case.details.get("verdict") or {}
    await decide(
        session,
        engine,
        locked,
        case_type,
        Evaluation(
            table=case_type.table,
            outcome=body.outcome,
            actions=[action.model_dump() for action in body.actions],
            rules_fired=[],
            ruleset_version=engine.version,
            policy=engine.policy.as_dict(),
            ticket={},
        ),
        # What the superseded decision saw: the override answers the same situation.
        facts=superseded.facts,
        decided_by={"kind": "ops_override", **actor.recorded(), "reason": body.reason},
        decider=Decider("override", actor.role),
        actor=actor,
        wallet_confirmed=verdict.get("amount_paid_to_customer"),
    )
    return case
