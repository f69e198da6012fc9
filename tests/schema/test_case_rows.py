"""A case's rows read once after its locks (app.cases.case_rows): the running clocks locked
and SKIP LOCKED, every decision and clock as stored, and forgotten when a savepoint is
rolled back or the transaction ends."""

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.cases import case_rows
from app.cases import deadline_repository as deadlines
from app.effects import repository as ledger_rows
from app.ids import new_id
from app.models import LedgerEntry
from tests.api.test_round_trips import statements
from tests.conftest import Headers
from tests.factories import file_fail_reason, put_order, verdict

FailReview = tuple[dict[str, Any], str]


@pytest.fixture
async def fail_review(
    client: AsyncClient, service: Headers, ops: Headers, db_engine: AsyncEngine
) -> FailReview:
    """A fail review and the id of its one clock, which runs."""
    await put_order(client, service, "ORD-1")
    case = await file_fail_reason(client, ops, "ORD-1", "customer_not_available")
    async with db_engine.connect() as connection:
        (clock,) = (
            await connection.execute(
                text("SELECT id FROM deadlines WHERE case_id = :id"), {"id": case["id"]}
            )
        ).scalars()
    return case, clock


async def _locked_elsewhere(engine: AsyncEngine, table: str, row_id: str) -> bool:
    async with engine.connect() as other:
        try:
            await other.execute(
                text(f"SELECT 1 FROM {table} WHERE id = :id FOR UPDATE NOWAIT"), {"id": row_id}
            )
        except DBAPIError:
            return True
        await other.rollback()
        return False


def _reversal_of(entry: LedgerEntry) -> LedgerEntry:
    return LedgerEntry(
        id=new_id("le"),
        vendor_id=entry.vendor_id,
        case_id=entry.case_id,
        order_id=entry.order_id,
        kind="reversal",
        amount=entry.amount,
        settles_entry_id=entry.id,
    )


async def test_the_rows_are_what_is_stored_and_the_running_clocks_are_locked(
    fail_review: FailReview,
    sessionmaker: async_sessionmaker[AsyncSession],
    db_engine: AsyncEngine,
) -> None:
    case, clock = fail_review
    async with sessionmaker() as session, session.begin():
        running = await deadlines.all_running(session, case["id"])
        known = case_rows.known(session, case["id"])
        assert known is not None
        assert [d.id for d in running] == [clock]
        assert [d.id for d in known.deadlines] == [clock]
        assert known.running[0] is known.deadlines[0]  # one instance, as the session holds it
        assert [d.id for d in known.decisions] == [d["id"] for d in case["history"]]
        assert known.feedback is None
        assert await _locked_elsewhere(db_engine, "deadlines", clock)
    assert not await _locked_elsewhere(db_engine, "deadlines", clock)


async def test_a_clock_held_elsewhere_is_not_running_here_but_is_still_the_cases(
    fail_review: FailReview,
    sessionmaker: async_sessionmaker[AsyncSession],
    db_engine: AsyncEngine,
) -> None:
    case, clock = fail_review
    async with db_engine.connect() as watcher:
        await watcher.execute(
            text("SELECT 1 FROM deadlines WHERE id = :id FOR UPDATE"), {"id": clock}
        )
        async with sessionmaker() as session, session.begin():
            assert await deadlines.all_running(session, case["id"]) == []
            known = case_rows.known(session, case["id"])
            assert known is not None and [d.id for d in known.deadlines] == [clock]
        await watcher.rollback()


async def test_a_savepoint_rolled_back_or_a_new_transaction_reads_them_again(
    fail_review: FailReview,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    case, _ = fail_review
    async with sessionmaker() as session:
        async with session.begin():
            savepoint = await session.begin_nested()
            await deadlines.all_running(session, case["id"])
            assert case_rows.known(session, case["id"]) is not None
            await savepoint.rollback()
            assert case_rows.known(session, case["id"]) is None
            await deadlines.all_running(session, case["id"])
            assert case_rows.known(session, case["id"]) is not None
        assert case_rows.known(session, case["id"]) is None


async def test_the_entries_in_force_are_read_with_them_until_the_transaction_adds_one(
    client: AsyncClient,
    service: Headers,
    ops: Headers,
    sessionmaker: async_sessionmaker[AsyncSession],
    db_engine: AsyncEngine,
) -> None:
    """What a new decision of the case replaces comes with the case's rows, locked, and is
    read again once the transaction has added an entry of its own."""
    await put_order(client, service, "ORD-1")
    case = await file_fail_reason(client, ops, "ORD-1", "vendor_not_visiting")
    decided = await verdict(client, ops, case["id"], "vendor")
    async with sessionmaker() as fresh, fresh.begin():
        stored = [
            (e.entry.id, e.settlement)
            for e in await ledger_rows.in_force_of_case(fresh, case["id"])
        ]
    assert stored  # the verdict's strike at least
    async with sessionmaker() as session, session.begin():
        await deadlines.all_running(session, case["id"])
        with statements(db_engine) as sent:
            known = await ledger_rows.in_force_of_case(session, case["id"])
        assert sent == []
        assert [(e.entry.id, e.settlement) for e in known] == stored
        assert await _locked_elsewhere(db_engine, "ledger_entries", stored[0][0])
        # An entry added in a savepoint rolled back: what is in force is read again, as before.
        savepoint = await session.begin_nested()
        await ledger_rows.add(session, _reversal_of(known[0].entry))
        assert await ledger_rows.in_force_of_case(session, case["id"]) != known
        await savepoint.rollback()
        after = await ledger_rows.in_force_of_case(session, case["id"])
        assert [(e.entry.id, e.settlement) for e in after] == stored
        entry = LedgerEntry(
            id=new_id("le"),
            vendor_id=known[0].entry.vendor_id,
            decision_id=decided["decision"]["id"],
            action_index=99,
            case_id=case["id"],
            order_id="ORD-1",
            kind=known[0].entry.kind,
            amount=known[0].entry.amount,
        )
        await ledger_rows.add(session, entry)
        with statements(db_engine) as sent:
            again = await ledger_rows.in_force_of_case(session, case["id"])
        assert sent  # read again, with the new entry written first
        assert [e.entry.id for e in again] == [*(i for i, _ in stored), entry.id]
        await session.rollback()
