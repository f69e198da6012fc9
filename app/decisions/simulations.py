"""What the rules would decide for a case body, with nothing stored: no case, no decision, no
ledger entry, no event. Each case type finds the facts (CaseType.simulate) with the same
code as its real endpoint."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.api.schemas import whole
from app.cases.registry import case_type_of
from app.decisions.simulation_schemas import SimulationIn, SimulationOut
from app.errors import InvalidRequest
from app.rules_engine.engine import RulesEngine, fact_fits
from app.rules_engine.errors import RulesError
from app.rules_engine.model import Table


def _override(table: Table, facts: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    taken = {}
    for name, value in overrides.items():
        if name not in table.facts:
            raise InvalidRequest(
                f"'{name}' is not a fact of {table.case_type}; known: {', '.join(table.facts)}.",
                f"facts.{name}",
            )
        # An integer fact reads numbers as every body does (app.api.schemas): 2.0 is 2.
        if table.facts[name] == "int":
            value = whole(value)
        if not fact_fits(value, table.facts[name]):
            raise InvalidRequest(f"{name} must be a {table.facts[name]}.", f"facts.{name}")
        taken[name] = value
    return {**facts, **taken}


async def simulate(session: AsyncSession, engine: RulesEngine, body: SimulationIn) -> SimulationOut:
    case_type = case_type_of(body.case_type)
    simulated = await case_type.simulate(session, engine, body)
    table = case_type.table
    facts = _override(engine.tables[table], simulated.facts, body.facts)
    try:
        evaluation = engine.evaluate(table, facts)
    except RulesError as exc:
        # Facts a real case could never have (two rows deciding at once, an amount below
        # zero): the caller's facts are at fault, not the service.
        raise InvalidRequest(
            f"These facts are not a situation the table can decide: {exc}",
            "facts",
        ) from exc
    return SimulationOut(
        case_type=body.case_type,
        order_id=simulated.order_id,
        vendor_id=simulated.vendor_id,
        stage=simulated.stage,
        outcome=evaluation.outcome,
        actions=evaluation.actions,
        ticket=evaluation.ticket,
        rules_fired=evaluation.rules_fired,
        ruleset_version=evaluation.ruleset_version,
        policy=evaluation.policy,
        facts=facts,
        overridden_facts=list(body.facts),
    )
