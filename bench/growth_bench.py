"""Does deciding slow down as the database grows?

Measures a fail reason filed and its verdict (through the app's HTTP interface, in process,
so no network noise) with an empty database, then bulk-loads about --decisions decisions
(half proposed, half final, each case with its order, ledger entries and events, as the
service writes them) and a vendor with --heavy-cases earlier cases, and measures the same
sequence for that vendor. Also times the reads that grow with history (a vendor's ledger
page, a /metrics scrape), and lists the statements whose time grew most, to EXPLAIN.

Run from the project root: ``python bench/growth_bench.py [--decisions 1000000]``.
PostgreSQL is a throwaway embedded one unless DATABASE_URL names a server; the benchmark
works in a fresh database it drops afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from httpx import ASGITransport, AsyncClient, Response  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from app.effects.catalogue import LEDGER_KINDS as LEDGER_ACTIONS  # noqa: E402
from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402
from tests.db import asyncpg_dsn, migrated_database, new_key, postgres_server  # noqa: E402
from tests.factories import fail_reason_body, order_body, verdict_body  # noqa: E402
from tests.reliability.invariants import half_written  # noqa: E402

Headers = dict[str, str]
FAULTS = ("customer", "vendor")  # alternated, so both sides of the table are decided
CODE = "device_mismatch"  # disputed: ops may find either side at fault


class StatementTimes:
    """Time spent in each SQL statement the app sends, per phase of the benchmark."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.phase = ""
        self.times: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.parameters: dict[str, Any] = {}  # the last ones each statement was sent with
        sync = engine.sync_engine

        @event.listens_for(sync, "before_cursor_execute")
        def started(conn: Any, _c: Any, _s: str, _p: Any, _x: Any, _m: bool) -> None:
            conn.info["started"] = time.perf_counter()

        @event.listens_for(sync, "after_cursor_execute")
        def finished(conn: Any, _c: Any, statement: str, params: Any, _x: Any, _m: bool) -> None:
            if self.phase:
                self.times[statement][self.phase].append(time.perf_counter() - conn.info["started"])
                self.parameters[statement] = params

    def grown(self, before: str, after: str) -> list[tuple[float, float, float, str]]:
        """(growth, mean before, mean after, statement), the most grown first."""
        rows = []
        for statement, phases in self.times.items():
            if phases.get(before) and phases.get(after):
                was, now = statistics.mean(phases[before]), statistics.mean(phases[after])
                rows.append((now / was, was, now, statement))
        return sorted(rows, reverse=True)


async def explain(database_url: str, statement: str, parameters: Any) -> list[str]:
    """The plan PostgreSQL runs ``statement`` with, as sent by the app, with real timings."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    transaction = connection.transaction()
    await transaction.start()
    try:
        rows = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", *parameters)
        return [row[0] for row in rows]
    finally:
        await transaction.rollback()  # EXPLAIN ANALYZE runs the statement: keep nothing
        await connection.close()


@contextmanager
def phase(times: StatementTimes, name: str) -> Iterator[None]:
    times.phase = name
    try:
        yield
    finally:
        times.phase = ""


def _ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _timed(request: Awaitable[Response]) -> tuple[float, Response]:
    started = time.perf_counter()
    response = await request
    elapsed = time.perf_counter() - started
    assert response.status_code in (200, 201), response.text
    return elapsed, response


async def decide_many(
    client: AsyncClient, keys: dict[str, Headers], vendor: str, prefix: str, count: int
) -> dict[str, list[float]]:
    """Files and decides ``count`` fail reasons for ``vendor``; returns the timings."""
    timings: dict[str, list[float]] = {"file": [], "verdict": [], "decision": []}
    for n in range(count):
        order_id = f"{prefix}-{n}"
        await _timed(
            client.put(f"/v1/orders/{order_id}", json=order_body(vendor), headers=keys["service"])
        )
        file_s, filed = await _timed(
            client.post(
                f"/v1/orders/{order_id}/fail-reasons",
                json=fail_reason_body(CODE),
                headers=keys["ops"],
            )
        )
        verdict_s, _ = await _timed(
            client.post(
                f"/v1/fail-reviews/{filed.json()['id']}/verdict",
                json=verdict_body(FAULTS[n % 2]),
                headers=keys["ops"],
            )
        )
        timings["file"].append(file_s)
        timings["verdict"].append(verdict_s)
        timings["decision"].append(file_s + verdict_s)
    return timings


async def read_many(
    client: AsyncClient, keys: dict[str, Headers], vendor: str, count: int
) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"ledger page": [], "metrics scrape": []}
    for _ in range(count):
        ledger = client.get(f"/v1/vendors/{vendor}/ledger", headers=keys["ops"])
        timings["ledger page"].append((await _timed(ledger))[0])
        timings["metrics scrape"].append(
            (await _timed(client.get("/metrics", headers=keys["ops"])))[0]
        )
    return timings


# The bulk load: N fail-reason cases, each with its order, its proposed and final decisions
# (JSON copied from real ones the service made), the ledger entries of the final decision's
# ledger actions and the events the service emits for it. The last :heavy cases belong to
# the heavy vendor; the rest are spread over :vendors vendors. Times go back from now.
BULK = [
    """INSERT INTO vendors (id, max_leads, created_at, updated_at)
       SELECT 'V-G' || v, 10, now() - interval '400 days', now()
       FROM generate_series(0, $1::int - 1) v""",
    """CREATE TEMP TABLE bulk (i int, n text, vendor_id text, at timestamptz)""",
    """INSERT INTO bulk
       SELECT i,
              lpad(i::text, 12, '0') AS n,
              CASE WHEN i >= $1::int - $2::int THEN $3::text ELSE 'V-G' || (i % $4::int) END
                AS vendor_id,
              now() - (($1::int - i) * interval '20 seconds') AS at
       FROM generate_series(0, $1::int - 1) i""",
    """INSERT INTO orders (id, vendor_id, customer, device, pickup_slot, unlock_credits,
                           quoted_amount, final_invoice_amount, payment, pickup_notes, status,
                           created_at, updated_at)
       SELECT 'G-ORD-' || n, vendor_id, $1::jsonb, $2::jsonb, '2026-11-21T10:00:00Z/12:00',
              40, 1800000, 1500000, '{"marked": false}', '[]', 'failed', at, at
       FROM bulk""",
    """INSERT INTO cases (id, case_type, order_id, vendor_id, status, category, ticket_status,
                          priority, assignee_team, details, current_decision_id, created_at,
                          updated_at, resolved_at)
       SELECT 'case_00' || n, 'fail_reason', 'G-ORD-' || n, vendor_id, 'resolved',
              $1::jsonb->>'category', $1::jsonb->>'status', $1::jsonb->>'priority',
              $1::jsonb->>'assignee_team',
              $2::jsonb, 'dec_00F' || n, at, at + interval '2 hours', at + interval '2 hours'
       FROM bulk""",
    """INSERT INTO decisions (id, case_id, case_type, order_id, vendor_id, stage, outcome,
                              actions, rules_fired, ruleset_version, policy, facts, decided_by,
                              decided_at, supersedes)
       SELECT 'dec_00P' || n, 'case_00' || n, 'fail_reason', 'G-ORD-' || n, vendor_id,
              'proposed', $1, $2::jsonb, $3::jsonb, $4, $5::jsonb, $6::jsonb, $7::jsonb,
              at, NULL
       FROM bulk""",
    """INSERT INTO decisions (id, case_id, case_type, order_id, vendor_id, stage, outcome,
                              actions, rules_fired, ruleset_version, policy, facts, decided_by,
                              decided_at, supersedes)
       SELECT 'dec_00F' || n, 'case_00' || n, 'fail_reason', 'G-ORD-' || n, vendor_id,
              'final', $1, $2::jsonb, $3::jsonb, $4, $5::jsonb, $6::jsonb, $7::jsonb,
              at + interval '2 hours', 'dec_00P' || n
       FROM bulk""",
    """INSERT INTO ledger_entries (id, vendor_id, decision_id, action_index, case_id, order_id,
                                   kind, amount, details, created_by, created_at)
       SELECT 'le_00' || a.index || n, vendor_id, 'dec_00F' || n, a.index, 'case_00' || n,
              'G-ORD-' || n, a.kind, a.amount, a.details, 'rules', at + interval '2 hours'
       FROM bulk
       CROSS JOIN jsonb_to_recordset($1::jsonb)
         AS a(index int, kind text, amount bigint, details jsonb)""",
    """INSERT INTO events (type, case_id, order_id, vendor_id, decision_id, data, created_at)
       SELECT e.type, CASE WHEN e.type = 'order.created' THEN NULL ELSE 'case_00' || n END,
              'G-ORD-' || n, vendor_id,
              CASE e.decision WHEN 'P' THEN 'dec_00P' || n WHEN 'F' THEN 'dec_00F' || n END,
              e.data, at + e.after * interval '1 hour'
       FROM bulk
       CROSS JOIN jsonb_to_recordset($1::jsonb)
         AS e(type text, decision text, data jsonb, after int)""",
    """UPDATE vendors v SET credits_refunded = s.refunded, updated_at = now()
       FROM (SELECT vendor_id, sum(amount) AS refunded FROM ledger_entries
             WHERE kind = 'credit_refund' GROUP BY vendor_id) s
       WHERE v.id = s.vendor_id""",
]

# The events one filed-and-decided fail reason leaves, in the order the service emits them.
EVENTS = [
    ("order.created", None, {}, 0),
    ("case.opened", None, {"case_type": "fail_reason", "reason": CODE}, 0),
    ("order.status_changed", None, {"status": "to_be_failed", "previous": "open"}, 0),
    ("decision.made", "P", {"stage": "proposed"}, 0),
    ("decision.made", "F", {"stage": "final"}, 2),
    ("notification.requested", "F", {"audience": "vendor", "template": "fail_decision"}, 2),
    ("order.status_changed", "F", {"status": "failed", "previous": "to_be_failed"}, 2),
    ("case.resolved", "F", {"outcome": "failed_customer_fault"}, 2),
]


async def _templates(connection: Any) -> tuple[Any, Any, Any]:
    """A real customer-fault case and its two decisions, to copy into the bulk rows."""
    final = await connection.fetchrow(
        "SELECT * FROM decisions WHERE stage = 'final' AND outcome = 'failed_customer_fault' "
        "ORDER BY decided_at LIMIT 1"
    )
    proposed = await connection.fetchrow(
        "SELECT * FROM decisions WHERE id = $1", final["supersedes"]
    )
    case = await connection.fetchrow("SELECT * FROM cases WHERE id = $1", final["case_id"])
    return case, proposed, final


def _decision_args(row: Any) -> list[Any]:
    """outcome, actions, rules_fired, ruleset_version, policy, facts, decided_by."""
    as_json = [json.dumps(row[c]) for c in ("actions", "rules_fired", "policy", "facts")]
    return [
        row["outcome"],
        *as_json[:2],
        row["ruleset_version"],
        *as_json[2:],
        json.dumps(row["decided_by"]),
    ]


async def bulk_load(database_url: str, cases: int, vendors: int, heavy: str, earlier: int) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await connection.set_type_codec(
            "jsonb", encoder=lambda v: v, decoder=json.loads, schema="pg_catalog"
        )
        case, proposed, final = await _templates(connection)
        ledger = [
            {"index": i, "kind": a["type"], "amount": a.get("amount"), "details": {}}
            for i, a in enumerate(final["actions"])
            if a["type"] in LEDGER_ACTIONS
        ]
        events = [
            {"type": t, "decision": d, "data": data, "after": after} for t, d, data, after in EVENTS
        ]
        steps: list[tuple[str, list[Any]]] = [
            (BULK[0], [vendors]),
            (BULK[1], []),
            (BULK[2], [cases, earlier, heavy, vendors]),
            (BULK[3], [json.dumps(order_body()["customer"]), json.dumps(order_body()["device"])]),
            (BULK[4], [json.dumps(case["ticket"]), json.dumps(case["details"])]),
            (BULK[5], _decision_args(proposed)),
            (BULK[6], _decision_args(final)),
            (BULK[7], [json.dumps(ledger)]),
            (BULK[8], [json.dumps(events)]),
            (BULK[9], []),
        ]
        await connection.execute(
            "INSERT INTO vendors (id, max_leads) VALUES ($1, 10) ON CONFLICT DO NOTHING", heavy
        )
        for statement, args in steps:
            started = time.perf_counter()
            status = await connection.execute(statement, *args)
            print(f"  {status:<28} {time.perf_counter() - started:6.1f} s", flush=True)
        started = time.perf_counter()
        await connection.execute("VACUUM ANALYZE")
        print(f"  {'VACUUM ANALYZE':<28} {time.perf_counter() - started:6.1f} s", flush=True)
    finally:
        await connection.close()


def _report(name: str, empty: dict[str, list[float]], loaded: dict[str, list[float]]) -> None:
    print(f"{name:<16} {'empty p50':>10} {'p95':>8} {'loaded p50':>11} {'p95':>8} {'ratio':>7}")
    for key in empty:
        was, now = _ms(empty[key], 0.5), _ms(loaded[key], 0.5)
        print(
            f"{key:<16} {was:>8.2f}ms {_ms(empty[key], 0.95):>6.2f}ms {now:>9.2f}ms "
            f"{_ms(loaded[key], 0.95):>6.2f}ms {now / was:>7.2f}"
        )


async def run(database_url: str, keys: dict[str, Headers], args: argparse.Namespace) -> None:
    app = create_app(Settings(log_level="WARNING"), database_url)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://bench") as client,
    ):
        times = StatementTimes(app.state.db_engine)
        await decide_many(client, keys, "V-WARM", "W", args.warmup)
        with phase(times, "empty"):
            empty = await decide_many(client, keys, "V-EMPTY", "E", args.samples)
            empty_reads = await read_many(client, keys, "V-EMPTY", args.samples // 4)

        print(f"bulk load: {args.decisions:,} decisions, {args.heavy_cases:,} for V-HEAVY")
        started = time.perf_counter()
        await bulk_load(
            database_url, args.decisions // 2, args.vendors, "V-HEAVY", args.heavy_cases
        )
        print(f"bulk load took {time.perf_counter() - started:.0f} s")
        if args.check:
            broken = await half_written(database_url)
            print(
                f"the loaded rows break the service's invariants: {broken}"
                if broken
                else "the loaded rows keep every invariant of tests/reliability/invariants.py"
            )

        await decide_many(client, keys, "V-WARM", "W2", args.warmup)
        with phase(times, "loaded"):
            loaded = await decide_many(client, keys, "V-HEAVY", "L", args.samples)
            loaded_reads = await read_many(client, keys, "V-HEAVY", args.samples // 4)

    print(f"\n{args.samples} decisions each (fail reason filed, then ops's verdict), in process")
    _report("decision", empty, loaded)
    _report("read", empty_reads, loaded_reads)
    print("\nstatements whose mean time grew most (empty -> loaded):")
    grown = times.grown("empty", "loaded")
    for ratio, was, now, statement in grown[: args.top]:
        flat = " ".join(statement.split())
        print(f"  x{ratio:6.2f}  {was * 1000:7.3f} -> {now * 1000:7.3f} ms  {flat[:100]}")
    for ratio, _, _, statement in grown[: args.top]:
        if ratio >= args.explain_over and statement.lstrip().upper().startswith("SELECT"):
            print(f"\nEXPLAIN of a statement that grew x{ratio:.1f}:\n{statement}")
            plan = await explain(database_url, statement, times.parameters[statement])
            print("\n".join(f"  {line}" for line in plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--heavy-cases", type=int, default=10_000)
    parser.add_argument("--vendors", type=int, default=2_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--top", type=int, default=8, help="statements to list")
    parser.add_argument(
        "--explain-over",
        type=float,
        default=3.0,
        help="EXPLAIN ANALYZE the listed SELECTs whose time grew more than this factor",
    )
    parser.add_argument(
        "--check", action="store_true", help="check the loaded rows against the invariants"
    )
    args = parser.parse_args()
    with (
        postgres_server() as server_url,
        migrated_database(server_url, "dispute_growth") as database_url,
    ):
        keys = {"ops": new_key(database_url, "ops"), "service": new_key(database_url, "service")}
        asyncio.run(run(database_url, keys, args))


if __name__ == "__main__":
    main()
