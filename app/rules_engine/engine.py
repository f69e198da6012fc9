"""The durable-rules adapter: the only module of the project that imports ``durable``.

Each table is compiled into one durable-rules ruleset named ``<table>_<version>``, so a
changed table or policy value is a new ruleset and never a change to a registered one
(which durable-rules cannot do). The adapter talks to durable-rules' C engine through its
binding (``durable_rules_engine``, which durable's own ``Host`` wraps) and needs no ``Host``:

- ``Host`` starts two timer threads that call into the engine every 0.2 s and can run
  consequences on their thread; we need no engine timers (deadlines live in Postgres).
- ``Host`` runs a rule's consequence by building a closure around the session's state and
  writing that state back after it; measured here, that Python work cost more than the
  matching. Our rules have no consequences to run: the engine says which rule's action is
  due next (``start_action_for_state``, then ``complete_and_start_action``), in priority
  order, and the adapter only takes its name. Outcome and actions are assembled afterwards
  from the table, so a rule can never do I/O or see the clock.
- The C engine is not safe for concurrent use and never releases the GIL: one process-wide
  lock serialises every call into it.
- A ruleset holds at most 1,024 live sessions: every evaluation uses a fresh sid and deletes
  its state, also on error.
- A message no rule matches is refused as unhandled: that is the decision "no rule
  applies", not an error. But measured here: ``delete_state`` of the session of an
  unhandled message can segfault (it does when that message was the ruleset's first). So
  every ruleset ends with a catch-all rule of the lowest priority: every message is
  handled, and its name is never reported as fired.
- ``$ex`` on ``sid`` never returns; the catch-all tests a declared fact instead.

Measured on durable-rules 2.0.28; tests/rules/ fail if the binding changes what it does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import durable_rules_engine  # type: ignore[import-not-found]  # durable's C binding, untyped

from app.rules_engine.errors import RulesError
from app.rules_engine.loader import load_tables
from app.rules_engine.model import (
    AMOUNT_KINDS,
    ESCALATION_TARGETS,
    Action,
    Condition,
    FactRef,
    Operand,
    ParamValue,
    PolicyRef,
    Rule,
    Scalar,
    Table,
    Vocabulary,
)
from app.rules_engine.policy import Policy, PolicyEntry, load_policy, load_policy_entries
from app.rules_engine.templates import render_template

logger = logging.getLogger(__name__)

# Bumped when the compilation below changes meaning, so the same YAML compiled differently
# gets a different ruleset version.
COMPILER_VERSION = "1"
CATCH_ALL_RULE = "$no_rule_applies"

# The C engine is process-global state; every engine instance shares this lock.
_ENGINE_LOCK = threading.Lock()

_INT64_MAX = 2**63 - 1
_DURABLE_OPERATORS = {"ne": "$neq", "gte": "$gte", "gt": "$gt", "lte": "$lte", "lt": "$lt"}


@dataclass(frozen=True)
class Evaluation:
    table: str
    outcome: str | None  # None when no fired rule set an outcome
    actions: list[dict[str, Any]]  # {"type": ..., **params}, params resolved, each once
    rules_fired: list[str]  # rule names in firing order
    ruleset_version: str
    policy: dict[str, Any]
    ticket: dict[str, str]  # ticket fields the fired rules set


# What durable_rules_engine.assert_event / assert_fact answer first.
_HANDLED, _NOT_HANDLED = 0, 1


def ruleset_version(tables: Mapping[str, Table], policy: Policy) -> str:
    """Content hash of every table and the policy values: same version, same decisions."""
    payload = {
        "compiler": COMPILER_VERSION,
        "tables": {name: tables[name].definition for name in sorted(tables)},
        "policy": policy.as_dict(),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class RulesEngine:
    """Evaluates facts against the compiled tables of one ruleset version."""

    def __init__(
        self,
        tables: Mapping[str, Table],
        policy: Policy,
        policy_entries: Mapping[str, PolicyEntry] | None = None,
    ) -> None:
        self.tables: dict[str, Table] = dict(tables)
        self.policy: Policy = policy
        # policy.yaml as read at start-up (defaults, units, sources), to show what the
        # values in force are and where they come from.
        self.policy_entries: dict[str, PolicyEntry] = dict(policy_entries or {})
        self.version: str = ruleset_version(self.tables, policy)
        self._policy_values = policy.as_dict()
        self._rules_by_name = {
            name: {rule.name: rule for rule in table.rules} for name, table in self.tables.items()
        }
        # Only the facts some condition tests are sent to the C engine; the rest are only
        # needed when assembling actions, which happens here in Python.
        self._tested_facts = {name: _tested_facts(table) for name, table in self.tables.items()}
        with _ENGINE_LOCK:
            # The engine's handle of each table's ruleset; rulesets live as long as the process.
            self._rulesets: dict[str, int] = {
                name: durable_rules_engine.create_ruleset(
                    f"{name}_{self.version}",
                    json.dumps(self._compile(table), ensure_ascii=False),
                )
                for name, table in self.tables.items()
            }

    def evaluate(self, table: str, facts: Mapping[str, Any]) -> Evaluation:
        spec = self.tables.get(table)
        if spec is None:
            raise RulesError(f"unknown rule table {table!r}; known: {sorted(self.tables)}")
        _check_facts(spec, facts)
        fired = self._run(spec, {name: facts[name] for name in self._tested_facts[table]})
        return self._assemble(spec, fired, facts)

    # --- durable-rules -------------------------------------------------------------------

    def _run(self, table: Table, message_facts: dict[str, Any]) -> list[str]:
        """The names of the rules that fire for these facts, in firing order."""
        ruleset = self._rulesets[table.name]
        sid = uuid.uuid4().hex
        message = json.dumps({**message_facts, "sid": sid}, ensure_ascii=False)
        # A fact fires every matching rule, in pri order; an event is consumed by the first
        # matching rule (lowest pri).
        send = (
            durable_rules_engine.assert_event
            if table.mode == "first_hit"
            else durable_rules_engine.assert_fact
        )
        fired: list[str] = []
        with _ENGINE_LOCK:
            try:
                answer, state = send(ruleset, message)
                if answer == _NOT_HANDLED:
                    return fired  # no rule applies; that is a decision, not an error
                if answer != _HANDLED:
                    raise RulesError(f"rules engine: {table.name} answered {answer} to {message}")
                due = durable_rules_engine.start_action_for_state(ruleset, state)
                action = due[1] if due else None
                while action:
                    # {"<rule name>": {"m": <the message>}}: the rule whose action is due.
                    (rule_name,) = json.loads(action)
                    if rule_name != CATCH_ALL_RULE:
                        fired.append(rule_name)
                    action = durable_rules_engine.complete_and_start_action(ruleset, state)
                return fired
            finally:
                try:
                    durable_rules_engine.delete_state(ruleset, sid)
                except Exception:
                    # Only reachable if the engine never created the session; a real leak
                    # would show up as MemoryError at 1,024 sessions, so make it visible.
                    logger.exception(
                        "rules engine: cannot delete session %s of %s", sid, table.name
                    )

    def _compile(self, table: Table) -> dict[str, Any]:
        definition: dict[str, Any] = {}
        for index, rule in enumerate(table.rules):
            definition[rule.name] = {
                "all": [{"m": self._compile_when(table, rule)}],
                # Lower pri fires first: file order is firing order.
                "pri": index + 1,
            }
        # Table rule names are snake_case, so this name cannot collide. Last priority: in
        # first_hit mode it fires only when no table rule matched.
        definition[CATCH_ALL_RULE] = {
            "all": [{"m": _always(table)}],
            "pri": len(table.rules) + 1,
        }
        return definition

    def _compile_when(self, table: Table, rule: Rule) -> dict[str, Any]:
        terms: list[dict[str, Any]] = []
        for condition in rule.conditions:
            terms.extend(self._compile_condition(condition))
        if not terms:
            return _always(table)
        return terms[0] if len(terms) == 1 else {"$and": terms}

    def _compile_condition(self, condition: Condition) -> list[dict[str, Any]]:
        fact = condition.fact
        operand = condition.operand
        if condition.op in ("in", "not_in"):
            assert isinstance(operand, tuple)
            values = [self._operand(item) for item in operand]
            if condition.op == "not_in":
                return [{"$neq": {fact: value}} for value in values]
            if len(values) == 1:
                return [{fact: values[0]}]
            return [{"$or": [{fact: value} for value in values]}]
        assert not isinstance(operand, tuple)
        value = self._operand(operand)
        if condition.op == "eq":
            return [{fact: value}]
        return [{_DURABLE_OPERATORS[condition.op]: {fact: value}}]

    def _operand(self, operand: Operand) -> Scalar:
        if isinstance(operand, PolicyRef):
            return self._policy_values[operand.name]
        return operand

    # --- decision ------------------------------------------------------------------------

    def _assemble(self, table: Table, fired: list[str], facts: Mapping[str, Any]) -> Evaluation:
        rules = [self._rules_by_name[table.name][name] for name in fired]
        with_outcome = [rule for rule in rules if rule.outcome is not None]
        if len(with_outcome) > 1:
            raise RulesError(
                f"{table.source}: rules {[rule.name for rule in with_outcome]} all set an "
                f"outcome for the same facts; at most one fired rule may"
            )
        actions: list[dict[str, Any]] = []
        ticket: dict[str, str] = {}
        for rule in rules:
            for action in rule.actions:
                resolved = self._resolve_action(table, rule, action, facts)
                if resolved not in actions:
                    actions.append(resolved)
            for name, value in rule.ticket.items():
                if ticket.setdefault(name, value) != value:
                    raise RulesError(
                        f"{table.source}: rule {rule.name!r} sets ticket {name} to {value!r} "
                        f"but an earlier fired rule set {ticket[name]!r}; fired rules must agree"
                    )
        return Evaluation(
            table=table.name,
            outcome=with_outcome[0].outcome if with_outcome else None,
            actions=actions,
            rules_fired=list(fired),
            ruleset_version=self.version,
            policy=dict(self._policy_values),
            ticket=ticket,
        )

    def _resolve_action(
        self, table: Table, rule: Rule, action: Action, facts: Mapping[str, Any]
    ) -> dict[str, Any]:
        resolved: dict[str, Any] = {"type": action.type}
        kinds = action.kinds
        for name, value in action.params.items():
            resolved[name] = self._resolve_param(value, kinds[name], facts)
            where = f"{table.source}: rule {rule.name!r}: {action.type}.{name}"
            if kinds[name] in AMOUNT_KINDS and resolved[name] < 0:
                raise RulesError(f"{where}: resolved to {resolved[name]}, below zero")
            if kinds[name] == "target" and resolved[name] not in ESCALATION_TARGETS:
                raise RulesError(f"{where}: {resolved[name]!r} is not an escalation target")
        message = (
            table.messages.get(resolved.get("template", "")) if action.type == "notify" else None
        )
        if message is not None:
            # The decision records the very words sent, not only the template's name.
            resolved["text"] = render_template(message, facts)
        return resolved

    def _resolve_param(self, value: ParamValue, kind: str, facts: Mapping[str, Any]) -> Any:
        if isinstance(value, FactRef):
            return facts[value.name]
        if isinstance(value, PolicyRef):
            return self._policy_values[value.name]
        if kind == "text" and isinstance(value, str):
            return render_template(value, facts)
        return value


def build_engine(
    rules_dir: Path, environ: Mapping[str, str], vocabulary: Vocabulary
) -> RulesEngine:
    """Load, check and compile everything under ``rules_dir`` against the application's
    action ``vocabulary``; RulesError on any problem."""
    policy = load_policy(rules_dir, environ)
    tables = load_tables(rules_dir, vocabulary)
    if not tables:
        raise RulesError(f"{rules_dir}: no rule tables (*.yaml besides policy.yaml)")
    return RulesEngine(tables, policy, load_policy_entries(rules_dir))


def _always(table: Table) -> dict[str, Any]:
    # durable-rules has no "true": every declared fact is in every message (checked in
    # evaluate), so "the first fact exists" always holds.
    return {"$ex": {next(iter(table.facts)): 1}}


def _tested_facts(table: Table) -> tuple[str, ...]:
    # The first fact always goes: the catch-all rule tests it.
    tested = {condition.fact for rule in table.rules for condition in rule.conditions}
    tested.add(next(iter(table.facts)))
    return tuple(name for name in table.facts if name in tested)


def _check_facts(table: Table, facts: Mapping[str, Any]) -> None:
    problems: list[str] = []
    unknown = sorted(set(facts) - set(table.facts))
    if unknown:
        problems.append(f"unknown facts {unknown}")
    missing = sorted(set(table.facts) - set(facts))
    if missing:
        problems.append(f"missing facts {missing}")
    for name, fact_type in table.facts.items():
        if name in facts and not fact_fits(facts[name], fact_type):
            problems.append(f"{name}={facts[name]!r} is not {fact_type}")
    if problems:
        raise RulesError(f"table {table.name!r}: " + "; ".join(problems))


def fact_fits(value: Any, fact_type: str) -> bool:
    """Whether a value can be a fact of this declared type (also for callers' own checks)."""
    # bool is a subclass of int in Python; a rule comparing counts must never see True.
    if isinstance(value, bool):
        return fact_type == "bool"
    if fact_type == "int":
        return isinstance(value, int) and -_INT64_MAX <= value <= _INT64_MAX
    if fact_type == "float":
        return isinstance(value, int | float) and math.isfinite(value)
    if fact_type == "str":
        return isinstance(value, str)
    return False
