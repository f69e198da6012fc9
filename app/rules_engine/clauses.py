"""A rule's clauses: its ``when`` conditions and its ``then`` actions, each checked against
the table's facts, the action vocabulary and the policy values, and turned into the model's
frozen objects. Errors name the place in the YAML (``where``) the rule was read from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.rules_engine.errors import RulesError
from app.rules_engine.model import (
    AMOUNT_KINDS,
    ESCALATION_TARGETS,
    Action,
    Condition,
    FactRef,
    FactType,
    Operand,
    Operator,
    ParamKind,
    ParamValue,
    PolicyRef,
    Scalar,
    Vocabulary,
)
from app.rules_engine.policy import policy_names, policy_type, policy_unit
from app.rules_engine.templates import check_template

ORDER_OPERATORS = frozenset({"gte", "gt", "lte", "lt"})
LIST_OPERATORS = frozenset({"in", "not_in"})
OPERATORS = frozenset({"ne", "gte", "gt", "lte", "lt"}) | LIST_OPERATORS

_KIND_FACT_TYPE: dict[ParamKind, FactType] = {
    "paise": "int",
    "credits": "int",
    "count": "int",
    "bool": "bool",
    "code": "str",
    "target": "str",
    "text": "str",
}


# --- conditions --------------------------------------------------------------------------


def parse_condition(
    fact_name: str, raw: Any, facts: Mapping[str, FactType], where: str
) -> Condition:
    if fact_name not in facts:
        raise RulesError(f"{where}: unknown fact {fact_name!r}; declared facts: {sorted(facts)}")
    fact_type = facts[fact_name]

    if isinstance(raw, dict) and set(raw) != {"policy"}:
        if len(raw) != 1 or next(iter(raw)) not in OPERATORS:
            raise RulesError(
                f"{where}: expected a value, {{policy: name}} or exactly one operator of "
                f"{sorted(OPERATORS)}; got {raw!r}"
            )
        op_name, argument = next(iter(raw.items()))
        op: Operator = op_name
        if op in ORDER_OPERATORS and fact_type not in ("int", "float"):
            raise RulesError(f"{where}: {op} needs a number fact; {fact_name!r} is {fact_type}")
        if op in LIST_OPERATORS:
            if not isinstance(argument, list) or not argument:
                raise RulesError(f"{where}: {op} needs a non-empty list")
            operands = tuple(
                _parse_operand(item, fact_type, f"{where}.{op}[{index}]")
                for index, item in enumerate(argument)
            )
            return Condition(fact=fact_name, op=op, operand=operands)
        return Condition(
            fact=fact_name, op=op, operand=_parse_operand(argument, fact_type, f"{where}.{op}")
        )
    if isinstance(raw, list):
        raise RulesError(f"{where}: a list needs an operator: {{in: [...]}} or {{not_in: [...]}}")
    return Condition(fact=fact_name, op="eq", operand=_parse_operand(raw, fact_type, where))


def _parse_operand(raw: Any, fact_type: FactType, where: str) -> Operand:
    if isinstance(raw, dict):
        if set(raw) != {"policy"}:
            raise RulesError(f"{where}: expected a value or {{policy: name}}; got {raw!r}")
        if fact_type not in ("int", "float"):
            raise RulesError(f"{where}: policy values are numbers; the fact is {fact_type}")
        name = _policy_name(raw["policy"], where)
        if policy_type(name) is str:
            raise RulesError(f"{where}: policy {name!r} is text, not a number")
        return PolicyRef(name)
    if not _fits(raw, fact_type):
        raise RulesError(f"{where}: {raw!r} is not a {fact_type} value")
    value: Scalar = raw
    return value


def _fits(value: Any, fact_type: FactType) -> bool:
    if fact_type == "bool":
        return isinstance(value, bool)
    if fact_type == "str":
        return isinstance(value, str)
    # Comparing an int fact with a fractional threshold is meaningful; bool never is.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _policy_name(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or raw not in policy_names():
        raise RulesError(f"{where}: unknown policy {raw!r}; known: {sorted(policy_names())}")
    return raw


# --- actions -----------------------------------------------------------------------------


def parse_action(
    raw: Mapping[str, Any], facts: Mapping[str, FactType], vocabulary: Vocabulary, where: str
) -> Action:
    action_type = raw.get("type")
    if not isinstance(action_type, str) or action_type not in vocabulary:
        raise RulesError(
            f"{where}.type: unknown action type {action_type!r}; known: {sorted(vocabulary)}"
        )
    where = f"{where} ({action_type})"
    spec = vocabulary[action_type]
    given = {key: value for key, value in raw.items() if key != "type"}
    extra = sorted(set(given) - set(spec))
    if extra:
        raise RulesError(f"{where}: unexpected params {extra}; {action_type} takes {sorted(spec)}")
    missing = sorted(set(spec) - set(given))
    if missing:
        raise RulesError(f"{where}: missing params {missing}")
    params = {
        name: _parse_param(given[name], kind, facts, f"{where}.{name}")
        for name, kind in spec.items()
    }
    return Action(type=action_type, params=params, kinds=dict(spec))


def _parse_param(
    raw: Any, kind: ParamKind, facts: Mapping[str, FactType], where: str
) -> ParamValue:
    if isinstance(raw, dict):
        if set(raw) == {"fact"}:
            fact_name = raw["fact"]
            if not isinstance(fact_name, str) or fact_name not in facts:
                raise RulesError(
                    f"{where}: unknown fact {fact_name!r}; declared facts: {sorted(facts)}"
                )
            if facts[fact_name] != _KIND_FACT_TYPE[kind]:
                raise RulesError(
                    f"{where}: fact {fact_name!r} is {facts[fact_name]}; this param needs "
                    f"{_KIND_FACT_TYPE[kind]}"
                )
            return FactRef(fact_name)
        if set(raw) == {"policy"}:
            name = _policy_name(raw["policy"], where)
            # A credits param takes a credits policy, a paise param a paise one: the units
            # never mix.
            if kind not in AMOUNT_KINDS or policy_unit(name) != kind:
                raise RulesError(
                    f"{where}: policy {name!r} is in {policy_unit(name)}; this param is {kind}"
                )
            return PolicyRef(name)
        raise RulesError(f"{where}: expected a value, {{fact: name}} or {{policy: name}}")

    if kind in AMOUNT_KINDS:
        if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
            raise RulesError(f"{where}: {raw!r} is not a whole number >= 0")
    elif kind == "bool":
        if not isinstance(raw, bool):
            raise RulesError(f"{where}: {raw!r} is not true or false")
    elif kind == "target":
        if raw not in ESCALATION_TARGETS:
            raise RulesError(f"{where}: {raw!r} is not one of {list(ESCALATION_TARGETS)}")
    else:
        if not isinstance(raw, str) or not raw:
            raise RulesError(f"{where}: {raw!r} is not a non-empty string")
        if kind == "text":
            check_template(raw, facts, where)
    value: Scalar = raw
    return value
