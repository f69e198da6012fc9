"""The rule model: what a loaded, checked rule table is (app.rules_engine.loader makes it).

Plain frozen objects, so the engine compiles them and nothing can change them afterwards.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FactType = Literal["str", "int", "bool", "float"]
Scalar = str | int | float | bool
Mode = Literal["collect", "first_hit"]
Operator = Literal["eq", "ne", "in", "not_in", "gte", "gt", "lte", "lt"]

# The kinds of an action's parameters. Amounts carry their unit: paise (money), credits
# (lead credits, never money) or a plain count, so a rule cannot put one where the other
# belongs. The action vocabulary itself (which actions exist, with which parameters) is the
# application's (app.effects), handed to the loader.
ParamKind = Literal["paise", "credits", "count", "bool", "code", "target", "text"]
AMOUNT_KINDS: frozenset[str] = frozenset({"paise", "credits", "count"})
Vocabulary = Mapping[str, Mapping[str, ParamKind]]

ESCALATION_TARGETS = ("ops_manager", "finance_manager", "vendor_manager", "cx_team")

# What a rule may set on the case's ticket. Several fired rules may set the same field only
# to the same value, so the file order never silently decides (as with outcomes).
TICKET_FIELDS = ("category", "priority", "assignee_team")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")


@dataclass(frozen=True)
class PolicyRef:
    """``{policy: name}``: replaced by the policy value when the engine is built."""

    name: str


@dataclass(frozen=True)
class FactRef:
    """``{fact: name}`` in an action param: replaced by the fact's value when the rule fires."""

    name: str


Operand = Scalar | PolicyRef
ParamValue = Scalar | FactRef | PolicyRef


@dataclass(frozen=True)
class Condition:
    fact: str
    op: Operator
    # A tuple for in / not_in, a single operand otherwise.
    operand: Operand | tuple[Operand, ...]


@dataclass(frozen=True)
class Action:
    type: str
    params: Mapping[str, ParamValue]
    # Each param's kind, from the vocabulary the table was checked against.
    kinds: Mapping[str, ParamKind] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    conditions: tuple[Condition, ...]
    outcome: str | None
    actions: tuple[Action, ...]
    ticket: Mapping[str, str] = field(default_factory=dict)


# What the customer's texts may say besides the table's facts (app.cases.customers fills
# them): about the case, for every text; and, for an outcome's text, what was done.
CUSTOMER_PLACEHOLDERS: Mapping[str, FactType] = {"order_id": "str", "resolution_due": "str"}
OUTCOME_PLACEHOLDERS: Mapping[str, FactType] = {"platform_paid": "int"}


@dataclass(frozen=True)
class CustomerTexts:
    """What a customer-facing case tells the customer, in the table's words: when it opens,
    every customer_update_hours while it is open, and how it ended (per final outcome)."""

    acknowledged: str
    update: str
    resolved: Mapping[str, str]


@dataclass(frozen=True)
class Table:
    name: str
    case_type: str
    description: str
    mode: Mode
    facts: Mapping[str, FactType]
    outcomes: tuple[str, ...]
    codes: Mapping[str, tuple[str, ...]]
    rules: tuple[Rule, ...]
    source: str
    # The validated file content, normalised; what the ruleset version hashes.
    definition: Mapping[str, Any] = field(repr=False, compare=False)
    # Texts of the notify templates this table owns (placeholders as in ticket notes).
    messages: Mapping[str, str] = field(default_factory=dict)
    # What the customer hears of a case of this table; None when the customer never does.
    customer: CustomerTexts | None = None

    def class_of(self, code: str) -> str | None:
        """The class ("customer", "vendor", ...) a code belongs to, None if unknown."""
        for code_class, codes in self.codes.items():
            if code in codes:
                return code_class
        return None

    def all_codes(self) -> tuple[str, ...]:
        return tuple(code for codes in self.codes.values() for code in codes)

    def rule(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def action_types(self) -> frozenset[str]:
        """Every action type some rule of the table can take."""
        return frozenset(action.type for rule in self.rules for action in rule.actions)
