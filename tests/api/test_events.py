"""GET /v1/events: an ordered feed a consumer resumes from without gaps or repeats, even
while writers commit out of order."""

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.events import service as events
from tests.conftest import Headers
from tests.factories import put_order


@asynccontextmanager
async def writer(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A writer transaction the test commits (or abandons) when it chooses."""
    async with sessionmaker() as session, session.begin():
        yield session


async def emitted(session: AsyncSession, type: str, **data: Any) -> None:
    """Emits and flushes at once: events otherwise wait for the session's next flush, and
    these tests need each one written (its id and transaction taken) where it stands."""
    await events.emit(session, type, **data)
    await session.flush()


async def read(client: AsyncClient, headers: Headers, after: int = 0) -> dict[str, Any]:
    response = await client.get(f"/v1/events?after={after}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(page: dict[str, Any]) -> list[int]:
    return [e["id"] for e in page["items"]]


async def test_a_held_writer_is_not_skipped_after_it_commits(
    client: AsyncClient, service: Headers, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with writer(sessionmaker) as held:
        await emitted(held, "test.held")  # takes id 1, then waits
        await put_order(client, service, "ORD-1")  # id 2, committed first
        # A reader that took id 2 now would resume after it and never see id 1.
        early = await read(client, service)
        assert early["items"] == [] and early["last_id"] == 0
    late = await read(client, service, early["last_id"])
    assert [(e["id"], e["type"]) for e in late["items"]] == [(1, "test.held"), (2, "order.created")]
    assert (await read(client, service, late["last_id"]))["items"] == []


async def test_feed_follows_transactions_not_ids(
    client: AsyncClient, service: Headers, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with writer(sessionmaker) as first, writer(sessionmaker) as second:
        await emitted(first, "test.first_begins")  # first writes first: the lower xid
        await emitted(second, "test.second")
        await emitted(first, "test.first_ends")
        await second.commit()
        assert (await read(client, service))["items"] == []
    page = await read(client, service)
    assert [e["type"] for e in page["items"]] == [
        "test.first_begins",
        "test.first_ends",
        "test.second",
    ]
    # Ids are unique but not increasing along the feed; resuming uses the last one received.
    assert ids(page) == [1, 3, 2] and page["last_id"] == 2
    assert (await read(client, service, 2))["items"] == []
    assert ids(await read(client, service, 1)) == [3, 2]


async def test_a_lower_id_committed_later_is_not_skipped(
    client: AsyncClient, service: Headers, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with writer(sessionmaker) as late, writer(sessionmaker) as early:
        await early.execute(select(func.pg_current_xact_id()))  # early starts writing first
        await emitted(late, "test.late")  # id 1
        await emitted(early, "test.early")  # id 2
        await early.commit()
        # Serving only finished transactions is not enough when the feed is in id order: id 2
        # is finished, and a reader resuming after it would never see id 1.
        first = await read(client, service)
        assert [e["type"] for e in first["items"]] == ["test.early"]
    rest = await read(client, service, first["last_id"])
    assert [(e["id"], e["type"]) for e in rest["items"]] == [(1, "test.late")]


async def test_a_rolled_back_writer_leaves_no_event_and_no_stall(
    client: AsyncClient, service: Headers, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        async with session.begin():
            await emitted(session, "test.abandoned")
            await put_order(client, service, "ORD-1")
            await session.rollback()
    page = await read(client, service)
    assert [e["type"] for e in page["items"]] == ["order.created"]


async def test_concurrent_writers_reach_the_reader_each_exactly_once(
    client: AsyncClient, service: Headers, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    rng = random.Random(4)
    committed: list[int] = []

    async def write(n: int) -> None:
        await asyncio.sleep(rng.random() * 0.05)
        async with writer(sessionmaker) as session:
            for part in range(3):
                await emitted(session, "test.write", n=n, part=part)
                await asyncio.sleep(rng.random() * 0.02)
            if n % 7 == 3:
                await session.rollback()  # some writers give up
                return
        committed.append(n)

    received: list[tuple[int, int]] = []
    done = asyncio.Event()

    async def consume() -> None:
        after = 0
        while True:
            finished = done.is_set()
            page = (await client.get(f"/v1/events?after={after}&limit=7", headers=service)).json()
            received.extend((e["data"]["n"], e["data"]["part"]) for e in page["items"])
            after = page["last_id"]
            if finished and not page["items"]:
                return
            await asyncio.sleep(0.005)

    consumer = asyncio.create_task(consume())
    await asyncio.gather(*(write(n) for n in range(40)))
    done.set()
    await consumer

    assert len(received) == len(set(received)), "an event was served twice"
    assert sorted(received) == sorted((n, part) for n in committed for part in range(3))
    # A transaction's events come together and in their own order.
    for n in committed:
        start = received.index((n, 0))
        assert received[start : start + 3] == [(n, 0), (n, 1), (n, 2)]


async def test_unknown_after_is_named(client: AsyncClient, service: Headers) -> None:
    await put_order(client, service, "ORD-1")
    response = await client.get("/v1/events?after=999", headers=service)
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "after",
        "in": "query",
        "message": "No event 999; pass the id of the last event received, or 0.",
        "type": "refused",
    }
    for bad in ("-1", str(2**63), "x"):
        response = await client.get(f"/v1/events?after={bad}", headers=service)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "after"


async def test_pages_resume_where_they_stopped(client: AsyncClient, service: Headers) -> None:
    for n in range(5):
        await put_order(client, service, f"ORD-{n}")
    seen: list[int] = []
    after = 0
    while True:
        page = (await client.get(f"/v1/events?after={after}&limit=2", headers=service)).json()
        if not page["items"]:
            break
        assert len(page["items"]) <= 2
        seen.extend(ids(page))
        after = page["last_id"]
    assert seen == [1, 2, 3, 4, 5]


async def test_only_ops_and_service_read_the_feed(client: AsyncClient, support: Headers) -> None:
    assert (await client.get("/v1/events", headers=support)).status_code == 403
    assert (await client.get("/v1/events")).status_code == 401
