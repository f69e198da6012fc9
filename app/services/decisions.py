"""Runs the rules on a case's facts and records the decision, superseding the case's last one."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.ids import new_id
from app.models import Case, Decision
from app.repositories import decisions
from app.rules_engine.engine import RulesEngine
from app.services import events
from app.services.errors import NotFound


async def decide(
    session: AsyncSession,
    engine: RulesEngine,
    case: Case,
    *,
    table: str,
    facts: Mapping[str, Any],
    stage: str,
    decided_by: dict[str, Any],
) -> Decision:
    evaluation = engine.evaluate(table, facts)
    decision = Decision(
        id=new_id("dec"),
        case_id=case.id,
        case_type=case.case_type,
        order_id=case.order_id,
        vendor_id=case.vendor_id,
        stage=stage,
        outcome=evaluation.outcome,
        actions=evaluation.actions,
        ticket=evaluation.ticket,
        rules_fired=evaluation.rules_fired,
        ruleset_version=evaluation.ruleset_version,
        policy=evaluation.policy,
        facts=dict(facts),
        decided_by=decided_by,
        supersedes=case.current_decision_id,
    )
    await decisions.add(session, decision)
    case.current_decision_id = decision.id
    await events.emit(
        session,
        "decision.made",
        case=case,
        stage=stage,
        outcome=decision.outcome,
        rules_fired=decision.rules_fired,
    )
    return decision


async def get(session: AsyncSession, decision_id: str) -> Decision:
    decision = await decisions.get(session, decision_id)
    if decision is None:
        raise NotFound(f"No decision {decision_id}.")
    return decision
