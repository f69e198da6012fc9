"""A connection lost or timed out under a request whose first statement goes straight to
asyncpg (app.db.driver): the request answers 503 (never 500), and the pool lets go of a dead
connection so that the next request works."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests import faults
from tests.conftest import running_app, suite_settings
from tests.factories import put_order


@pytest.fixture
async def one_connection_app(database_url: str) -> AsyncIterator[FastAPI]:
    settings = suite_settings(db_pool_size=1, db_max_overflow=0)
    async with running_app(settings, database_url) as application:
        yield application
        await application.state.db_engine.dispose()  # no dead connection left for the stop


async def _kill_pool(application: FastAPI, database_url: str) -> None:
    # The app's one pooled backend, as a server restart or an administrator would.
    async with application.state.db_engine.connect() as own:
        pid = (await own.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    await faults.kill_backend(database_url, pid)


async def test_a_killed_connection_gives_503_once_and_then_the_service_works(
    one_connection_app: FastAPI, database_url: str
) -> None:
    app = one_connection_app
    async with faults.clients(app) as (client, service, ops):
        for n in range(3):
            await put_order(client, service, f"ORD-K{n}", vendor_id="V-1")
        first = await faults.file(client, ops, "ORD-K0")
        assert first.status_code == 201, first.text
        await _kill_pool(app, database_url)
        statuses = []
        for n in (1, 2):
            answer = await faults.file(client, ops, f"ORD-K{n}")
            statuses.append((answer.status_code, answer.headers["content-type"]))
        # At most the first request after the kill may fail, with a 503 problem.
        assert statuses[0][0] in (201, 503) and statuses[0][1].startswith(
            ("application/json", "application/problem+json")
        ), statuses
        assert statuses[1][0] == 201, statuses


async def test_a_connection_killed_mid_statement_is_dropped_from_the_pool(
    one_connection_app: FastAPI, database_url: str
) -> None:
    """Killed while its lock statement waits (sent straight to asyncpg): that request is a
    503, as documented; the pool must not hand the dead connection to the next request."""
    app = one_connection_app
    async with faults.clients(app) as (client, service, ops):
        for n in range(2):
            await put_order(client, service, f"ORD-M{n}", vendor_id="V-1")
        async with faults.vendor_locked(database_url, "V-1") as holder:
            waiting = asyncio.create_task(faults.file(client, ops, "ORD-M0"))
            pid = await faults.waiting_pid(holder)
            await holder.fetchval("SELECT pg_terminate_backend($1)", pid)
            killed = await asyncio.wait_for(waiting, 10)
        assert killed.status_code == 503, killed.text
        after = await faults.file(client, ops, "ORD-M1")
        assert after.status_code == 201, (after.status_code, after.text)


@pytest.fixture
async def timing_out_app(database_url: str) -> AsyncIterator[FastAPI]:
    settings = suite_settings(db_pool_size=1, db_max_overflow=0, db_statement_timeout_seconds=0.5)
    async with running_app(settings, database_url) as application:
        yield application
        await application.state.db_engine.dispose()


async def test_a_lock_wait_past_the_timeout_is_503_and_the_next_request_works(
    timing_out_app: FastAPI, database_url: str
) -> None:
    app = timing_out_app
    async with faults.clients(app) as (client, service, ops):
        for n in range(2):
            await put_order(client, service, f"ORD-T{n}", vendor_id="V-1")
        async with faults.vendor_locked(database_url, "V-1"):
            slow = await faults.file(client, ops, "ORD-T0")
        assert slow.status_code == 503, slow.text
        after = await faults.file(client, ops, "ORD-T1")
        assert after.status_code == 201, (after.status_code, after.text)
