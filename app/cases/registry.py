"""Every case type, by name: what overrides, simulations, the watcher and the views go
through, instead of asking what a case is; and the rules engine, checked against them."""

from collections.abc import Mapping
from enum import Enum, StrEnum
from pathlib import Path

from app.cases.case_type import CaseType
from app.effects.catalogue import VOCABULARY
from app.errors import NotFound
from app.fail_reasons import service as fail_reasons
from app.payment_discrepancies import service as payment_discrepancies
from app.payout_disputes import service as payout_disputes
from app.pickup_complaints import service as pickup_complaints
from app.rules_engine.engine import RulesEngine, build_engine
from app.rules_engine.errors import RulesError

CASE_TYPES: dict[str, CaseType] = {
    case_type.name: case_type
    for case_type in (
        payout_disputes.CASE,
        fail_reasons.CASE,
        pickup_complaints.CASE,
        payment_discrepancies.CASE,
    )
}
# The names as a type, for the filters that take one (an unknown name is a 422).
CaseTypeName = Enum("CaseTypeName", {name: name for name in CASE_TYPES}, type=StrEnum)  # type: ignore[misc]


def case_type_of(name: str) -> CaseType:
    try:
        return CASE_TYPES[name]
    except KeyError:
        raise NotFound(f"No case type {name}.") from None


def build_rules(rules_dir: Path, environ: Mapping[str, str]) -> RulesEngine:
    """The rules engine for this application's actions, refused unless every case type has
    its table, and every customer-facing one a text for the customer at each final outcome."""
    engine = build_engine(rules_dir, environ, VOCABULARY)
    for case_type in CASE_TYPES.values():
        table = engine.tables.get(case_type.table)
        if table is None:
            raise RulesError(f"{rules_dir}: no table {case_type.table} for {case_type.name} cases")
        if not case_type.customer_facing:
            continue
        if table.customer is None:
            raise RulesError(
                f"{table.source}: customer: {case_type.name} cases are customer-facing; the "
                "table needs the customer's texts (acknowledged, update, resolved)"
            )
        missing = [o for o in case_type.final_outcomes(table) if o not in table.customer.resolved]
        if missing:
            raise RulesError(
                f"{table.source}: customer.resolved: no text for the final outcome(s) "
                f"{', '.join(missing)}"
            )
    return engine


def known_outcomes(engine: RulesEngine) -> tuple[str, ...]:
    """Every outcome any case type's table can reach, sorted."""
    return tuple(sorted({o for c in CASE_TYPES.values() for o in engine.tables[c.table].outcomes}))
