"""Stored Idempotency-Key answers expire after IDEMPOTENCY_RETENTION_HOURS: a key sent again
after that is a fresh request, and the sweeper deletes the old records a batch at a time."""

from datetime import timedelta

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.watcher import IdempotencySweeper
from tests.conftest import Headers
from tests.factories import put_order

BODY = {"reason": "customer_changed_mind", "explanation": "changed mind at the door"}
RETENTION = timedelta(hours=24)


async def _age(engine: AsyncEngine, hours: float, *keys: str) -> None:
    """Makes the stored answers of ``keys`` look ``hours`` old."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE idempotency_records SET created_at = now() - make_interval(hours => :h)"
                " WHERE key = ANY(:keys)"
            ),
            {"h": hours, "keys": list(keys)},
        )


async def _stored_keys(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT key FROM idempotency_records ORDER BY key"))
        return [str(key) for (key,) in rows]


async def test_a_key_sent_again_after_its_retention_is_a_fresh_request(
    client: AsyncClient, service: Headers, ops: Headers, db_engine: AsyncEngine
) -> None:
    await put_order(client, service, "ORD-1")
    await put_order(client, service, "ORD-2")
    headers = {**ops, "Idempotency-Key": "k-old"}
    first = await client.post("/v1/orders/ORD-1/fail-reasons", json=BODY, headers=headers)
    assert first.status_code == 201

    await _age(db_engine, 23.5, "k-old")  # not yet expired: still the first request's key
    reused = await client.post("/v1/orders/ORD-2/fail-reasons", json=BODY, headers=headers)
    assert reused.status_code == 422
    assert reused.json()["type"] == "http://test/problems/idempotency-key-reused"

    await _age(db_engine, 24.5, "k-old")
    fresh = await client.post("/v1/orders/ORD-2/fail-reasons", json=BODY, headers=headers)
    assert fresh.status_code == 201, fresh.text
    assert "idempotent-replayed" not in fresh.headers
    assert fresh.json()["order_id"] == "ORD-2"
    # The key now stands for the fresh request, and replays it.
    again = await client.post("/v1/orders/ORD-2/fail-reasons", json=BODY, headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == fresh.content
    assert await _stored_keys(db_engine) == ["k-old"]


async def test_the_same_body_after_its_retention_runs_again_instead_of_replaying(
    client: AsyncClient, service: Headers, ops: Headers, db_engine: AsyncEngine
) -> None:
    await put_order(client, service, "ORD-1")
    headers = {**ops, "Idempotency-Key": "k-same"}
    first = await client.post("/v1/orders/ORD-1/fail-reasons", json=BODY, headers=headers)
    assert first.status_code == 201
    await _age(db_engine, 25, "k-same")
    second = await client.post("/v1/orders/ORD-1/fail-reasons", json=BODY, headers=headers)
    assert "idempotent-replayed" not in second.headers
    assert second.content != first.content


async def test_the_sweeper_deletes_expired_records_in_batches_and_keeps_the_rest(
    client: AsyncClient,
    service: Headers,
    ops: Headers,
    db_engine: AsyncEngine,
    sessionmaker: async_sessionmaker,  # type: ignore[type-arg]
) -> None:
    keys = [f"k-{n}" for n in range(7)]
    for n, key in enumerate(keys):
        await put_order(client, service, f"ORD-{n}")
        response = await client.post(
            f"/v1/orders/ORD-{n}/fail-reasons", json=BODY, headers={**ops, "Idempotency-Key": key}
        )
        assert response.status_code == 201
    expired, kept = keys[:5], keys[5:]
    await _age(db_engine, 30, *expired)

    sweeper = IdempotencySweeper(sessionmaker, RETENTION, batch_size=2)
    assert await sweeper.tick() == len(expired)
    assert await _stored_keys(db_engine) == kept
    assert await sweeper.tick() == 0
    # What is kept still replays.
    replay = await client.post(
        "/v1/orders/ORD-6/fail-reasons", json=BODY, headers={**ops, "Idempotency-Key": "k-6"}
    )
    assert replay.headers["idempotent-replayed"] == "true"
