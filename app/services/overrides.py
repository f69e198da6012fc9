"""Ops replaces a case's decision with its own; the decision it replaces stays on record.

The override is a final decision. If the decision it supersedes was final, everything that
one applied is reversed first by new ledger entries; then the override's own actions are
applied like any decision's. If it supersedes only a proposal (a fail reason awaiting the
verdict), nothing was applied, and the override decides the case as a verdict would: the
case is resolved (and for a fail reason the order fails).
"""

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Case
from app.repositories import vendors
from app.rules_engine.engine import Evaluation, RulesEngine
from app.schemas.cases import OverrideIn
from app.services import decisions, effects, fail_reasons
from app.services.cases import get as get_case
from app.services.cases import resolve as resolve_case
from app.services.errors import Conflict, InvalidRequest

Closer = Callable[[AsyncSession, Case, str | None], Awaitable[None]]

# How a case type is closed when its first final decision comes from an override.
CLOSERS: dict[str, Closer] = {fail_reasons.CASE_TYPE: fail_reasons.close}


def _table_name(engine: RulesEngine, case: Case) -> str:
    return next(
        (name for name, table in engine.tables.items() if table.case_type == case.case_type), ""
    )


def _check(engine: RulesEngine, case: Case, outcome: str, actions: list[dict[str, Any]]) -> None:
    table = engine.tables.get(_table_name(engine, case))
    if table is not None and outcome not in table.outcomes:
        raise InvalidRequest(
            f"'{outcome}' is not an outcome of {case.case_type} cases; "
            f"known: {', '.join(table.outcomes)}.",
            "outcome",
        )
    if case.vendor_id is None:
        for index, action in enumerate(actions):
            if action["type"] in effects.LEDGER_ACTIONS:
                raise InvalidRequest(
                    f"Case {case.id} names no vendor; a {action['type']} action needs one.",
                    f"actions[{index}]",
                )


async def override(
    session: AsyncSession, engine: RulesEngine, actor: str, case_id: str, body: OverrideIn
) -> Case:
    unlocked = await get_case(session, case_id)
    actions = [action.model_dump() for action in body.actions]
    _check(engine, unlocked, body.outcome, actions)
    # Vendor first, then the case, as every decision that changes a vendor's standing.
    vendor = await vendors.lock(session, unlocked.vendor_id) if unlocked.vendor_id else None
    case = await get_case(session, case_id, for_update=True)
    if case.current_decision_id is None:
        raise Conflict(f"Case {case_id} has no decision to override.")
    superseded = await decisions.get(session, case.current_decision_id)
    decision = await decisions.record(
        session,
        case,
        Evaluation(
            table=_table_name(engine, case),
            outcome=body.outcome,
            actions=actions,
            rules_fired=[],
            ruleset_version=engine.version,
            policy=engine.policy.as_dict(),
            ticket={},
        ),
        # What the superseded decision saw: the override answers the same situation.
        facts=superseded.facts,
        stage="final",
        decided_by={"kind": "ops_override", "actor": actor, "reason": body.reason},
    )
    if superseded.stage == "final" and vendor is not None:
        await effects.reverse(session, superseded, decision, case, vendor, actor)
    await effects.apply(session, decision, case, vendor, actor)
    if superseded.stage == "proposed":
        await CLOSERS.get(case.case_type, resolve_case)(session, case, decision.outcome)
    elif case.resolved_at is not None:
        case.ticket = {**case.ticket, "status": decision.outcome}
    return case
