"""Queries whose cost grew with the database use an index that keeps them small.

bench/growth_bench.py found both at 1,000,000 decisions (migration 0005). Each test makes
the shape that hurt (many rows the query must not read, a few it wants), lets PostgreSQL
gather statistics, and reads the plan of the statement the app itself sends.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.effects import repository as ledger
from app.observability.metrics import DatabaseGauges


async def _plan(engine: AsyncEngine, run: Callable[[], Awaitable[Any]], starts: str) -> str:
    """The EXPLAIN of the first statement beginning with ``starts`` that ``run`` sends."""
    sent: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, params: Any, _x: Any, _m: bool) -> None:
        if statement.lstrip().startswith(starts):
            sent.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        await run()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert sent, f"no statement starting {starts!r} was sent"
    statement, params = sent[0]
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        rows = await driver.fetch(f"EXPLAIN {statement}", *params)
    return "\n".join(row[0] for row in rows)


async def _fill(engine: AsyncEngine, *statements: str) -> None:
    async with engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE cases, ledger_entries"))


async def test_open_cases_gauge_reads_only_open_cases(db_engine: AsyncEngine) -> None:
    await _fill(
        db_engine,
        """INSERT INTO cases (id, case_type, status, details, resolved_at)
           SELECT 'case_r' || i, 'fail_reason', 'resolved', '{}', now()
           FROM generate_series(1, 20000) i""",
        """INSERT INTO cases (id, case_type, status, details)
           VALUES ('case_open', 'fail_reason', 'pending_review', '{}')""",
    )
    plan = await _plan(db_engine, DatabaseGauges(db_engine).read, "SELECT case_type, count(*)")
    assert "ix_cases_open_by_type" in plan and "Seq Scan" not in plan, plan


async def test_a_vendors_ledger_page_reads_only_its_page(
    db_engine: AsyncEngine,
    sessionmaker: async_sessionmaker,  # type: ignore[type-arg]
) -> None:
    # The heavy vendor's entries are the newest: in id order, every other entry comes first.
    await _fill(
        db_engine,
        "INSERT INTO vendors (id, max_leads) VALUES ('V-OTHER', 10), ('V-HEAVY', 10)",
        """INSERT INTO ledger_entries (id, vendor_id, kind, amount)
           SELECT 'le_0' || lpad(i::text, 6, '0'), 'V-OTHER', 'credit_refund', 40
           FROM generate_series(1, 100000) i""",
        """INSERT INTO ledger_entries (id, vendor_id, kind, amount)
           SELECT 'le_1' || lpad(i::text, 6, '0'), 'V-HEAVY', 'credit_refund', 40
           FROM generate_series(1, 5000) i""",
    )

    async def page() -> None:
        async with sessionmaker() as session:
            await ledger.for_vendor(session, "V-HEAVY", after=None, limit=21)

    plan = await _plan(db_engine, page, "SELECT ledger_entries.id")
    assert "ix_ledger_vendor_id" in plan and "Sort" not in plan and "Filter" not in plan, plan
