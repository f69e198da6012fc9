"""The active ruleset as its users read it: what every decision here is made by."""

from app.rules_engine.engine import RulesEngine
from app.rulesets.schemas import PolicyValueOut, RuleOut, RulesetOut, TableOut


def describe(engine: RulesEngine) -> RulesetOut:
    values = engine.policy.as_dict()
    tables = []
    for table in sorted(engine.tables.values(), key=lambda t: t.name):
        # The validated file as ops wrote it, not the compiled form.
        definition = table.definition
        tables.append(
            TableOut(
                name=table.name,
                case_type=table.case_type,
                description=table.description,
                mode=table.mode,
                facts=dict(table.facts),
                outcomes=list(table.outcomes),
                codes={name: list(codes) for name, codes in table.codes.items()},
                messages=dict(table.messages),
                customer=definition.get("customer"),
                rules=[RuleOut.model_validate(rule) for rule in definition["rules"]],
            )
        )
    policy = [
        PolicyValueOut(
            name=name,
            value=values[name],
            default=entry.value,
            unit=entry.unit,
            description=entry.description,
            source=entry.source,
        )
        for name, entry in engine.policy_entries.items()
    ]
    return RulesetOut(version=engine.version, tables=tables, policy=policy)
