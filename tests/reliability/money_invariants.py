"""What must hold for money and state whatever sequence of requests arrived (docs/money.md),
as SQL over the tables: each query returns the rows that break its rule."""

from typing import Any

import asyncpg

from app.effects.catalogue import LEDGER_KINDS, VOCABULARY, fold
from app.rules_engine.policy import Policy, load_policy
from app.settings import PROJECT_ROOT
from tests.db import asyncpg_dsn

POLICY = load_policy(PROJECT_ROOT / "rules", {})

# In force as money: not reversed, not rejected by finance.
_MONEY_IN_FORCE = """
    NOT EXISTS (SELECT 1 FROM ledger_entries s WHERE s.settles_entry_id = l.id
                AND s.kind IN ('reversal', 'payout_rejected'))"""

_CUSTOMER_FACING = "('payout_dispute', 'pickup_complaint', 'payment_discrepancy')"

BROKEN: dict[str, str] = {
    "an order's payouts exceed its invoice less what the customer admitted receiving": f"""
        SELECT o.id FROM orders o
        WHERE (SELECT coalesce(sum(l.amount), 0) FROM ledger_entries l
               WHERE l.order_id = o.id AND l.kind = 'platform_payout' AND {_MONEY_IN_FORCE})
            > o.final_invoice_amount - coalesce((
               SELECT max(CASE WHEN c.details->>'claim' = 'paid_less'
                               THEN (c.details->>'amount_received')::bigint ELSE 0 END)
               FROM cases c WHERE c.order_id = o.id AND c.case_type = 'payout_dispute'), 0)""",
    "a customer paid more than the invoice, and no discrepancy case says so": """
        SELECT o.id FROM orders o
        WHERE greatest(
                (SELECT coalesce(sum(r.amount) FILTER (WHERE r.status = 'succeeded'), 0)
                        - coalesce(sum(r.amount) FILTER (WHERE r.status = 'refunded'), 0)
                        - coalesce(sum(r.amount) FILTER (WHERE r.status = 'charged_back'), 0)
                 FROM payment_records r
                 WHERE r.order_id = o.id AND r.direction = 'to_customer'),
                (SELECT coalesce(max((c.details->>'amount_received')::bigint), 0) FROM cases c
                 WHERE c.order_id = o.id AND c.case_type = 'payout_dispute'
                   AND c.details->>'claim' = 'paid_less'
                   AND c.details->>'channel' IS DISTINCT FROM 'reconciliation'))
            + (SELECT coalesce(sum(p.amount), 0) FROM ledger_entries p
               LEFT JOIN ledger_entries s ON s.settles_entry_id = p.id
               WHERE p.order_id = o.id AND p.kind = 'platform_payout'
                 AND (s.kind = 'payout_approved'
                      OR (s.id IS NULL AND p.details->>'status' = 'released')))
            > o.final_invoice_amount
          AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.order_id = o.id
                          AND c.case_type = 'payment_discrepancy'
                          AND c.reason IN ('overpayment', 'double_charge'))""",
    "an order's wallet refunds exceed its invoice": f"""
        SELECT o.id FROM orders o
        WHERE (SELECT coalesce(sum(l.amount), 0) FROM ledger_entries l
               WHERE l.order_id = o.id AND l.kind = 'wallet_refund_eligible'
               AND {_MONEY_IN_FORCE}) > o.final_invoice_amount""",
    "an order's credit refunds exceed its unlock credits": f"""
        SELECT o.id FROM orders o
        WHERE (SELECT coalesce(sum(l.amount), 0) FROM ledger_entries l
               WHERE l.order_id = o.id AND l.kind = 'credit_refund' AND {_MONEY_IN_FORCE})
            > o.unlock_credits""",
    "an order paid the threshold or more without finance's approval": f"""
        SELECT l.order_id FROM ledger_entries l
        WHERE l.kind = 'platform_payout' AND {_MONEY_IN_FORCE}
          AND (l.details->>'requires_approval')::boolean IS NOT TRUE
        GROUP BY l.order_id HAVING sum(l.amount) >= $1""",
    "a payout approved by the person whose decision made it": """
        SELECT a.id FROM ledger_entries a JOIN ledger_entries p ON p.id = a.settles_entry_id
        WHERE a.kind = 'payout_approved'
          AND (a.created_by = p.created_by OR a.created_by_name = p.details->>'decided_by_name')""",
    "money settled twice": """
        SELECT settles_entry_id FROM ledger_entries
        WHERE settles_entry_id IS NOT NULL AND kind <> 'unblock_new_leads'
        GROUP BY settles_entry_id HAVING count(*) > 1""",
    "a released payout or wallet refund later reversed": """
        SELECT r.id FROM ledger_entries r JOIN ledger_entries e ON e.id = r.settles_entry_id
        WHERE r.kind = 'reversal' AND (
            e.details->>'status' = 'released'
            OR EXISTS (SELECT 1 FROM ledger_entries s WHERE s.settles_entry_id = e.id
                       AND s.kind IN ('payout_approved', 'wallet_refund_released')))""",
    "a case without exactly one decision in force": """
        SELECT c.id FROM cases c
        WHERE c.current_decision_id IS NULL
           OR NOT EXISTS (SELECT 1 FROM decisions d
                          WHERE d.id = c.current_decision_id AND d.case_id = c.id)
           OR EXISTS (SELECT 1 FROM decisions d
                      WHERE d.supersedes = c.current_decision_id)
           OR (SELECT count(*) FROM decisions d WHERE d.case_id = c.id AND NOT EXISTS (
                  SELECT 1 FROM decisions n WHERE n.supersedes = d.id)) <> 1""",
    "a decision superseded twice": """
        SELECT supersedes FROM decisions WHERE supersedes IS NOT NULL
        GROUP BY supersedes HAVING count(*) > 1""",
    "a resolved case with a running clock, or an open one resolved": """
        SELECT c.id FROM cases c
        WHERE (c.status = 'resolved') <> (c.resolved_at IS NOT NULL)
           OR (c.status = 'resolved' AND EXISTS (
               SELECT 1 FROM deadlines d WHERE d.case_id = c.id AND d.settled_at IS NULL))""",
    "a customer-facing case open without one update clock running, or resolved with one": f"""
        SELECT c.id FROM cases c
        WHERE c.case_type IN {_CUSTOMER_FACING}
          AND (SELECT count(*) FROM deadlines d WHERE d.case_id = c.id
               AND d.kind = 'customer_update' AND d.settled_at IS NULL)
              <> CASE WHEN c.resolved_at IS NULL THEN 1 ELSE 0 END""",
    "a resolved customer-facing case whose customer was last told another outcome": f"""
        SELECT c.id FROM cases c
        WHERE c.case_type IN {_CUSTOMER_FACING} AND c.resolved_at IS NOT NULL
          AND coalesce((SELECT e.data->>'outcome' FROM events e
                        WHERE e.case_id = c.id AND e.type = 'notification.requested'
                          AND e.data->>'template' = c.case_type || '_resolved'
                        ORDER BY e.id DESC LIMIT 1), '') <> c.outcome""",
    "a case whose status its decision in force contradicts": """
        SELECT c.id FROM cases c JOIN decisions d ON d.id = c.current_decision_id
        WHERE NOT CASE
          WHEN d.stage = 'proposed' THEN c.status = 'pending_review'
          WHEN d.outcome = 'awaiting_vendor' THEN c.status = 'awaiting_vendor'
          WHEN d.outcome = 'escalated_pending_manager' THEN c.status = 'escalated'
          WHEN c.status = 'awaiting_approval' THEN EXISTS (
              SELECT 1 FROM ledger_entries l WHERE l.decision_id = d.id
              AND l.kind = 'platform_payout' AND l.details->>'status' = 'pending_approval'
              AND NOT EXISTS (SELECT 1 FROM ledger_entries s WHERE s.settles_entry_id = l.id))
          WHEN c.case_type = 'pickup_complaint' AND d.decided_by->>'kind' = 'rules'
              THEN c.status IN ('open', 'resolved')
          WHEN c.case_type = 'payment_discrepancy' AND d.decided_by->>'kind' = 'rules'
              THEN c.status IN ('pending_resolution', 'resolved')
          ELSE c.status = 'resolved' AND NOT EXISTS (
              SELECT 1 FROM ledger_entries l WHERE l.decision_id = d.id
              AND l.kind = 'platform_payout' AND l.details->>'status' = 'pending_approval'
              AND NOT EXISTS (SELECT 1 FROM ledger_entries s WHERE s.settles_entry_id = l.id))
        END""",
    "a waiting dispute without its vendor clock": """
        SELECT c.id FROM cases c
        WHERE c.status = 'awaiting_vendor' AND NOT EXISTS (
            SELECT 1 FROM deadlines d WHERE d.case_id = c.id AND d.kind = 'vendor_response'
            AND d.settled_at IS NULL)""",
    "an applied decision whose ledger entries are not its ledger actions": """
        SELECT d.id FROM decisions d
        WHERE d.stage <> 'proposed'
          AND (SELECT count(*) FROM jsonb_array_elements(d.actions) a
               WHERE a->>'type' = ANY($1::text[]))
           <> (SELECT count(*) FROM ledger_entries l
               WHERE l.decision_id = d.id AND l.action_index IS NOT NULL)""",
    "an order failed here without its resolved fail reason": """
        SELECT o.id FROM orders o
        WHERE (o.status = 'failed') <> EXISTS (
            SELECT 1 FROM cases c WHERE c.order_id = o.id AND c.case_type = 'fail_reason'
            AND c.status = 'resolved')""",
    "a payout dispute on an order failed here, or a fail reason on a disputed order": """
        SELECT o.id FROM orders o
        WHERE EXISTS (SELECT 1 FROM cases c WHERE c.order_id = o.id
                      AND c.case_type = 'payout_dispute')
          AND EXISTS (SELECT 1 FROM cases c WHERE c.order_id = o.id
                      AND c.case_type = 'fail_reason')""",
}

_ENTRIES_IN_FORCE = """
    SELECT l.vendor_id, l.id, l.kind, l.amount, l.case_id, l.details
    FROM ledger_entries l
    WHERE l.kind <> 'reversal' AND l.settles_entry_id IS NULL
      AND NOT EXISTS (SELECT 1 FROM ledger_entries r WHERE r.settles_entry_id = l.id
                      AND r.kind = 'reversal')
    ORDER BY l.seq"""


class _Entry:
    def __init__(self, row: Any) -> None:
        self.id: str = row["id"]
        self.kind: str = row["kind"]
        self.amount: int | None = row["amount"]
        self.case_id: str | None = row["case_id"]
        self.details: dict[str, Any] = row["details"]


async def broken_at(database_url: str) -> dict[str, list[str]]:
    """:func:`broken` in the database at ``database_url``, under the project's own policy."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return await broken(connection, POLICY, sorted(LEDGER_KINDS & set(VOCABULARY)))
    finally:
        await connection.close()


async def holds(database_url: str) -> None:
    """Every rule holds in the database at ``database_url``."""
    assert await broken_at(database_url) == {}


async def broken(
    connection: asyncpg.Connection, policy: Policy, ledger_kinds: list[str]
) -> dict[str, list[str]]:
    """Every rule broken, with the ids that break it; empty when everything holds."""
    await connection.set_type_codec("jsonb", encoder=_dumps, decoder=_loads, schema="pg_catalog")
    found: dict[str, list[str]] = {}
    for rule, query in BROKEN.items():
        args: list[Any] = []
        if "$1::text[]" in query:
            args = [ledger_kinds]
        elif "$1" in query:
            args = [policy.high_value_threshold]
        rows = await connection.fetch(query, *args)
        if rows:
            found[rule] = [str(row[0]) for row in rows]
    found.update(await _standing_off(connection))
    return found


async def _standing_off(connection: asyncpg.Connection) -> dict[str, list[str]]:
    by_vendor: dict[str, list[_Entry]] = {}
    for row in await connection.fetch(_ENTRIES_IN_FORCE):
        by_vendor.setdefault(row["vendor_id"], []).append(_Entry(row))
    off = []
    for vendor in await connection.fetch("SELECT * FROM vendors"):
        folded = fold(by_vendor.get(vendor["id"], []), vendor["base_max_leads"])
        stored = (
            vendor["status"],
            vendor["new_leads_blocked"],
            vendor["max_leads"],
            [dict(flag) for flag in vendor["flags"]],
            vendor["credits_refunded"],
            vendor["credits_deducted"],
        )
        expected = (
            folded.status,
            folded.new_leads_blocked,
            folded.max_leads,
            [dict(flag) for flag in folded.flags],
            folded.credits_refunded,
            folded.credits_deducted,
        )
        if stored != expected:
            off.append(f"{vendor['id']}: stored {stored}, ledger folds to {expected}")
    return {"a vendor's standing differs from the fold of its ledger": off} if off else {}


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value)


def _loads(value: str) -> Any:
    import json

    return json.loads(value)
