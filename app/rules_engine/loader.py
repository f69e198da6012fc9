"""Loading rule tables: YAML files under rules/ that ops can read, checked before anything runs.

Loading is two passes. Pydantic checks the shape of each file; then every rule is checked
against the table's declared facts, the action vocabulary it is given (app.effects) and the
policy names (a rule's clauses in app.rules_engine.clauses), and turned into the frozen
objects of app.rules_engine.model that the engine compiles. Every error names the file, the
rule and the field, because the person fixing it is reading the YAML, not a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.rules_engine.clauses import parse_action, parse_condition
from app.rules_engine.errors import RulesError
from app.rules_engine.model import (
    CUSTOMER_PLACEHOLDERS,
    OUTCOME_PLACEHOLDERS,
    TICKET_FIELDS,
    TICKET_PRIORITIES,
    CustomerTexts,
    FactType,
    Mode,
    Rule,
    Table,
    Vocabulary,
)
from app.rules_engine.policy import POLICY_FILE
from app.rules_engine.templates import check_template

# durable-rules adds these keys to every message and state; a fact with one of these
# names would be silently overwritten.
RESERVED_FACT_NAMES = frozenset({"sid", "id"})


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
            parse_condition(fact_name, value, facts, f"{where}: when.{fact_name}")
            for fact_name, value in raw_rule.when.items()
        )
        actions = tuple(
            parse_action(raw_action, facts, vocabulary, f"{where}: actions[{index}]")
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


# --- helpers -----------------------------------------------------------------------------


def _is_name(text: str) -> bool:
    return _NAME.fullmatch(text) is not None


def _duplicates(items: Sequence[str]) -> list[str]:
    return sorted({item for item in items if items.count(item) > 1})
