"""What every reference path shares: the values read from the rule tables at start-up, the
statements that write a case's rows (one per table, several rows at once), and the case JSON
answered from what was written, without reading it back."""

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg

from app.ids import new_id
from app.rules_engine.engine import RulesEngine
from app.rules_engine.templates import render_template

IST = timezone(timedelta(hours=5, minutes=30), "IST")
Row = dict[str, Any]


class NotModelled(Exception):
    """A path the reference does not write by hand: answered 501, never guessed at."""


class Refused(Exception):
    """A request the service refuses too (404, 409, 422), with its reason."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Actor:
    key: str  # role:key_id, as the service records who acted
    name: str | None
    role: str | None


RULES = Actor("rules", None, None)  # who carries out a decision no person asked for


@dataclass(frozen=True)
class Config:
    engine: RulesEngine  # only its tables' codes, texts and policy values are read
    actors: dict[str, Actor]  # by role: the reference has no auth, it acts as these keys

    @property
    def policy(self) -> Any:
        return self.engine.policy

    def decision(
        self,
        case: Row,
        *,
        stage: str,
        outcome: str | None,
        actions: list[Row],
        rules_fired: list[str],
        facts: Row,
        decided_by: Row,
        ticket: Row | None = None,
    ) -> Row:
        """A new decision superseding the case's current one; the case now points at it."""
        decision = {
            "id": new_id("dec"),
            "case_id": case["id"],
            "case_type": case["case_type"],
            "order_id": case["order_id"],
            "vendor_id": case["vendor_id"],
            "stage": stage,
            "outcome": outcome,
            "actions": actions,
            "ticket": ticket or {},
            "rules_fired": rules_fired,
            "ruleset_version": self.engine.version,
            "policy": self.engine.policy.as_dict(),
            "facts": facts,
            "decided_by": decided_by,
            "supersedes": case["current_decision_id"],
        }
        case["current_decision_id"] = decision["id"]
        if stage != "proposed":
            case["outcome"] = outcome
        return decision

    def message(self, table: str, template: str, facts: Row) -> str | None:
        text = self.engine.tables[table].messages.get(template)
        return None if text is None else render_template(text, facts)


TIMES = ("created_at", "updated_at", "acknowledged_at", "resolved_at", "due_at", "detected_at")


def from_json(row: Row, *names: str) -> Row:
    """Times of a row read as JSON (to_jsonb), back to datetimes."""
    for name in names:
        if row.get(name) is not None:
            row[name] = datetime.fromisoformat(row[name])
    return row


def shown_time(moment: datetime) -> str:
    local = moment.astimezone(IST)
    return f"{local.day} {local:%b %Y, %H:%M} IST"


@dataclass
class Writes:
    """One request's rows, in the order the service makes them; ``flush`` sends each table's
    in one statement."""

    now: datetime
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    deadlines: list[Row] = field(default_factory=list)
    ledger: list[Row] = field(default_factory=list)
    decisions: list[Row] = field(default_factory=list)

    def emit(self, case: Row, type: str, **data: Any) -> None:
        self.events.append(
            (
                type,
                case["id"],
                case["order_id"],
                case["vendor_id"],
                case["current_decision_id"],
                json.dumps(data),
                self.request_id,
            )
        )

    def opened_for_the_customer(
        self, config: Config, case: Row, table: str, case_type: str
    ) -> None:
        """A customer-facing case's opening (app.cases.customers.acknowledge): its resolution
        clock, the customer's acknowledgement and the first update's clock."""
        policy = config.policy
        due = self.now + timedelta(hours=policy.resolution_hours)
        self.deadline(case, "resolution", due)
        told = config.engine.tables[table].customer
        assert told is not None  # a customer-facing table has the customer's texts
        self.emit(
            case,
            "notification.requested",
            audience="customer",
            template=f"{case_type}_acknowledged",
            text=render_template(
                told.acknowledged,
                {"order_id": case["order_id"], "resolution_due": shown_time(due)},
            ),
            resolution_due_at=due.isoformat(),
        )
        update = self.now + timedelta(hours=policy.customer_update_hours)
        self.deadline(case, "customer_update", update)

    def record(self, config: Config, case: Row, **decided: Any) -> Row:
        """The case's new decision (app.decisions.service.record), and its event."""
        decision = config.decision(case, **decided)
        decision["decided_at"] = self.now
        self.decisions.append(decision)
        self.emit(
            case,
            "decision.made",
            stage=decision["stage"],
            outcome=decision["outcome"],
            rules_fired=decision["rules_fired"],
            decided_by=decision["decided_by"]["kind"],
            supersedes=decision["supersedes"],
        )
        return decision

    def deadline(self, case: Row, kind: str, due: datetime) -> None:
        self.deadlines.append(
            {
                "id": new_id("dl"),
                "case_id": case["id"],
                "kind": kind,
                "due_at": due,
                "outcome": None,
                "settled_at": None,
            }
        )

    def entry(self, case: Row, decision: Row, index: int, action: Row, actor: Actor) -> Row:
        details = {k: v for k, v in action.items() if k not in ("type", "amount")}
        entry = {
            "id": new_id("le"),
            "vendor_id": case["vendor_id"],
            "decision_id": decision["id"],
            "action_index": index,
            "case_id": case["id"],
            "order_id": case["order_id"],
            "kind": action["type"],
            "amount": action.get("amount"),
            "details": details,
            "created_by": actor.key,
            "created_by_name": actor.name,
        }
        self.ledger.append(entry)
        return entry

    async def flush(self, connection: asyncpg.Connection) -> None:
        """Decisions, deadlines, ledger entries and events; the case is written by the caller
        (an INSERT before these, or an UPDATE)."""
        for decision in self.decisions:
            await connection.execute(
                "INSERT INTO decisions (id, case_id, case_type, order_id, vendor_id, stage,"
                " outcome, actions, ticket, rules_fired, ruleset_version, policy, facts,"
                " decided_by, supersedes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
                " $11, $12, $13, $14, $15)",
                *(decision[k] for k in DECISION_COLUMNS),
            )
        if self.deadlines:
            await connection.execute(
                "INSERT INTO deadlines (id, case_id, kind, due_at)"
                " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])",
                *([d[k] for d in self.deadlines] for k in ("id", "case_id", "kind", "due_at")),
            )
        if self.ledger:
            await connection.execute(
                "INSERT INTO ledger_entries (id, vendor_id, decision_id, action_index, case_id,"
                " order_id, kind, amount, details, created_by, created_by_name)"
                " SELECT i, v, d, x, c, o, k, a, t::jsonb, b, n FROM unnest($1::text[],"
                " $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[],"
                " $8::bigint[], $9::text[], $10::text[], $11::text[])"
                " AS e(i, v, d, x, c, o, k, a, t, b, n)",
                *(
                    [json.dumps(e[k]) if k == "details" else e[k] for e in self.ledger]
                    for k in LEDGER_COLUMNS
                ),
            )
        if self.events:
            await connection.execute(
                "INSERT INTO events (type, case_id, order_id, vendor_id, decision_id, data,"
                " request_id) SELECT t, c, o, v, d, j::jsonb, r FROM unnest($1::text[],"
                " $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])"
                " AS e(t, c, o, v, d, j, r)",
                *(list(column) for column in zip(*self.events, strict=True)),
            )


DECISION_COLUMNS = (
    "id",
    "case_id",
    "case_type",
    "order_id",
    "vendor_id",
    "stage",
    "outcome",
    "actions",
    "ticket",
    "rules_fired",
    "ruleset_version",
    "policy",
    "facts",
    "decided_by",
    "supersedes",
)
LEDGER_COLUMNS = (
    "id",
    "vendor_id",
    "decision_id",
    "action_index",
    "case_id",
    "order_id",
    "kind",
    "amount",
    "details",
    "created_by",
    "created_by_name",
)
CASE_COLUMNS = (
    "id",
    "case_type",
    "order_id",
    "vendor_id",
    "status",
    "category",
    "ticket_status",
    "priority",
    "assignee_team",
    "assignee",
    "escalated_to",
    "details",
    "escalations",
    "notes",
    "current_decision_id",
    "outcome",
    "reason",
    "acknowledged_at",
    "resolved_at",
)
UPDATED_CASE_COLUMNS = tuple(c for c in CASE_COLUMNS if c not in ("id", "case_type"))


def new_case(**values: Any) -> Row:
    case: Row = {c: None for c in CASE_COLUMNS}
    case.update(id=new_id("case"), escalations=[], notes=[], **values)
    return case


async def insert_case(connection: asyncpg.Connection, case: Row) -> None:
    places = ", ".join(f"${i}" for i in range(1, len(CASE_COLUMNS) + 1))
    await connection.execute(
        f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES ({places})",
        *(case[c] for c in CASE_COLUMNS),
    )


async def update_case(connection: asyncpg.Connection, case: Row) -> None:
    sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(UPDATED_CASE_COLUMNS, start=2))
    await connection.execute(
        f"UPDATE cases SET {sets}, updated_at = now() WHERE id = $1",
        case["id"],
        *(case[c] for c in UPDATED_CASE_COLUMNS),
    )


def escalate(writes: Writes, case: Row, to: str) -> None:
    if any(e["to"] == to for e in case["escalations"]):
        return
    case["escalations"] = [*case["escalations"], {"to": to}]
    case["assignee_team"] = case["escalated_to"] = to
    writes.emit(case, "case.escalated", to=to)


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def answer(
    case: Row, created_at: datetime, now: datetime, decisions: list[Row], deadlines: list[Row]
) -> Row:
    """The case as the service's CaseOut shows it: every decision, every clock by due time."""
    shown = [
        {**d, "decided_at": _time(d["decided_at"]), "actions": d["actions"]} for d in decisions
    ]
    clocks = sorted(deadlines, key=lambda d: (d["due_at"], d["id"]))

    def due(kind: str) -> str | None:
        return _time(max((d["due_at"] for d in clocks if d["kind"] == kind), default=None))

    return {
        "id": case["id"],
        "case_type": case["case_type"],
        "order_id": case["order_id"],
        "vendor_id": case["vendor_id"],
        "status": case["status"],
        "ticket": {
            "type": case["case_type"],
            "category": case["category"],
            "status": case["ticket_status"],
            "priority": case["priority"],
            "assignee_team": case["assignee_team"],
            "assignee": case["assignee"],
        },
        "details": case["details"],
        "deadlines": [
            {
                "kind": d["kind"],
                "due_at": _time(d["due_at"]),
                "outcome": d["outcome"],
                "settled_at": _time(d["settled_at"]),
            }
            for d in clocks
        ],
        "vendor_response_due_at": due("vendor_response"),
        "resolution_due_at": due("resolution"),
        "escalations": case["escalations"],
        "notes": case["notes"],
        "decision": next((d for d in shown if d["id"] == case["current_decision_id"]), None),
        "history": shown,
        "feedback": None,
        "created_at": _time(created_at),
        "updated_at": _time(now),
        "acknowledged_at": _time(case["acknowledged_at"]),
        "resolved_at": _time(case["resolved_at"]),
    }
