from typing import Any

from pydantic import Field

from app.schemas.common import OutputModel


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


class TableOut(OutputModel):
    name: str
    case_type: str
    description: str
    mode: str = Field(description="collect: every matching rule fires; first_hit: the first.")
    facts: dict[str, str] = Field(description="Each fact the rules see, and its type.")
    outcomes: list[str]
    codes: dict[str, list[str]] = Field(description="The table's codes, by class.")
    messages: dict[str, str] = Field(description="Texts of the notifications it sends.")
    rules: list[RuleOut] = Field(description="In firing order.")


class PolicyValueOut(OutputModel):
    name: str
    value: int | float | str = Field(description="The value in force (POLICY_<NAME> may override).")
    default: int | float | str = Field(description="The value in rules/policy.yaml.")
    unit: str
    description: str
    source: str = Field(description="Where the value comes from in the procedures.")


class RulesetOut(OutputModel):
    version: str = Field(description="Every decision records the version it was made by.")
    tables: list[TableOut]
    policy: list[PolicyValueOut]
