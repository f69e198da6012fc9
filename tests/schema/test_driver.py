"""Statements sent straight to asyncpg (app.db.driver) run inside the session's transaction,
fail as SQLAlchemy's would, are seen by the engine's statement events, and give rows the
session tracks; and the one-statement locks (app.cases.locks) still follow an order that
moves to another vendor while they wait."""

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from sqlalchemy import ForeignKey, String, bindparam, event, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.cases import locks
from app.db import driver
from app.db.engine import make_engine
from app.models import Case, Order, Vendor
from app.observability.tracing import _trace_statements
from tests.conftest import Headers, suite_settings
from tests.factories import file_fail_reason, put_order

ORDER = driver.Statement("SELECT to_jsonb(o) FROM orders o WHERE o.id = $1 FOR UPDATE", ["id"])


@pytest.fixture
async def order(client: AsyncClient, service: Headers) -> str:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    return "ORD-1"


async def _locked_elsewhere(engine: AsyncEngine, order_id: str) -> bool:
    async with engine.connect() as other:
        await other.execute(text("SET lock_timeout = '50ms'"))
        try:
            await other.execute(
                text("SELECT 1 FROM orders WHERE id = :id FOR UPDATE"), {"id": order_id}
            )
        except DBAPIError:
            return True
        await other.rollback()
        return False


async def test_the_first_statement_of_a_transaction_holds_its_lock_until_commit(
    sessionmaker: async_sessionmaker[AsyncSession], db_engine: AsyncEngine, order: str
) -> None:
    async with sessionmaker() as session, session.begin():
        rows = await driver.fetch(session, ORDER, {"id": order})
        assert rows[0][0]["id"] == order
        assert await _locked_elsewhere(db_engine, order)
    assert not await _locked_elsewhere(db_engine, order)


XID = driver.Statement("SELECT pg_current_xact_id()::text")


async def test_a_session_that_commits_and_goes_on_runs_in_its_new_transaction(
    sessionmaker: async_sessionmaker[AsyncSession], db_engine: AsyncEngine, order: str
) -> None:
    """The connection is asked of the session once per transaction: after a commit, or a
    rollback, a statement runs in the session's next transaction, not on the one let go."""
    async with sessionmaker() as session:
        first = await driver.scalar(session, XID, {})
        assert await driver.scalar(session, XID, {}) == first  # the same transaction
        await session.commit()
        rows = await driver.fetch(session, ORDER, {"id": order})
        second = await driver.scalar(session, XID, {})
        assert second != first
        assert rows and await _locked_elsewhere(db_engine, order)
        await session.rollback()
        assert not await _locked_elsewhere(db_engine, order)
        assert await driver.scalar(session, XID, {}) not in (first, second)
        await session.rollback()


async def test_a_database_error_is_sqlalchemys_and_the_session_rolls_back(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    failing = driver.Statement("SELECT 1 / $1::int", ["n"])
    async with sessionmaker() as session:
        with pytest.raises(DBAPIError) as raised:
            async with session.begin():
                await driver.fetch(session, failing, {"n": 0})
        assert getattr(raised.value.orig, "sqlstate", None) == "22012"  # division_by_zero
        async with session.begin():  # the connection is usable again
            assert (await driver.fetch(session, failing, {"n": 1}))[0][0] == 1


async def test_the_engines_statement_events_see_each_statement(
    sessionmaker: async_sessionmaker[AsyncSession], db_engine: AsyncEngine, order: str
) -> None:
    seen: list[tuple[str, str, Any]] = []

    def before(_c: Any, _cur: Any, sql: str, params: Any, context: Any, _m: bool) -> None:
        seen.append(("before", sql, params))
        context.started = True

    def after(_c: Any, _cur: Any, sql: str, _p: Any, context: Any, _m: bool) -> None:
        seen.append(("after", sql, context.started))

    event.listen(db_engine.sync_engine, "before_cursor_execute", before)
    event.listen(db_engine.sync_engine, "after_cursor_execute", after)
    try:
        async with sessionmaker() as session, session.begin():
            await driver.fetch(session, ORDER, {"id": order})
    finally:
        event.remove(db_engine.sync_engine, "before_cursor_execute", before)
        event.remove(db_engine.sync_engine, "after_cursor_execute", after)
    assert ("before", ORDER.sql, [order]) in seen
    assert ("after", ORDER.sql, True) in seen


async def test_an_attached_row_is_tracked_and_refreshes_the_one_the_session_holds(
    sessionmaker: async_sessionmaker[AsyncSession], order: str
) -> None:
    async with sessionmaker() as session, session.begin():
        held = await session.get(Order, order)
        assert held is not None
        await session.execute(
            text("UPDATE orders SET pickup_notes = '[\"moved\"]' WHERE id = :id"), {"id": order}
        )
        (row,) = await driver.fetch(session, ORDER, {"id": order})
        attached = driver.attach(session, Order, row[0])
        assert attached is held  # one instance per row, as the ORM keeps it
        assert attached.pickup_notes == ["moved"]
        assert attached.created_at.utcoffset() == timedelta(0)
        attached.status = "to_be_failed"
    async with sessionmaker() as session:
        stored = await session.get(Order, order)
        assert stored is not None
        assert (stored.status, stored.pickup_notes) == ("to_be_failed", ["moved"])


async def test_an_order_moved_to_another_vendor_while_waiting_is_locked_with_its_new_one(
    sessionmaker: async_sessionmaker[AsyncSession], client: AsyncClient, service: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    await put_order(client, service, "ORD-9", vendor_id="V-2")  # V-2 exists
    async with sessionmaker() as mover:
        await mover.begin()
        await locks.lock_vendors(mover, {"V-1", "V-2"})
        async with sessionmaker() as waiter, waiter.begin():
            waiting = asyncio.create_task(locks.lock_order(waiter, "ORD-1"))
            await asyncio.sleep(0.3)
            assert not waiting.done()  # behind the mover's lock of V-1
            moved = await mover.scalar(select(Order).where(Order.id == "ORD-1"))
            assert moved is not None
            moved.vendor_id = "V-2"
            await mover.commit()
            found = await asyncio.wait_for(waiting, 5)
            assert found is not None
            locked_order, vendor = found
            assert (locked_order.vendor_id, vendor.id) == ("V-2", "V-2")
            assert isinstance(vendor, Vendor)


async def test_a_case_is_locked_with_its_vendor_and_order_in_one_statement(
    sessionmaker: async_sessionmaker[AsyncSession],
    client: AsyncClient,
    ops: Headers,
    db_engine: AsyncEngine,
    order: str,
) -> None:
    case_id = (await file_fail_reason(client, ops, order, "customer_not_available"))["id"]
    async with sessionmaker() as session, session.begin():
        locked = await locks.lock_case(session, case_id)
        assert (locked.case.id, locked.vendor and locked.vendor.id) == (case_id, "V-1")
        assert locked.order is not None and locked.order.id == order
        assert await _locked_elsewhere(db_engine, order)


async def test_a_statement_sees_what_the_session_has_not_written_yet(
    sessionmaker: async_sessionmaker[AsyncSession], order: str
) -> None:
    async with sessionmaker() as session, session.begin():
        held = await session.get(Order, order)
        assert held is not None
        held.status = "to_be_failed"
        (row,) = await driver.fetch(session, ORDER, {"id": order})
        assert row[0]["status"] == "to_be_failed"
        with session.no_autoflush:
            held.status = "failed"
            (row,) = await driver.fetch(session, ORDER, {"id": order})
            assert row[0]["status"] == "to_be_failed"
        await session.rollback()


async def test_rows_read_here_hold_what_the_orm_loads(
    sessionmaker: async_sessionmaker[AsyncSession], client: AsyncClient, ops: Headers, order: str
) -> None:
    case_id = (await file_fail_reason(client, ops, order, "customer_not_available"))["id"]
    statement = driver.Statement(select(Case).where(Case.id == bindparam("id", type_=String())))
    async with sessionmaker() as session:
        loaded = await session.get(Case, case_id)
        assert loaded is not None
        expected = columns(loaded)
    async with sessionmaker() as session, session.begin():
        (case,) = await driver.instances(session, Case, statement, {"id": case_id})
        assert columns(case) == expected
        (vendor, order_row, locked) = await locks._at_once(
            session, locks._CASE_ORDER_AND_VENDOR, case_id
        )
        assert locked is case and columns(locked) == expected  # from JSON, the same values
        assert vendor.id == "V-1" and order_row.id == order


def columns(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in inspect(type(row)).column_attrs}


async def test_a_read_that_begins_a_snapshot_reads_in_it(
    app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    setting = driver.Statement(
        "SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')"
    )
    async with app.state.snapshot_sessionmaker() as session, session.begin():
        assert list(await driver.one(session, setting, {})) == ["repeatable read", "on"]
    async with sessionmaker() as session, session.begin():
        assert list(await driver.one(session, setting, {})) == ["read committed", "off"]


async def test_a_failing_raw_statement_is_traced_as_an_error_like_an_orm_one(
    database_url: str,
) -> None:
    engine = make_engine(suite_settings(), database_url)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _trace_statements(engine, provider.get_tracer("test"))
    sessions = async_sessionmaker(engine)
    try:
        async with sessions() as session:
            with pytest.raises(DBAPIError):
                async with session.begin():
                    await session.execute(text("SELECT 1 / 0 AS orm_path"))
        async with sessions() as session:
            with pytest.raises(DBAPIError):
                async with session.begin():
                    await driver.fetch(session, driver.Statement("SELECT 1 / 0 AS raw_path"), {})
    finally:
        await engine.dispose()
    status = {
        name: [
            s.status.status_code
            for s in exporter.get_finished_spans()
            if name in str((s.attributes or {}).get("db.query.text", ""))
        ]
        for name in ("orm_path", "raw_path")
    }
    assert status["orm_path"] == [StatusCode.ERROR]
    assert status["raw_path"] == [StatusCode.ERROR], status


async def test_added_rows_are_the_sessions_new_rows_and_a_relationship_still_cascades() -> None:
    class Other(DeclarativeBase):
        pass

    class Parent(Other):
        __tablename__ = "parent"
        id: Mapped[str] = mapped_column(String, primary_key=True)
        children: Mapped[list["Child"]] = relationship()

    class Child(Other):
        __tablename__ = "child"
        id: Mapped[str] = mapped_column(String, primary_key=True)
        parent_id: Mapped[str] = mapped_column(ForeignKey("parent.id"))

    session = AsyncSession()
    case = Case(id="case_1", case_type="fail_reason", status="open", details={})
    driver.add(session, case)
    child = Child(id="c")
    driver.add(session, Parent(id="p", children=[child]))
    assert case in session.new and child in session.new
    assert inspect(case).pending and inspect(child).pending
