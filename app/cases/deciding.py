"""How any decision is made to count: checked, recorded, carried out, and the case moved.

Every decision of every case type, the rules' own, an ops override, an ops manager's
finding or finance's rejection, goes through :func:`decide`:

1. its money is checked by the one gate (app.effects.guard);
2. it is recorded, superseding the case's current decision (never editing it);
3. what the superseded decision applied and is still in force is reversed;
4. its own actions are applied (app.effects.ledger);
5. the case moves where the decision leaves it (app.cases.lifecycle).

The caller holds the locks of app.cases.locks.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import lifecycle
from app.cases.case_type import CaseType, Stage
from app.cases.locks import Locked
from app.db import clock
from app.decisions import service as decisions
from app.effects import guard, ledger
from app.effects import repository as ledger_rows
from app.effects.context import Applying
from app.models import Decision
from app.observability import metrics
from app.rules_engine.engine import Evaluation, RulesEngine

# Checks the caller may act on a vendor's case (a vendor key only on its own); raises.
Authorize = Callable[[str | None], None]


def anyone(_: str | None) -> None:
    return None


@dataclass(frozen=True)
class Actor:
    """Who made a decision happen: a key (``role:key_id``) and the person behind it, or the
    rules and the watcher that fired them."""

    key: str
    name: str | None = None
    role: str | None = None

    def recorded(self) -> dict[str, Any]:
        return {"actor": self.key, "name": self.name, "role": self.role}


RULES = Actor(key="rules")


def evaluate(engine: RulesEngine, table: str, facts: dict[str, Any]) -> Evaluation:
    """The rules' answer to ``facts``, timed for the rule_evaluation_seconds metric."""
    started = time.perf_counter()
    evaluation = engine.evaluate(table, facts)
    metrics.RULE_SECONDS.labels(table).observe(time.perf_counter() - started)
    return evaluation


async def decide(
    session: AsyncSession,
    engine: RulesEngine,
    locked: Locked,
    case_type: CaseType,
    evaluation: Evaluation,
    *,
    facts: dict[str, Any],
    decided_by: dict[str, Any],
    decider: guard.Decider,
    actor: Actor = RULES,
    received: int = 0,
    wallet_confirmed: int | None = None,
    stage: Stage | None = None,
    replaces: bool = True,
) -> Decision:
    """``replaces``: the decision states the whole case, so what the case's earlier decisions
    applied and is still in force is undone first (False only for finance's rejection, which
    takes nothing back but its payout, and leaves the rest to the ops manager's decision)."""
    case = locked.case
    stage = stage or case_type.stage_of(evaluation.outcome)
    actions = evaluation.actions
    undoing: list[ledger_rows.Effected] = []
    if stage != Stage.PROPOSED:
        if replaces and case.current_decision_id is not None:
            undoing = await ledger_rows.in_force_of_case(session, case.id)
        actions = await guard.check(
            session,
            locked,
            evaluation.actions,
            policy=engine.policy,
            decider=decider,
            money_actions=case_type.money_actions(engine.tables[case_type.table]),
            undoing={made.entry.id for made in undoing},
            received=received,
            wallet_confirmed=wallet_confirmed,
        )
        actions += await _kept_by_strikes(session, engine, locked, actions, undoing)
    decision = await decisions.record(
        session,
        case,
        replace(evaluation, actions=actions),
        facts=facts,
        stage=stage,
        decided_by={**decided_by, "role": actor.role},
    )
    if stage != Stage.PROPOSED:
        ctx = Applying(session, case, locked.vendor, actor.key, actor.name)
        if undoing:
            await ledger.reverse(ctx, decision, undoing)
        await ledger.apply(ctx, decision)
    await lifecycle.after_decision(session, engine, locked, case_type, decision)
    return decision


async def decide_by_rules(
    session: AsyncSession,
    engine: RulesEngine,
    locked: Locked,
    case_type: CaseType,
    facts: dict[str, Any],
    *,
    decided_by: dict[str, Any],
    evaluation: Evaluation | None = None,
    **options: Any,
) -> Decision:
    """The case type's table decides ``facts``; ``decided_by`` says who asked (the rules are
    recorded as the decider). ``options`` are :func:`decide`'s."""
    return await decide(
        session,
        engine,
        locked,
        case_type,
        evaluation or evaluate(engine, case_type.table, facts),
        facts=facts,
        decided_by={"kind": "rules", **decided_by},
        decider=guard.Decider("rules"),
        **options,
    )


async def _kept_by_strikes(
    session: AsyncSession,
    engine: RulesEngine,
    locked: Locked,
    actions: list[dict[str, Any]],
    undoing: list[ledger_rows.Effected],
) -> list[dict[str, Any]]:
    """A hold (or deactivation review) the decision undoes stays when the vendor's active
    strikes still reach its count without the strikes it undoes: the vendor stays where its
    strikes put it. Returned as actions of the decision that undoes it, so the ledger says
    why."""
    undone = {made.entry.kind for made in undoing if made.settlement is None}
    if locked.vendor is None or not undone & {"hold_vendor", "deactivation_review"}:
        return []
    policy = engine.policy
    now = await clock.now(session)
    expiry = timedelta(days=policy.strike_expiry_days)
    strikes = await ledger_rows.active_strikes(
        session, locked.vendor.id, expiry_days=policy.strike_expiry_days, now=now
    )
    strikes -= sum(
        1
        for made in undoing
        if made.entry.kind == "sla_strike" and made.entry.created_at > now - expiry
    )
    strikes += sum(1 for action in actions if action["type"] == "sla_strike")
    given = {action["type"] for action in actions}
    kept = []
    for kind, count in (
        ("hold_vendor", policy.strike_hold_count),
        ("deactivation_review", policy.strike_deactivate_count),
    ):
        if kind in undone and kind not in given and strikes >= count:
            kept.append({"type": kind, "kept_because": "active_strikes", "active_strikes": strikes})
    return kept
