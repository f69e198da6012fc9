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
from app.cases.schemas import OverrideIn
from app.decisions import service as decisions
from app.effects.guard import PAYOUT, Decider
from app.errors import Conflict, Forbidden, InvalidRequest
from app.models import Case
from app.rules_engine.engine import Evaluation, RulesEngine

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
    if _by_a_manager(superseded.decided_by) and actor.role != ESCALATED_OVERRIDER:
        raise Forbidden(
            f"The decision in force on case {case_id} is an ops manager's: only an ops "
            "manager may override it."
        )
    actions = [action.model_dump() for action in body.actions]
    for index, action in enumerate(actions):
        if action["type"] == PAYOUT and body.outcome not in case_type.paying_outcomes:
            raise InvalidRequest(
                f"A platform payout goes with an outcome under which the platform pays "
                f"({', '.join(sorted(case_type.paying_outcomes)) or 'none for this case type'}), "
                f"not with {body.outcome}.",
                f"actions[{index}].type",
            )
    if body.outcome in case_type.paying_outcomes and not any(
        action["type"] == PAYOUT for action in actions
    ):
        # The customer is told what the platform paid: an outcome of paying pays something.
        raise InvalidRequest(
            f"{body.outcome} says the platform pays the customer: send the payout as a "
            f"{PAYOUT} action, or choose another outcome.",
            "actions",
        )
    await decide(
        session,
        engine,
        locked,
        case_type,
        Evaluation(
            table=case_type.table,
            outcome=body.outcome,
            actions=actions,
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
        # What the superseded decision counted as received (a payment the vendor proved)
        # stands: an override pays no more than the order is owed by it.
        received=_counted(superseded.facts),
        wallet_confirmed=_confirmed_payment(case.details),
    )
    return case


def _by_a_manager(decided_by: dict[str, object]) -> bool:
    return decided_by.get("kind") == "ops_manager" or decided_by.get("role") == ESCALATED_OVERRIDER


def _counted(facts: dict[str, object]) -> int:
    counted = facts.get("counted_paid", 0)
    return counted if isinstance(counted, int) and not isinstance(counted, bool) else 0


def _confirmed_payment(details: dict[str, object]) -> int:
    """What ops confirmed the vendor paid the customer at the verdict, else what the vendor
    said when it filed; nothing when neither says it paid. A wallet refund is never more."""
    verdict = details.get("verdict")
    source = verdict if isinstance(verdict, dict) else details
    paid = source.get("amount_paid_to_customer")
    return paid if isinstance(paid, int) else 0
