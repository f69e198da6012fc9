"""The list queries use their indexes: EXPLAIN of the very statements the endpoints run.

A database of its own is filled with enough rows (60,000 decisions over 15,000 cases, case
types and statuses as skewed as in life, then ANALYZE) that the planner's choice is its real
one: enable_seqscan stays on, so a missing or unusable index shows up as a sequential scan
or a sort of every matching row, rather than being hidden by a planner told to avoid scans.
"""

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Executable, Select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from app.cases import repository as cases
from app.db.migrate import upgrade
from app.db.url import async_url
from app.decisions import repository as decisions
from app.events import repository as events
from app.orders import repository as orders
from app.payouts import repository as queues
from app.webhooks import repository as webhooks
from tests.db import fresh_database

CASES = 15_000
DECISIONS_PER_CASE = 4
PAGE = 21  # a default page and the one extra row that tells whether there is a next one

FILL = [
    "INSERT INTO vendors (id, max_leads) SELECT 'V-' || g, 10 FROM generate_series(1, 400) g",
    # A few orders per customer's phone, and one number on one order in a hundred (a shop's).
    f"""INSERT INTO orders (id, vendor_id, customer, customer_phone, device, unlock_credits,
            final_invoice_amount, payment, pickup_notes, created_at)
        SELECT 'ORD-' || g, 'V-' || (g % 400 + 1), '{{}}',
            CASE WHEN g % 100 = 0 THEN '+919999999999'
                 ELSE '+9198' || lpad((g % 3000)::text, 8, '0') END,
            '{{}}', 10, 100, '{{}}', '[]', timestamptz '2025-01-01' + g * interval '13 minutes'
        FROM generate_series(1, {CASES}) g""",
    f"""INSERT INTO cases (id, case_type, order_id, vendor_id, status, ticket_status, details,
            assignee_team, assignee, escalated_to, due_at, created_at)
        SELECT 'case_' || lpad(g::text, 8, '0'),
            CASE WHEN g % 50 < 35 THEN 'fail_reason' WHEN g % 50 < 45 THEN 'pickup_complaint'
                 WHEN g % 50 < 49 THEN 'payout_dispute' ELSE 'payment_discrepancy' END,
            'ORD-' || g, 'V-' || (g % 400 + 1),
            CASE WHEN g % 47 < 40 THEN 'resolved' WHEN g % 47 < 45 THEN 'open'
                 ELSE 'escalated' END,
            'open', '{{}}',
            CASE WHEN g % 50 = 0 THEN 'finance_manager' WHEN g % 50 < 10 THEN 'cx_team'
                 WHEN g % 50 < 12 THEN 'ops_manager' ELSE 'ops' END,
            CASE WHEN g % 3 = 0 THEN 'Agent ' || (g % 40) END,
            CASE WHEN g % 47 >= 45 THEN 'ops_manager' END,
            CASE WHEN g % 47 >= 40
                 THEN timestamptz '2025-01-03' + g * interval '13 minutes' END,
            timestamptz '2025-01-01' + g * interval '13 minutes'
        FROM generate_series(1, {CASES}) g""",
    f"""INSERT INTO decisions (id, case_id, case_type, order_id, vendor_id, stage, outcome,
            actions, rules_fired, ruleset_version, policy, facts, decided_by, decided_at)
        SELECT 'dec_' || lpad((c.n * {DECISIONS_PER_CASE} + k)::text, 9, '0'), c.id,
            c.case_type, c.order_id, c.vendor_id, 'final',
            (ARRAY['failed_customer_fault', 'failed_vendor_fault', 'pending_verdict',
                   'escalated_to_cx', 'resolved_paid', 'resolved_valid_deduction',
                   'resolved_paid_by_platform', 'escalated_pending_manager', 'refund',
                   'invoice_adjustment', 'payment_reprocessing'])[(c.n + k) % 11 + 1],
            '[]', '[]', 'v1', '{{}}', '{{}}', '{{}}',
            c.created_at + k * interval '3 minutes'
        FROM (SELECT id, case_type, order_id, vendor_id, created_at,
                     substr(id, 6)::int AS n FROM cases) c,
             generate_series(1, {DECISIONS_PER_CASE}) k""",
    """INSERT INTO events (type, data) SELECT 'test.fill', '{}' FROM generate_series(1, 20000)""",
    # Ledger entries of every kind; a payout in 20 waited for finance, a few still wait.
    """INSERT INTO ledger_entries (id, vendor_id, kind, amount, details, created_by)
        SELECT 'le_' || lpad(g::text, 8, '0'), 'V-' || (g % 400 + 1),
            (ARRAY['sla_strike', 'credit_refund', 'platform_payout', 'flag_vendor',
                   'wallet_refund_eligible'])[g % 5 + 1], 100,
            CASE WHEN g % 5 = 2 AND g % 100 = 7 THEN '{"status": "pending_approval"}'
                 WHEN g % 5 = 2 THEN '{"status": "released"}' ELSE '{}' END::jsonb,
            'rules'
        FROM generate_series(1, 40000) g""",
    """INSERT INTO ledger_entries (id, vendor_id, kind, amount, settles_entry_id, created_by)
        SELECT 'le_s' || substr(id, 4), vendor_id, 'payout_approved', amount, id, 'f:k'
        FROM ledger_entries WHERE details->>'status' = 'pending_approval'
          AND substr(id, 4)::int % 200 <> 7""",
    """INSERT INTO webhook_endpoints (id, url, event_types, secret, created_by)
        SELECT 'whep_' || g, 'https://hooks.example.com/' || g, '["*"]', 'whsec_x', 'ops:k'
        FROM generate_series(1, 5) g""",
    """INSERT INTO webhook_messages (id, endpoint_id, event_id, event_xid, event_type, status)
        SELECT 'msg_' || e.id || '_' || g, 'whep_' || g, e.id, e.xid, e.type, 'delivered'
        FROM events e, generate_series(1, 5) g WHERE e.id <= 8000""",
    """INSERT INTO webhook_attempts (id, message_id, endpoint_id, number, attempted_at,
            duration_ms, outcome)
        SELECT 'whatt_' || m.id, m.id, m.endpoint_id, 1,
            timestamptz '2025-01-01' + m.event_id * interval '1 minute', 10, 'delivered'
        FROM webhook_messages m""",
    "ANALYZE",
]

SINCE = datetime(2025, 3, 1, tzinfo=UTC)
UNTIL = datetime(2025, 4, 1, tzinfo=UTC)
DEEP = (datetime(2025, 3, 15, tzinfo=UTC), "dec_000030000")

# Filter combinations a caller uses, and the indexes that may serve each one.
DECISION_PLANS: list[tuple[dict[str, Any], set[str]]] = [
    ({}, {"ix_decisions_decided"}),
    ({"since": SINCE, "until": UNTIL}, {"ix_decisions_decided"}),
    ({"after": DEEP}, {"ix_decisions_decided"}),
    ({"vendor_id": "V-7"}, {"ix_decisions_vendor_decided"}),
    ({"vendor_id": "V-7", "since": SINCE, "until": UNTIL}, {"ix_decisions_vendor_decided"}),
    ({"vendor_id": "V-7", "case_type": "fail_reason"}, {"ix_decisions_vendor_decided"}),
    ({"vendor_id": "V-7", "after": DEEP}, {"ix_decisions_vendor_decided"}),
    ({"order_id": "ORD-77"}, {"ix_decisions_order_id"}),
    ({"order_id": "ORD-77", "case_type": "fail_reason"}, {"ix_decisions_order_id"}),
    ({"case_type": "payment_discrepancy"}, {"ix_decisions_case_type_decided"}),
    (
        {"case_type": "payment_discrepancy", "since": SINCE, "until": UNTIL},
        {"ix_decisions_case_type_decided"},
    ),
    ({"outcome": "failed_vendor_fault"}, {"ix_decisions_outcome_decided"}),
    (
        {"outcome": "failed_vendor_fault", "since": SINCE, "until": UNTIL},
        {"ix_decisions_outcome_decided"},
    ),
    (
        {"case_type": "fail_reason", "outcome": "failed_vendor_fault"},
        {"ix_decisions_outcome_decided", "ix_decisions_case_type_decided"},
    ),
]
CASE_PLANS: list[tuple[dict[str, Any], set[str]]] = [
    ({}, {"ix_cases_created"}),
    ({"case_type": "payment_discrepancy"}, {"ix_cases_type_created"}),
    ({"status": "escalated_pending_manager"}, {"ix_cases_status_created"}),
    (
        {"case_type": "payment_discrepancy", "status": "escalated_pending_manager"},
        {"ix_cases_type_created", "ix_cases_status_created"},
    ),
    ({"vendor_id": "V-7"}, {"ix_cases_vendor_type_created"}),
    ({"vendor_id": "V-7", "case_type": "fail_reason"}, {"ix_cases_vendor_type_created"}),
    ({"order_id": "ORD-77"}, {"ix_cases_order_id"}),
    ({"assignee": "Agent 7"}, {"ix_cases_assignee_created"}),
    # A team with few cases reads them from its index; one with most of them may as well
    # read the newest cases and skip the others' (either way, no sort of them all).
    ({"assignee_team": "finance_manager"}, {"ix_cases_team_created"}),
    ({"assignee_team": "ops"}, {"ix_cases_team_created", "ix_cases_report", "ix_cases_created"}),
    ({"escalated_to": "ops_manager"}, {"ix_cases_escalated_created"}),
    ({"by_due": True}, {"ix_cases_due"}),
    ({"by_due": True, "due_before": datetime(2025, 2, 1, tzinfo=UTC)}, {"ix_cases_due"}),
    ({"by_due": True, "after": (datetime(2025, 2, 1, tzinfo=UTC), "case_x")}, {"ix_cases_due"}),
]


class Explain(Executable, ClauseElement):
    """EXPLAIN of a statement, keeping its bound parameters as they are sent for real."""

    inherit_cache = False

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement


@compiles(Explain)
def _explain(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


@pytest.fixture(scope="module")
def plans_database(server_url: str) -> Iterator[str]:
    # Its own database: the other tests empty theirs before each test, and filling one
    # takes seconds, so it is filled once for every check here.
    with fresh_database(server_url, "dispute_plans") as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="module")
async def filled(plans_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(async_url(plans_database))
    async with engine.begin() as connection:
        for statement in FILL:
            await connection.execute(text(statement))
    yield engine
    await engine.dispose()


async def plan_of(engine: AsyncEngine, statement: Select[Any]) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        result = (await connection.execute(Explain(statement))).scalar_one()
    return list(nodes(result[0]["Plan"]))


def check(plan: list[dict[str, Any]], allowed: set[str], label: str) -> None:
    kinds = [node["Node Type"] for node in plan]
    used = {node["Index Name"] for node in plan if "Index Name" in node}
    assert "Seq Scan" not in kinds, f"{label}: {kinds}"
    assert used and used <= allowed, f"{label}: used {used}, expected one of {allowed}"


async def test_decision_list_uses_an_index_for_every_filter(filled: AsyncEngine) -> None:
    for filters, allowed in DECISION_PLANS:
        plan = await plan_of(filled, decisions.listing(**filters, limit=PAGE))
        check(plan, allowed, f"decisions {sorted(filters)}")
        if "order_id" not in filters:
            # The index also gives the order: no sort of every matching row for one page.
            assert "Sort" not in [n["Node Type"] for n in plan], f"decisions {sorted(filters)}"


async def test_case_list_uses_an_index_for_every_filter(filled: AsyncEngine) -> None:
    for filters, allowed in CASE_PLANS:
        plan = await plan_of(filled, cases.listing(**filters, limit=PAGE))
        check(plan, allowed, f"cases {sorted(filters)}")


async def test_case_queues_need_no_sort_of_every_match(filled: AsyncEngine) -> None:
    for filters in (
        {"assignee_team": "cx_team"},
        {"by_due": True},
        {"escalated_to": "ops_manager"},
    ):
        plan = await plan_of(filled, cases.listing(**filters, limit=PAGE))
        assert "Sort" not in [n["Node Type"] for n in plan], (filters, plan)


QUEUE_PLANS: list[tuple[Any, dict[str, Any], set[str]]] = [
    (queues.payouts_listing, {}, {"ix_ledger_payouts", "uq_ledger_settles_once"}),
    (
        queues.payouts_listing,
        {"status": "pending_approval"},
        {"ix_ledger_payouts_waiting", "uq_ledger_settles_once"},
    ),
    (
        queues.payouts_listing,
        {"vendor_id": "V-8"},
        {"ix_ledger_vendor_id", "ix_ledger_payouts", "uq_ledger_settles_once"},
    ),
    (queues.wallet_refunds_listing, {}, {"ix_ledger_wallet_refunds", "uq_ledger_settles_once"}),
    (
        queues.wallet_refunds_listing,
        {"status": "eligible", "after": 20_000},
        {"ix_ledger_wallet_refunds", "uq_ledger_settles_once"},
    ),
]


async def test_payout_and_wallet_queues_read_their_indexes(filled: AsyncEngine) -> None:
    for listing, filters, allowed in QUEUE_PLANS:
        query = listing(
            status=filters.get("status"),
            vendor_id=filters.get("vendor_id"),
            after=filters.get("after"),
            limit=PAGE,
        )
        plan = await plan_of(filled, query)
        label = f"{listing.__name__} {filters}"
        check(plan, allowed, label)
        if not set(filters) & {"status", "vendor_id"}:
            # The index gives the order. (A vendor's payouts, and the waiting ones among
            # those that ever waited, are few: the planner may sort those few.)
            assert "Sort" not in [n["Node Type"] for n in plan], label


async def test_event_feed_resumes_by_index(filled: AsyncEngine) -> None:
    plan = await plan_of(filled, events.feed_query((10**6, 25_000), 100))
    check(plan, {"ix_events_xid_id"}, "events")


async def test_orders_by_phone_read_one_index_range_newest_first(filled: AsyncEngine) -> None:
    deep = (datetime(2025, 3, 15, tzinfo=UTC), "ORD-7000")
    for phone in ("+919800000077", "+919999999999"):
        for after in (None, deep):
            plan = await plan_of(filled, orders.by_customer_phone(phone, after=after, limit=PAGE))
            label = f"orders by phone {phone} after {after}"
            check(plan, {"ix_orders_customer_phone_created"}, label)
            if phone == "+919999999999":
                # Its 150 orders: the index gives their order, no sort of them all for
                # one page (a customer's five may be sorted: that costs nothing).
                assert "Sort" not in [n["Node Type"] for n in plan], label


async def test_webhook_deliveries_page_by_index(filled: AsyncEngine) -> None:
    deep = (datetime(2025, 1, 3, tzinfo=UTC), "whatt_msg_2880_3")
    for after in (None, deep):
        plan = await plan_of(filled, webhooks.attempts_listing("whep_3", after, PAGE))
        allowed = {"ix_webhook_attempts_endpoint_attempted", "pk_webhook_messages"}
        check(plan, allowed, f"webhook deliveries after {after}")
        assert "Sort" not in [n["Node Type"] for n in plan], plan
