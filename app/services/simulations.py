"""What the rules would decide for a case body, with nothing stored: no case, no decision, no
ledger entry, no event. The same code computes the facts as the real endpoints."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories import orders
from app.rules_engine.engine import RulesEngine, fact_fits
from app.rules_engine.errors import RulesError
from app.rules_engine.model import Table
from app.schemas.simulations import (
    SimulatedPayoutDispute,
    SimulatedPickupComplaint,
    SimulationIn,
    SimulationOut,
)
from app.services import fail_reasons, payout_disputes, pickup_complaints
from app.services.errors import InvalidRequest
from app.services.payout_dispute_facts import opening_facts


def _override(table: Table, facts: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    for name, value in overrides.items():
        if name not in table.facts:
            raise InvalidRequest(
                f"'{name}' is not a fact of {table.case_type}; known: {', '.join(table.facts)}.",
                f"facts.{name}",
            )
        if not fact_fits(value, table.facts[name]):
            raise InvalidRequest(f"{name} must be a {table.facts[name]}.", f"facts.{name}")
    return {**facts, **overrides}


async def simulate(session: AsyncSession, engine: RulesEngine, body: SimulationIn) -> SimulationOut:
    if isinstance(body, SimulatedPickupComplaint):
        issues = pickup_complaints.issue_codes(engine, body.issues)
        against = await pickup_complaints.subject(session, body)
        facts = await pickup_complaints.complaint_facts(session, engine, issues, against.vendor_id)
        table, stage = pickup_complaints.CASE.table, "final"
        order_id, vendor_id = against.order_id, against.vendor_id
    elif isinstance(body, SimulatedPayoutDispute):
        found = await orders.with_vendor(session, body.order_id)
        if found is None:
            raise InvalidRequest(f"No order {body.order_id}.", "order_id")
        order, _ = found
        details = await payout_disputes.opening(session, order, body)
        facts = opening_facts(details, engine.policy, "opened")
        table, stage = payout_disputes.CASE.table, "interim"
        order_id, vendor_id = order.id, order.vendor_id
    else:
        found = await orders.with_vendor(session, body.order_id)
        if found is None:
            raise InvalidRequest(f"No order {body.order_id}.", "order_id")
        order, vendor = found
        _, facts, _ = await fail_reasons.proposal(session, engine, order, vendor, body)
        table, stage = fail_reasons.CASE.table, "proposed"
        order_id, vendor_id = order.id, order.vendor_id
    facts = _override(engine.tables[table], facts, body.facts)
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
        order_id=order_id,
        vendor_id=vendor_id,
        stage=stage,
        outcome=evaluation.outcome,
        actions=evaluation.actions,
        ticket=evaluation.ticket,
        rules_fired=evaluation.rules_fired,
        ruleset_version=evaluation.ruleset_version,
        policy=evaluation.policy,
        facts=facts,
        overridden_facts=list(body.facts),
    )
