"""Runs the rules on a case's facts and records the decision, superseding the case's last one."""

import time
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.ids import new_id
from app.models import Case, Decision
from app.observability import metrics
from app.observability.context import on_commit
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
    waiting_outcomes: Collection[str] = (),
) -> Decision:
    """``waiting_outcomes``: outcomes that leave the case waiting (a payout dispute's
    awaiting_vendor); a decision with one is recorded as interim, not as ``stage``."""
    started = time.perf_counter()
    evaluation = engine.evaluate(table, facts)
    metrics.RULE_SECONDS.labels(table).observe(time.perf_counter() - started)
    if evaluation.outcome in waiting_outcomes:
        stage = "interim"
    decision = Decision(
        id=new_id("dec"),
        case_id=case.id,
        case_type=case.case_type,
        order_id=case.order_id,
        vendor_id=case.vendor_id,
        stage=stage,
        outcome=evaluation.outcome,
        actions=evaluation.actions,
        rules_fired=evaluation.rules_fired,
        ruleset_version=evaluation.ruleset_version,
        policy=evaluation.policy,
        facts=dict(facts),
        decided_by=decided_by,
        supersedes=case.current_decision_id,
    )
    await decisions.add(session, decision)
    on_commit(metrics.DECISIONS.labels(case.case_type, stage, str(decision.outcome)).inc)
    case.current_decision_id = decision.id
    if stage != "proposed":
        case.outcome = decision.outcome
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
