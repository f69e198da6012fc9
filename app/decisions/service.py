"""Runs the rules on a case's facts and records the decision, superseding the case's last one."""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.decisions import repository as decisions
from app.errors import InvalidRequest, NotFound
from app.events import service as events
from app.ids import new_id
from app.models import Case, Decision
from app.observability import metrics
from app.observability.context import on_commit
from app.rules_engine.engine import Evaluation


async def record(
    session: AsyncSession,
    case: Case,
    evaluation: Evaluation,
    *,
    facts: Mapping[str, Any],
    stage: str,
    decided_by: dict[str, Any],
) -> Decision:
    """Stores a decision as the case's current one, superseding (never editing) the last."""
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
        decided_by=decided_by["kind"],
        supersedes=decision.supersedes,
    )
    return decision


async def get(session: AsyncSession, decision_id: str) -> Decision:
    decision = await decisions.get(session, decision_id)
    if decision is None:
        raise NotFound(f"No decision {decision_id}.")
    return decision


def _utc(moment: datetime | None) -> datetime | None:
    # RFC 3339 requires an offset; a time written without one is read as UTC, as documented.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


async def find(
    session: AsyncSession,
    *,
    order_id: str | None,
    vendor_id: str | None,
    case_type: str | None,
    outcome: str | None,
    since: datetime | None,
    until: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[Decision]:
    """Decisions matching every given filter, newest first; decided in [since, until)."""
    since, until = _utc(since), _utc(until)
    if since is not None and until is not None and until <= since:
        raise InvalidRequest("until must be later than since.", "until", "query")
    query = decisions.listing(
        order_id=order_id,
        vendor_id=vendor_id,
        case_type=case_type,
        outcome=outcome,
        since=since,
        until=until,
        after=after,
        limit=limit,
    )
    return await decisions.page(session, query)
