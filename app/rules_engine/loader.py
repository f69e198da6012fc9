"""Loading rule tables: YAML files under rules/ that ops can read, checked before anything runs.

Loading is two passes. Pydantic checks the shape of each file; then every rule is checked
against the table's declared facts, the action vocabulary it is given (app.effects) and the
policy names, and turned into the frozen objects of app.rules_engine.model that the engine
compiles. Every error names the file, the rule and the field, because the person fixing it
is reading the YAML, not a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.rules_engine.errors import RulesError
from app.rules_engine.model import (
    AMOUNT_KINDS,
    CUSTOMER_PLACEHOLDERS,
    ESCALATION_TARGETS,
    OUTCOME_PLACEHOLDERS,
    TICKET_FIELDS,
    TICKET_PRIORITIES,
    Action,
    Condition,
    CustomerTexts,
    FactRef,
    FactType,
    Mode,
    Operand,
    Operator,
    ParamKind,
    ParamValue,
    PolicyRef,
    Rule,
    Scalar,
    Table,
    Vocabulary,
)
from app.rules_engine.policy import POLICY_FILE, policy_names, policy_type, policy_unit
from app.rules_engine.templates import check_template

# durable-rules adds these keys to every message and state; a fact with one of these
# names would be silently overwritten.
RESERVED_FACT_NAMES = frozenset({"sid", "id"})
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


# --- first pass: shape -------------------------------------------------------------------

_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
_NAME = re.compile(_NAME_PATTERN)


class _RawRule(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(pattern=_NAME_PATTERN)
    description: str = Field(min_length=1)
    when: dict[str, Any] = Field(default_factory=dict)
    outcome: str | None = None
    actions: list[dict[str, Any]] = Field(default_factory=list)
    ticket: dict[str, str] = Field(default_factory=dict)


class _RawCustomerTexts(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    acknowledged: str = Field(min_length=1)
    update: str = Field(min_length=1)
    resolved: dict[str, str] = Field(min_length=1)


class _RawTable(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    table: str = Field(pattern=_NAME_PATTERN)
    case_type: str = Field(pattern=_NAME_PATTERN)
    description: str = Field(min_length=1)
    mode: Mode = "collect"
    facts: dict[str, FactType] = Field(min_length=1)
    outcomes: list[str] = Field(default_factory=list)
    codes: dict[str, list[str]] = Field(default_factory=dict)
    messages: dict[str, str] = Field(default_factory=dict)
    customer: _RawCustomerTexts | None = None
    rules: list[_RawRule] = Field(min_length=1)


# --- loading -----------------------------------------------------------------------------


def load_tables(rules_dir: Path, vocabulary: Vocabulary) -> dict[str, Table]:
    """Every ``*.yaml`` in ``rules_dir`` except policy.yaml, keyed by table name."""
    if not rules_dir.is_dir():
        raise RulesError(f"{rules_dir}: rules directory not found")
    tables: dict[str, Table] = {}
    for path in sorted(rules_dir.glob("*.yaml")):
        if path.name == POLICY_FILE:
            continue
        table = load_table(path, vocabulary)
        tables[table.name] = table
    return tables


def load_table(path: Path, vocabulary: Vocabulary) -> Table:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"{path}: cannot read rule table: {exc}") from exc
    if not isinstance(raw, dict):
        raise RulesError(f"{path}: expected a mapping with table, facts and rules")
    try:
        parsed = _RawTable.model_validate(raw)
    except ValidationError as exc:
        raise RulesError(_describe_validation_error(path, raw, exc)) from exc
    return _build_table(path, parsed, vocabulary)


def _describe_validation_error(path: Path, raw: Mapping[str, Any], exc: ValidationError) -> str:
    messages = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = ""
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            index = loc[1]
            rules = raw.get("rules")
            name = None
            if isinstance(rules, list) and index < len(rules) and isinstance(rules[index], dict):
                name = rules[index].get("name")
            where = f"rule {name!r} (#{index + 1}): " if name else f"rule #{index + 1}: "
            loc = loc[2:]
        field_name = ".".join(str(part) for part in loc) or "(table)"
        messages.append(f"{where}{field_name}: {error['msg']}")
    return f"{path}: " + "; ".join(messages)


def _build_table(path: Path, raw: _RawTable, vocabulary: Vocabulary) -> Table:
    source = str(path)
    if raw.table != path.stem:
        raise RulesError(f"{source}: table: {raw.table!r} must match the file name ({path.stem!r})")

    for fact_name in raw.facts:
        if not _is_name(fact_name) or fact_name in RESERVED_FACT_NAMES:
            raise RulesError(
                f"{source}: facts.{fact_name}: fact names are snake_case and not "
                f"{sorted(RESERVED_FACT_NAMES)}"
            )

    if len(set(raw.outcomes)) != len(raw.outcomes):
        raise RulesError(f"{source}: outcomes: listed twice: {_duplicates(raw.outcomes)}")

    seen_codes: dict[str, str] = {}
    for code_class, codes in raw.codes.items():
        for code in codes:
            if not _is_name(code):
                raise RulesError(f"{source}: codes.{code_class}: {code!r} is not snake_case")
            if code in seen_codes:
                where = (
                    f"twice in {code_class!r}"
                    if seen_codes[code] == code_class
                    else f"in both {seen_codes[code]!r} and {code_class!r}"
                )
                raise RulesError(f"{source}: codes: {code!r} appears {where}")
            seen_codes[code] = code_class

    facts: dict[str, FactType] = dict(raw.facts)
    for template, text in raw.messages.items():
        where = f"{source}: messages.{template}"
        if not _is_name(template):
            raise RulesError(f"{where}: template names are snake_case")
        if not text.strip():
            raise RulesError(f"{where}: the text is empty")
        check_template(text, facts, where)
    rules: list[Rule] = []
    seen_rules: set[str] = set()
    for raw_rule in raw.rules:
        where = f"{source}: rule {raw_rule.name!r}"
        if raw_rule.name in seen_rules:
            raise RulesError(f"{where}: name: duplicate rule name")
        seen_rules.add(raw_rule.name)
        if raw_rule.outcome is not None and raw_rule.outcome not in raw.outcomes:
            raise RulesError(
                f"{where}: outcome: {raw_rule.outcome!r} is not one of the table's "
                f"outcomes {raw.outcomes}"
            )
        conditions = tuple(
            _parse_condition(fact_name, value, facts, f"{where}: when.{fact_name}")
            for fact_name, value in raw_rule.when.items()
        )
        actions = tuple(
            _parse_action(raw_action, facts, vocabulary, f"{where}: actions[{index}]")
            for index, raw_action in enumerate(raw_rule.actions)
        )
        for index, action in enumerate(actions):
            sent = action.params.get("template")
            # A table that owns texts must own every template it sends: a typo would
            # otherwise go out as a notification without text.
            if raw.messages and isinstance(sent, str) and sent not in raw.messages:
                raise RulesError(
                    f"{where}: actions[{index}] (notify).template: {sent!r} is not one of "
                    f"the table's messages {sorted(raw.messages)}"
                )
        _check_ticket(raw_rule.ticket, f"{where}: ticket")
        rules.append(
            Rule(
                name=raw_rule.name,
                description=raw_rule.description,
                conditions=conditions,
                outcome=raw_rule.outcome,
                actions=actions,
                ticket=dict(raw_rule.ticket),
            )
        )

    return Table(
        name=raw.table,
        case_type=raw.case_type,
        description=raw.description,
        mode=raw.mode,
        facts=facts,
        outcomes=tuple(raw.outcomes),
        codes={code_class: tuple(codes) for code_class, codes in raw.codes.items()},
        rules=tuple(rules),
        source=source,
        definition=raw.model_dump(mode="json"),
        messages=dict(raw.messages),
        customer=_customer_texts(raw, facts, source),
    )


def _customer_texts(
    raw: _RawTable, facts: Mapping[str, FactType], source: str
) -> CustomerTexts | None:
    if raw.customer is None:
        return None
    about_case = dict(CUSTOMER_PLACEHOLDERS)
    check_template(raw.customer.acknowledged, about_case, f"{source}: customer.acknowledged")
    check_template(raw.customer.update, about_case, f"{source}: customer.update")
    about_outcome = {**facts, **about_case, **OUTCOME_PLACEHOLDERS}
    for outcome, text in raw.customer.resolved.items():
        where = f"{source}: customer.resolved.{outcome}"
        if outcome not in raw.outcomes:
            raise RulesError(f"{where}: not one of the table's outcomes {raw.outcomes}")
        if not text.strip():
            raise RulesError(f"{where}: the text is empty")
        check_template(text, about_outcome, where)
    return CustomerTexts(
        acknowledged=raw.customer.acknowledged,
        update=raw.customer.update,
        resolved=dict(raw.customer.resolved),
    )


def _check_ticket(ticket: Mapping[str, str], where: str) -> None:
    for name, value in ticket.items():
        if name not in TICKET_FIELDS:
            raise RulesError(
                f"{where}: unknown ticket field {name!r}; known: {list(TICKET_FIELDS)}"
            )
        if name == "priority" and value not in TICKET_PRIORITIES:
            raise RulesError(f"{where}.priority: {value!r} is not one of {list(TICKET_PRIORITIES)}")
        if not _is_name(value):
            raise RulesError(f"{where}.{name}: {value!r} is not snake_case")


# --- conditions --------------------------------------------------------------------------


def _parse_condition(
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


def _parse_action(
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


# --- helpers -----------------------------------------------------------------------------


def _is_name(text: str) -> bool:
    return _NAME.fullmatch(text) is not None


def _duplicates(items: Sequence[str]) -> list[str]:
    return sorted({item for item in items if items.count(item) > 1})
