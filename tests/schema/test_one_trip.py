"""The new rows of a flush go to the database in one statement (app.db.one_trip), and the
session then holds them exactly as the ORM would have: every column as stored, the server's
values included, and a later change written as an UPDATE. What it does not take (rows in a
savepoint, a table with a changed row in the same flush) the ORM writes as before."""

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from app.ids import new_id
from app.models import Case, Deadline, Decision, Event

DUE = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def sent(db_engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, _p: Any, _x: Any, _m: bool) -> None:
        statements.append(statement)

    event.listen(db_engine.sync_engine, "before_cursor_execute", count)
    yield statements
    event.remove(db_engine.sync_engine, "before_cursor_execute", count)


@contextmanager
def only(statements: list[str]) -> Iterator[list[str]]:
    statements.clear()
    yield statements


def case_rows(case_id: str | None = None) -> tuple[Case, Deadline, Decision, list[Event]]:
    case = Case(id=case_id or new_id("case"), case_type="fail_reason", status="open", details={})
    clock = Deadline(id=new_id("dl"), case_id=case.id, kind="resolution", due_at=DUE)
    decision = Decision(
        id=new_id("dec"),
        case_id=case.id,
        case_type="fail_reason",
        stage="final",
        outcome="none",
        actions=[{"kind": "notify"}],
        rules_fired=["a rule"],
        ruleset_version="test",
        policy={},
        facts={"nested": {"list": [1, None, "x"]}, "none": None},
        decided_by={"type": "rules"},
    )
    events = [
        Event(type=f"test.{n}", case_id=case.id, data={"n": n}, request_id=None) for n in range(3)
    ]
    return case, clock, decision, events


@pytest.fixture
async def session(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as s:
        yield s


def columns(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in inspect(type(row)).column_attrs}


async def test_a_flush_of_new_rows_is_one_statement_and_holds_what_was_stored(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], sent: list[str]
) -> None:
    case, clock, decision, events = case_rows()
    async with session.begin():
        session.add_all([case, clock, decision, *events])
        with only(sent):
            await session.flush()
        assert len(sent) == 1 and sent[0].startswith("WITH"), sent
        xid = (await session.execute(text("SELECT pg_current_xact_id()::text"))).scalar_one()
        now = (await session.execute(text("SELECT now()"))).scalar_one()
        held = [columns(row) for row in (case, clock, decision, *events)]
        assert not session.new and not session.dirty
    async with sessionmaker() as other:
        stored = [
            columns(await other.get(type(row), inspect(row).identity[0]))  # type: ignore[index]
            for row in (case, clock, decision, *events)
        ]
    # The trigger's work is the one thing a session never sees (the ORM's writes neither).
    assert held[0].pop("due_at") is None and stored[0].pop("due_at") == DUE
    assert held == stored
    # What the server made: the times, the outbox's ids in the order added, its xid; and
    # what the database does on its own (the trigger that keeps a case's soonest clock).
    assert case.created_at == case.updated_at == decision.decided_at == now
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert [e.type for e in sorted(events, key=lambda e: e.id)] == ["test.0", "test.1", "test.2"]
    assert {str(e.xid) for e in events} == {xid}
    assert case.ticket_status == "open" and case.notes == []
    assert stored[2]["facts"] == {"nested": {"list": [1, None, "x"]}, "none": None}


async def test_a_row_written_in_one_trip_is_then_updated_like_any_other(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], sent: list[str]
) -> None:
    case, clock, decision, events = case_rows()
    async with session.begin():
        session.add_all([case, clock, decision, *events])
        await session.flush()
        case.status = "resolved"
        case.current_decision_id = decision.id
        with only(sent):
            await session.flush()
        assert [s.split()[0:3] for s in sent] == [["UPDATE", "cases", "SET"]]
    async with sessionmaker() as other:
        stored = await other.get(Case, case.id)
        assert stored is not None
        assert (stored.status, stored.current_decision_id) == ("resolved", decision.id)


async def test_a_clock_settled_and_started_again_in_one_flush_keeps_the_orms_order(
    session: AsyncSession, sent: list[str]
) -> None:
    """One running clock of a kind per case (a unique index): the settled one must be
    updated before its successor is inserted. The update goes in the one trip with the new
    decision and events; the new clock is left to the ORM, which writes it after."""
    case, clock, decision, _ = case_rows()
    async with session.begin():
        session.add_all([case, clock, decision])
    async with session.begin():
        running = (
            await session.execute(select(Deadline).where(Deadline.id == clock.id))
        ).scalar_one()
        running.settled_at, running.outcome = DUE, "met"
        again = Deadline(
            id=new_id("dl"), case_id=case.id, kind="resolution", due_at=DUE + timedelta(days=1)
        )
        _, _, second, more = case_rows(case.id)
        session.add_all([again, second, *more])
        with only(sent):
            await session.flush()
    trip, *after = sent
    assert trip.startswith("WITH") and "UPDATE deadlines " in trip
    assert "INSERT INTO decisions " in trip and "INSERT INTO events " in trip
    assert "INSERT INTO deadlines" not in trip
    assert [" ".join(s.split()[:3]) for s in after] == ["INSERT INTO deadlines"]


async def test_changed_rows_are_updated_in_one_trip_with_the_servers_times(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], sent: list[str]
) -> None:
    first, _, _, _ = case_rows()
    second, _, _, _ = case_rows()
    async with session.begin():
        session.add_all([first, second])
    async with session.begin():
        one = await session.get(Case, first.id)
        two = await session.get(Case, second.id)
        assert one is not None and two is not None
        one.status, one.details = "resolved", {"n": 1}
        two.notes = [{"text": "a note"}]
        with only(sent):
            await session.flush()
        assert len(sent) == 1 and sent[0].startswith("WITH"), sent
        now = (await session.execute(text("SELECT now()"))).scalar_one()
        assert one.updated_at == two.updated_at == now
        assert not session.dirty or not any(session.is_modified(r) for r in session.dirty)
    async with sessionmaker() as other:
        stored = [await other.get(Case, first.id), await other.get(Case, second.id)]
    assert [columns(row) for row in stored] == [columns(one), columns(two)]
    assert stored[0] is not None and stored[0].created_at < stored[0].updated_at


async def test_a_changed_row_another_transaction_deleted_is_stale(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first, _, _, _ = case_rows()
    second, _, _, _ = case_rows()
    first_id = first.id
    async with session.begin():
        session.add_all([first, second])
    with pytest.raises(StaleDataError):
        async with session.begin():
            one = await session.get(Case, first.id)
            two = await session.get(Case, second.id)
            assert one is not None and two is not None
            async with sessionmaker() as other, other.begin():
                await other.execute(text("DELETE FROM cases WHERE id = :id"), {"id": second.id})
            one.status = two.status = "resolved"
    async with sessionmaker() as other:
        kept = await other.get(Case, first_id)
        assert kept is not None and kept.status == "open"


async def test_a_rollback_forgets_the_new_rows_and_expires_the_changed_ones_as_the_orm_does(
    session: AsyncSession, sent: list[str]
) -> None:
    case, clock, decision, events = case_rows()
    async with session.begin():
        session.add(case)
        await session.flush()
    async with session.begin():
        case.status = "resolved"
        session.add_all([clock, decision, *events])
        with only(sent):
            await session.flush()
        assert len(sent) == 1 and sent[0].startswith("WITH"), sent
        await session.rollback()
    assert clock not in session and decision not in session and events[0] not in session
    assert case in session and "status" not in inspect(case).dict  # expired: read again
    async with session.begin():
        await session.refresh(case)
        assert case.status == "open"


async def test_rows_added_in_a_savepoint_are_written_by_the_orm_and_forgotten_with_it(
    session: AsyncSession, sent: list[str]
) -> None:
    case, clock, decision, events = case_rows()
    async with session.begin():
        savepoint = await session.begin_nested()
        session.add_all([case, clock, decision, *events])
        with only(sent):
            await session.flush()
        assert not [s for s in sent if s.startswith("WITH")]
        await savepoint.rollback()
        assert case not in session and decision not in session
        found = (await session.execute(select(Case.id).where(Case.id == case.id))).first()
        assert found is None


async def test_a_conflict_in_one_trip_is_the_database_error_and_leaves_nothing(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    case, clock, decision, _ = case_rows()
    async with session.begin():
        session.add_all([case, clock, decision])
    duplicate, _, other_decision, more = case_rows(case.id)
    with pytest.raises(IntegrityError):
        async with sessionmaker() as s, s.begin():
            s.add_all([duplicate, other_decision, *more])
            await s.flush()
    async with sessionmaker() as s:
        assert (
            await s.execute(select(Decision.id).where(Decision.id == other_decision.id))
        ).first() is None
        assert (await s.execute(select(Event.id))).first() is None
