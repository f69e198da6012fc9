"""Idempotency-Key on POST: same key and body replays, other body 422, in flight 409."""

import asyncio

from httpx import AsyncClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.keys.service import token_hash
from tests.conftest import Headers
from tests.factories import put_order

BODY = {"reason": "customer_changed_mind", "explanation": "changed mind at the door"}


async def case_count(client: AsyncClient, headers: Headers) -> int:
    order = (await client.get("/v1/orders/ORD-1", headers=headers)).json()
    return len(order["cases"])


async def test_same_key_same_body_replays_first_response(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await put_order(client, service)
    headers = {**ops, "Idempotency-Key": "k-1"}
    first = await client.post("/v1/orders/ORD-1/fail-reasons", json=BODY, headers=headers)
    second = await client.post("/v1/orders/ORD-1/fail-reasons", json=BODY, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert await case_count(client, service) == 1


async def test_same_key_other_body_is_422(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await put_order(client, service)
    headers = {**ops, "Idempotency-Key": "k-1"}
    await client.post("/v1/orders/ORD-1/fail-reasons", json=BODY, headers=headers)
    other = {**BODY, "explanation": "something else"}
    response = await client.post("/v1/orders/ORD-1/fail-reasons", json=other, headers=headers)
    assert response.status_code == 422
    assert response.json()["type"] == "http://test/problems/idempotency-key-reused"


async def test_keys_are_scoped_to_the_caller(
    client: AsyncClient, service: Headers, ops: Headers, make_key: object
) -> None:
    await put_order(client, service, "ORD-1")
    await put_order(client, service, "ORD-2")
    headers = {**ops, "Idempotency-Key": "shared"}
    await client.post("/v1/orders/ORD-1/fail-reasons", json=BODY, headers=headers)
    other_ops = {**service, "Idempotency-Key": "shared"}  # another caller, same key string
    response = await client.post("/v1/orders/ORD-2/fail-reasons", json=BODY, headers=other_ops)
    assert response.status_code == 403  # service may not file: it ran, it did not replay


async def test_key_in_flight_is_409(
    client: AsyncClient, service: Headers, ops: Headers, db_engine: AsyncEngine
) -> None:
    await put_order(client, service)
    # Keys are scoped to the API key's id.
    async with db_engine.connect() as reader:
        principal = (
            await reader.execute(
                text("SELECT id FROM api_keys WHERE key_hash = :h"),
                {"h": token_hash(ops["Authorization"].split(" ", 1)[1])},
            )
        ).scalar_one()
    async with db_engine.connect() as holder:
        # Another request with this key is mid-transaction: it holds the key's lock.
        await holder.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(text(":k"), 0))),
            {"k": f"{principal}:k-1"},
        )
        response = await client.post(
            "/v1/orders/ORD-1/fail-reasons",
            json=BODY,
            headers={**ops, "Idempotency-Key": "k-1"},
        )
        await holder.rollback()
    assert response.status_code == 409
    assert response.json()["type"] == "http://test/problems/idempotency-key-in-flight"
    assert await case_count(client, service) == 0


async def test_failed_request_stores_nothing_and_can_be_retried(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    headers = {**ops, "Idempotency-Key": "k-1"}
    missing = await client.post("/v1/orders/ORD-1/fail-reasons", json=BODY, headers=headers)
    assert missing.status_code == 404
    await put_order(client, service)
    retried = await client.post("/v1/orders/ORD-1/fail-reasons", json=BODY, headers=headers)
    assert retried.status_code == 201


async def test_concurrent_duplicates_make_one_case(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await put_order(client, service)
    headers = {**ops, "Idempotency-Key": "burst"}
    responses = await asyncio.gather(
        *(
            client.post("/v1/orders/ORD-1/fail-reasons", json=BODY, headers=headers)
            for _ in range(20)
        )
    )
    statuses = {r.status_code for r in responses}
    assert statuses <= {201, 409}
    created = [r for r in responses if r.status_code == 201]
    assert created and len({r.content for r in created}) == 1
    assert await case_count(client, service) == 1


async def test_overlong_key_is_refused(client: AsyncClient, service: Headers, ops: Headers) -> None:
    await put_order(client, service)
    response = await client.post(
        "/v1/orders/ORD-1/fail-reasons", json=BODY, headers={**ops, "Idempotency-Key": "k" * 300}
    )
    assert response.status_code == 422
    assert await case_count(client, service) == 0
