"""What the fault tests share: an app of their own with a small pool, a client that takes a
500 as an answer, and the one request they send again and again."""

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy.exc import DBAPIError

from app.keys import service as keys
from tests.conftest import Headers
from tests.factories import fail_reason_body


@asynccontextmanager
async def clients(app: FastAPI) -> AsyncIterator[tuple[AsyncClient, Headers, Headers]]:
    """A client of ``app`` (a 500 is an answer, not an exception) and a service and an ops
    key's headers."""
    async with app.state.sessionmaker() as session, session.begin():
        service = {"Authorization": f"Bearer {await keys.create(session, 'service', None)}"}
        ops = {"Authorization": f"Bearer {await keys.create(session, 'ops', None)}"}
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, service, ops


class _Deadlock(Exception):
    sqlstate = "40P01"


def deadlock(
    monkeypatch: pytest.MonkeyPatch, module: Any, name: str, *, after: bool, times: int = 1
) -> list[int]:
    """``module.name`` deadlocks on its first ``times`` calls, before or ``after`` doing its
    work, as PostgreSQL's deadlock error reaches the request; the list counts its calls."""
    real = getattr(module, name)
    calls: list[int] = []

    async def deadlocking(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if after:
            await real(*args, **kwargs)
        if len(calls) <= times:
            raise DBAPIError("x", None, _Deadlock())
        if not after:
            await real(*args, **kwargs)

    monkeypatch.setattr(module, name, deadlocking)
    return calls


def file(client: AsyncClient, ops: Headers, order_id: str) -> Coroutine[Any, Any, Response]:
    """A fail reason on the order (the request the fault tests break and send again)."""
    return client.post(
        f"/v1/orders/{order_id}/fail-reasons",
        json=fail_reason_body("customer_not_available"),
        headers=ops,
    )


async def kill_backend(database_url: str, pid: int) -> None:
    """Ends the server process ``pid``, as a restart or an administrator would, and waits
    for the client side to see its socket closed."""
    admin = await asyncpg.connect(database_url)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    await asyncio.sleep(0.2)


@asynccontextmanager
async def vendor_locked(database_url: str, vendor_id: str) -> AsyncIterator[asyncpg.Connection]:
    """Another connection holding the vendor's row lock, as a long request would, until the
    block ends (closing the connection lets it go)."""
    holder = await asyncpg.connect(database_url)
    try:
        await holder.execute(f"BEGIN; SELECT 1 FROM vendors WHERE id = '{vendor_id}' FOR UPDATE")
        yield holder
    finally:
        await holder.close()


async def waiting_pid(holder: asyncpg.Connection) -> int:
    """The server process of the request that waits on the lock ``holder`` holds."""
    for _ in range(50):
        await asyncio.sleep(0.1)
        pid = await holder.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database() AND pid <> pg_backend_pid()"
        )
        if pid is not None:
            return int(pid)
    raise AssertionError("the request never waited on the vendor's lock")
