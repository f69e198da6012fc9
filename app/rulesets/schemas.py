from typing import Any

from pydantic import Field

from app.api.schemas import OutputModel


class RuleOut(OutputModel):
    name: str
    description: str
    when: dict[str, Any] = Field(
        description="Conditions on the facts, all of which must hold, as written in the table: "
        "a value, {in: [...]}, {gte: ...} and the like; {policy: name} is a policy value."
    )
    outcome: str | None
    actions: list[dict[str, Any]] = Field(
        description="As written; {fact: name} is filled from the facts when the rule fires."
    )
    ticket: dict[str, str]


class CustomerTextsOut(OutputModel):
    acknowledged: str = Field(description="Sent when a case opens.")
    update: str = Field(description="Sent every customer_update_hours while the case is open.")
    resolved: dict[str, str] = Field(description="Sent at resolution, by the outcome in force.")


class TableOut(OutputModel):
    name: str
    case_type: str
    description: str
    mode: str = Field(description="collect: every matching rule fires; first_hit: the first.")
    facts: dict[str, str] = Field(description="Each fact the rules see, and its type.")
    outcomes: list[str]
    codes: dict[str, list[str]] = Field(description="The table's codes, by class.")
    messages: dict[str, str] = Field(description="Texts of the notifications it sends.")
    customer: CustomerTextsOut | None = Field(
        description="What the customer hears of its cases; null when the customer never does."
    )
    rules: list[RuleOut] = Field(description="In firing order.")


class PolicyValueOut(OutputModel):
    name: str
    value: int | float | str = Field(description="The value in force (POLICY_<NAME> may override).")
    default: int | float | str = Field(description="The value in rules/policy.yaml.")
    unit: str
    description: str
    source: str = Field(description="The page of docs/ that explains the value and its origin.")


class RulesetOut(OutputModel):
    version: str = Field(description="Every decision records the version it was made by.")
    tables: list[TableOut]
    policy: list[PolicyValueOut]
