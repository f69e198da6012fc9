import pytest
from httpx import AsyncClient

from tests.conftest import Headers, KeyMaker
from tests.factories import order_body, put_order


async def test_no_key_is_401_problem(client: AsyncClient) -> None:
    response = await client.get("/v1/orders/ORD-1")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["type"] == "/problems/unauthorized" and body["status"] == 401


async def test_unknown_key_is_401(client: AsyncClient) -> None:
    response = await client.get("/v1/orders/ORD-1", headers={"Authorization": "Bearer dsk_nope"})
    assert response.status_code == 401


@pytest.mark.parametrize("role", ["vendor", "support"])
async def test_role_not_allowed_is_403(client: AsyncClient, make_key: KeyMaker, role: str) -> None:
    headers = await make_key(role, "V-1" if role == "vendor" else None)
    response = await client.put("/v1/orders/ORD-1", json=order_body(), headers=headers)
    assert response.status_code == 403
    assert "may not" in response.json()["detail"]


async def test_vendor_key_sees_only_its_own_orders(
    client: AsyncClient, service: Headers, make_key: KeyMaker
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    own = await make_key("vendor", "V-1")
    other = await make_key("vendor", "V-2")
    assert (await client.get("/v1/orders/ORD-1", headers=own)).status_code == 200
    response = await client.get("/v1/orders/ORD-1", headers=other)
    assert response.status_code == 403
    assert (await client.get("/v1/vendors/V-1", headers=other)).status_code == 403
    assert (await client.get("/v1/vendors/V-1/ledger", headers=other)).status_code == 403


async def test_keys_are_stored_hashed(
    client: AsyncClient, make_key: KeyMaker, db_engine: object
) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncEngine

    assert isinstance(db_engine, AsyncEngine)
    headers = await make_key("ops")
    token = headers["Authorization"].removeprefix("Bearer ")
    async with db_engine.connect() as connection:
        stored = (await connection.execute(text("SELECT key_hash FROM api_keys"))).scalars().all()
    assert stored and token not in stored and all(len(h) == 64 for h in stored)
