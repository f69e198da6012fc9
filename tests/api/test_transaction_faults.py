"""app.db.transaction.transaction() under faults: a transaction begun with the
sync session's begin() and closed in place. Each test drives it through HTTP and checks that
an error, a cancellation or a lost connection rolls everything back, counts nothing, and
gives the connection back to the pool (checkedout() returns to 0)."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import text

from app.cases import lifecycle
from app.observability import metrics
from tests import faults
from tests.conftest import Headers, running_app, suite_settings
from tests.factories import fail_reason_body, put_order


@pytest.fixture
async def one_connection_app(database_url: str) -> AsyncIterator[FastAPI]:
    settings = suite_settings(db_pool_size=1, db_max_overflow=0, db_pool_timeout_seconds=2)
    async with running_app(settings, database_url) as application:
        yield application
        await application.state.db_engine.dispose()


def _checked_out(app: FastAPI) -> int:
    return int(app.state.db_engine.pool.checkedout())


async def _settled(app: FastAPI) -> int:
    for _ in range(50):
        if _checked_out(app) == 0:
            return 0
        await asyncio.sleep(0.05)
    return _checked_out(app)


async def _works_again(app: FastAPI, client: AsyncClient, ops: Headers, order_id: str) -> None:
    """The next request goes through and gives its connection back."""
    after = await faults.file(client, ops, order_id)
    assert after.status_code == 201, after.text
    assert await _settled(app) == 0


async def _nothing_kept(app: FastAPI, database_url: str, order_id: str) -> None:
    """The broken request wrote nothing on the order and gave its connection back."""
    assert await _settled(app) == 0
    cases = await _count(database_url, f"SELECT count(*) FROM cases WHERE order_id = '{order_id}'")
    assert cases == 0


async def _count(database_url: str, sql: str) -> int:
    admin = await asyncpg.connect(database_url)
    try:
        return int(await admin.fetchval(sql))
    finally:
        await admin.close()


def _decisions_counted() -> float:
    return sum(
        sample.value
        for family in metrics.DECISIONS.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    )


async def test_an_error_after_the_writes_rolls_all_back_counts_nothing_and_leaks_nothing(
    one_connection_app: FastAPI, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = one_connection_app
    async with faults.clients(app) as (client, service, ops):
        for n in range(25):
            await put_order(client, service, f"TXF-E{n}", vendor_id="V-E")
        real = lifecycle.after_decision

        async def then_fail(*args: Any, **kwargs: Any) -> Any:
            await real(*args, **kwargs)
            await args[0].flush()  # the decision, case and ledger are written
            raise RuntimeError("boom after the writes")

        monkeypatch.setattr(lifecycle, "after_decision", then_fail)
        counted = _decisions_counted()
        for n in range(20):
            answer = await faults.file(client, ops, f"TXF-E{n}")
            assert answer.status_code == 500, answer.text
        assert _decisions_counted() == counted
        assert await _settled(app) == 0
        assert (
            await _count(database_url, "SELECT count(*) FROM cases WHERE order_id LIKE 'TXF-E%'")
            == 0
        )
        assert (
            await _count(
                database_url,
                "SELECT count(*) FROM decisions d JOIN cases c ON c.id = d.case_id"
                " WHERE c.order_id LIKE 'TXF-E%'",
            )
            == 0
        )
        monkeypatch.setattr(lifecycle, "after_decision", real)
        ok = await faults.file(client, ops, "TXF-E24")
        assert ok.status_code == 201, ok.text
        assert _decisions_counted() > counted
        assert await _settled(app) == 0


async def test_a_request_cancelled_while_it_waits_on_a_lock_gives_its_connection_back(
    one_connection_app: FastAPI, database_url: str
) -> None:
    app = one_connection_app
    async with faults.clients(app) as (client, service, ops):
        for n in range(3):
            await put_order(client, service, f"TXF-C{n}", vendor_id="V-C")
        for round_ in range(3):
            async with faults.vendor_locked(database_url, "V-C") as holder:
                waiting = asyncio.create_task(faults.file(client, ops, "TXF-C0"))
                await faults.waiting_pid(holder)
                waiting.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiting
            assert await _settled(app) == 0, f"round {round_}"
            # Nothing the cancelled request did was committed, and no backend of the app
            # was left inside a transaction.
            assert (
                await _count(database_url, "SELECT count(*) FROM cases WHERE order_id = 'TXF-C0'")
                == 0
            )
            await asyncio.sleep(0.3)
            stuck = await _count(
                database_url,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state LIKE 'idle in transaction%'",
            )
            assert stuck == 0
        await _works_again(app, client, ops, "TXF-C1")


async def test_a_request_cancelled_at_its_commit_gives_its_connection_back(
    one_connection_app: FastAPI, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = one_connection_app
    async with faults.clients(app) as (client, service, ops):
        for n in range(2):
            await put_order(client, service, f"TXF-X{n}", vendor_id="V-X")
        real_commit = asyncpg.transaction.Transaction.commit
        at_commit = asyncio.Event()

        async def slow_commit(self: Any) -> None:
            at_commit.set()
            await asyncio.sleep(5)
            await real_commit(self)

        monkeypatch.setattr(asyncpg.transaction.Transaction, "commit", slow_commit)
        waiting = asyncio.create_task(faults.file(client, ops, "TXF-X0"))
        await asyncio.wait_for(at_commit.wait(), 5)
        counted = _decisions_counted()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        monkeypatch.setattr(asyncpg.transaction.Transaction, "commit", real_commit)
        assert _decisions_counted() == counted  # not committed, not counted
        await _nothing_kept(app, database_url, "TXF-X0")
        await _works_again(app, client, ops, "TXF-X1")


async def test_a_killed_connection_at_commit_is_503_and_the_pool_recovers(
    one_connection_app: FastAPI, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = one_connection_app
    async with faults.clients(app) as (client, service, ops):
        for n in range(2):
            await put_order(client, service, f"TXF-K{n}", vendor_id="V-K")
        real_commit = asyncpg.transaction.Transaction.commit

        async def killed_commit(self: Any) -> None:
            pid = self._connection.get_server_pid()
            await faults.kill_backend(database_url, pid)
            await real_commit(self)

        monkeypatch.setattr(asyncpg.transaction.Transaction, "commit", killed_commit)
        counted = _decisions_counted()
        killed = await faults.file(client, ops, "TXF-K0")
        monkeypatch.setattr(asyncpg.transaction.Transaction, "commit", real_commit)
        assert killed.status_code == 503, killed.text
        assert _decisions_counted() == counted
        await _nothing_kept(app, database_url, "TXF-K0")
        await _works_again(app, client, ops, "TXF-K1")


async def test_a_statement_timeout_many_times_over_leaks_no_connection(
    database_url: str,
) -> None:
    settings = suite_settings(
        db_pool_size=1,
        db_max_overflow=0,
        db_statement_timeout_seconds=0.3,
        db_pool_timeout_seconds=2,
    )
    async with running_app(settings, database_url) as app:
        try:
            async with faults.clients(app) as (client, service, ops):
                for n in range(6):
                    await put_order(client, service, f"TXF-T{n}", vendor_id="V-T")
                async with faults.vendor_locked(database_url, "V-T"):
                    for n in range(5):
                        slow = await faults.file(client, ops, f"TXF-T{n}")
                        assert slow.status_code == 503, slow.text
                        assert await _settled(app) == 0
                await _works_again(app, client, ops, "TXF-T5")
        finally:
            await app.state.db_engine.dispose()


async def test_the_cached_key_and_idempotent_replays_work_in_later_sessions(
    one_connection_app: FastAPI, database_url: str
) -> None:
    app = one_connection_app
    async with faults.clients(app) as (client, service, ops):
        await put_order(client, service, "TXF-I1", vendor_id="V-I")
        headers = {**ops, "Idempotency-Key": "k-1"}
        body = fail_reason_body("customer_not_available")
        first = await client.post("/v1/orders/TXF-I1/fail-reasons", json=body, headers=headers)
        assert first.status_code == 201, first.text
        for _ in range(5):
            again = await client.post("/v1/orders/TXF-I1/fail-reasons", json=body, headers=headers)
            assert again.status_code == 201, again.text
            assert again.headers.get("idempotent-replayed") == "true"
            assert again.content == first.content
        other = await client.post(
            "/v1/orders/TXF-I1/fail-reasons",
            json=fail_reason_body("customer_not_reachable"),
            headers=headers,
        )
        assert other.status_code == 422, other.text
        assert await _settled(app) == 0
        assert (
            await _count(database_url, "SELECT count(*) FROM cases WHERE order_id = 'TXF-I1'") == 1
        )


async def test_a_connection_killed_after_the_writes_then_an_error_leaks_nothing(
    one_connection_app: FastAPI, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rollback itself fails (the backend is gone): the pool must still get back to 0."""
    app = one_connection_app
    async with faults.clients(app) as (client, service, ops):
        for n in range(2):
            await put_order(client, service, f"TXF-L{n}", vendor_id="V-L")
        real = lifecycle.after_decision

        async def kill_then_fail(*args: Any, **kwargs: Any) -> Any:
            await real(*args, **kwargs)
            session = args[0]
            await session.flush()
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await faults.kill_backend(database_url, pid)
            raise RuntimeError("boom on a dead connection")

        monkeypatch.setattr(lifecycle, "after_decision", kill_then_fail)
        answer = await faults.file(client, ops, "TXF-L0")
        monkeypatch.setattr(lifecycle, "after_decision", real)
        assert answer.status_code in (500, 503), answer.text
        await _nothing_kept(app, database_url, "TXF-L0")
        await _works_again(app, client, ops, "TXF-L1")


async def test_a_request_cancelled_during_its_rollback_gives_its_connection_back(
    one_connection_app: FastAPI, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = one_connection_app
    async with faults.clients(app) as (client, service, ops):
        for n in range(2):
            await put_order(client, service, f"TXF-R{n}", vendor_id="V-R")
        real = lifecycle.after_decision

        async def then_fail(*args: Any, **kwargs: Any) -> Any:
            await real(*args, **kwargs)
            await args[0].flush()
            raise RuntimeError("boom")

        real_rollback = asyncpg.transaction.Transaction.rollback
        at_rollback = asyncio.Event()

        async def slow_rollback(self: Any) -> None:
            at_rollback.set()
            await asyncio.sleep(5)
            await real_rollback(self)

        monkeypatch.setattr(lifecycle, "after_decision", then_fail)
        monkeypatch.setattr(asyncpg.transaction.Transaction, "rollback", slow_rollback)
        waiting = asyncio.create_task(faults.file(client, ops, "TXF-R0"))
        await asyncio.wait_for(at_rollback.wait(), 5)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        monkeypatch.setattr(asyncpg.transaction.Transaction, "rollback", real_rollback)
        monkeypatch.setattr(lifecycle, "after_decision", real)
        await _nothing_kept(app, database_url, "TXF-R0")
        await _works_again(app, client, ops, "TXF-R1")
