"""What must hold in the database whatever happened to the process or the connection:
every answered submission is there whole, and nothing is there half-written."""

from collections.abc import Iterable
from typing import Any

import asyncpg

from app.effects.catalogue import LEDGER_KINDS as LEDGER_ACTIONS
from tests.db import asyncpg_dsn
from tests.reliability.load import Answer

# Each query returns the rows that break the rule named by its key: all must return none.
HALF_WRITTEN = {
    "case without its current decision": """
        SELECT c.id FROM cases c
        LEFT JOIN decisions d ON d.id = c.current_decision_id AND d.case_id = c.id
        WHERE d.id IS NULL""",
    "case without its case.opened event": """
        SELECT c.id FROM cases c
        WHERE NOT EXISTS (
            SELECT 1 FROM events e WHERE e.type = 'case.opened' AND e.case_id = c.id)""",
    "decision without its decision.made event": """
        SELECT d.id FROM decisions d
        WHERE NOT EXISTS (
            SELECT 1 FROM events e WHERE e.type = 'decision.made' AND e.decision_id = d.id)""",
    "order with more than one fail-reason case": """
        SELECT order_id FROM cases WHERE case_type = 'fail_reason'
        GROUP BY order_id HAVING count(*) > 1""",
    "order to_be_failed without its open fail-reason case": """
        SELECT o.id FROM orders o
        WHERE o.status = 'to_be_failed' AND NOT EXISTS (
            SELECT 1 FROM cases c WHERE c.order_id = o.id AND c.case_type = 'fail_reason'
            AND c.status = 'pending_review')""",
    "order failed without its resolved fail-reason case": """
        SELECT o.id FROM orders o
        WHERE o.status = 'failed' AND NOT EXISTS (
            SELECT 1 FROM cases c WHERE c.order_id = o.id AND c.case_type = 'fail_reason'
            AND c.status = 'resolved')""",
    "fail-reason case whose order does not show it": """
        SELECT c.id FROM cases c JOIN orders o ON o.id = c.order_id
        WHERE c.case_type = 'fail_reason' AND NOT (
            (c.status = 'pending_review' AND o.status = 'to_be_failed')
            OR (c.status = 'resolved' AND o.status = 'failed'))""",
    "resolved case whose decision is not final, or open case whose decision is": """
        SELECT c.id FROM cases c JOIN decisions d ON d.id = c.current_decision_id
        WHERE (c.status = 'resolved') <> (d.stage = 'final')""",
    "resolved case without its case.resolved event": """
        SELECT c.id FROM cases c
        WHERE c.status = 'resolved' AND NOT EXISTS (
            SELECT 1 FROM events e WHERE e.type = 'case.resolved' AND e.case_id = c.id)""",
    "final decision whose ledger entries are not exactly its ledger actions": """
        SELECT d.id FROM decisions d
        WHERE (SELECT count(*) FROM jsonb_array_elements(d.actions) a
               WHERE a->>'type' = ANY($1::text[]))
           <> (SELECT count(*) FROM ledger_entries l WHERE l.decision_id = d.id)
          AND (d.stage = 'final' OR EXISTS (
               SELECT 1 FROM ledger_entries l WHERE l.decision_id = d.id))""",
    "vendor whose refunded credits differ from its ledger": """
        SELECT v.id FROM vendors v
        WHERE v.credits_refunded <> (SELECT coalesce(sum(l.amount), 0) FROM ledger_entries l
                                     WHERE l.vendor_id = v.id AND l.kind = 'credit_refund')""",
    "stored idempotent answer naming a case or decision that is not there": """
        SELECT r.key FROM idempotency_records r
        CROSS JOIN LATERAL (SELECT convert_from(r.body, 'UTF8')::jsonb AS b) answer
        WHERE r.status_code < 300 AND NOT EXISTS (
            SELECT 1 FROM cases c JOIN decisions d ON d.case_id = c.id
            WHERE c.id = answer.b->>'id' AND d.id = answer.b->'decision'->>'id')""",
}


async def _connect(database_url: str) -> Any:
    return await asyncpg.connect(asyncpg_dsn(database_url))


async def half_written(database_url: str) -> dict[str, list[str]]:
    """Every broken rule with the ids that break it; empty when the database is whole."""
    connection = await _connect(database_url)
    try:
        found = {}
        for rule, query in HALF_WRITTEN.items():
            args = [list(LEDGER_ACTIONS)] if "$1" in query else []
            rows = await connection.fetch(query, *args)
            if rows:
                found[rule] = [str(row[0]) for row in rows]
        return found
    finally:
        await connection.close()


async def missing_answers(database_url: str, answers: Iterable[Answer]) -> list[str]:
    """Answered (2xx) case submissions whose case or decision is not stored as answered."""
    connection = await _connect(database_url)
    try:
        missing = []
        for answer in answers:
            if not answer.ok:
                continue
            case = answer.json()
            stored = await connection.fetchrow(
                "SELECT c.status, c.current_decision_id, d.stage, d.outcome FROM cases c "
                "JOIN decisions d ON d.id = $2 AND d.case_id = c.id WHERE c.id = $1",
                case["id"],
                case["decision"]["id"],
            )
            if stored is None or (stored["status"], stored["stage"], stored["outcome"]) != (
                case["status"],
                case["decision"]["stage"],
                case["decision"]["outcome"],
            ):
                missing.append(f"{answer.call.method} {answer.call.path}: {case['id']}")
        return missing
    finally:
        await connection.close()


async def count(database_url: str, query: str, *args: object) -> int:
    connection = await _connect(database_url)
    try:
        return int(await connection.fetchval(query, *args))
    finally:
        await connection.close()
