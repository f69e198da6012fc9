import asyncio

import pytest
from httpx import AsyncClient
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.api.deps import require
from app.api.roles import READS, RIGHTS, Right, Role, roles_with
from app.keys import service as keys
from app.keys.service import token_hash
from app.models import ApiKey
from app.settings import Settings
from tests.conftest import Headers, KeyMaker, http_client, running_app
from tests.factories import order_body, put_order


async def test_no_key_is_401_problem(client: AsyncClient) -> None:
    response = await client.get("/v1/orders/ORD-1")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["type"] == "http://test/problems/unauthorized" and body["status"] == 401


async def test_unknown_key_is_401(client: AsyncClient) -> None:
    response = await client.get("/v1/orders/ORD-1", headers={"Authorization": "Bearer dsk_nope"})
    assert response.status_code == 401


@pytest.mark.parametrize("role", ["vendor", "support", "finance_manager"])
async def test_role_not_allowed_is_403(client: AsyncClient, make_key: KeyMaker, role: str) -> None:
    headers = await make_key(role, "V-1" if role == "vendor" else None)
    response = await client.put("/v1/orders/ORD-1", json=order_body(), headers=headers)
    assert response.status_code == 403
    assert response.json()["detail"] == (
        f"Role '{role}' may not send order snapshots; allowed: ops, ops_manager, service."
    )


def test_the_managers_rights_follow_the_table() -> None:
    # The ops manager may do all that ops may, and more; the finance manager reads all that
    # any role but a vendor reads, and writes nothing but payout approvals.
    assert RIGHTS[Role.OPS] < RIGHTS[Role.OPS_MANAGER]
    assert RIGHTS[Role.OPS_MANAGER] - RIGHTS[Role.OPS] == {
        Right.DECIDE_ESCALATED,
        Right.CHANGE_STANDING,
    }
    reads = set().union(*(RIGHTS[r] & READS for r in Role if r != Role.VENDOR))
    assert reads <= RIGHTS[Role.FINANCE_MANAGER]
    assert RIGHTS[Role.FINANCE_MANAGER] - READS == {Right.APPROVE_PAYOUTS}
    assert roles_with(Right.APPROVE_PAYOUTS) == (Role.FINANCE_MANAGER,)
    assert roles_with(Right.CHANGE_STANDING) == (Role.OPS_MANAGER,)


async def test_a_managers_key_works_as_its_role_allows(
    client: AsyncClient, service: Headers, ops_manager: Headers, finance_manager: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    for headers in (ops_manager, finance_manager):
        assert (await client.get("/v1/orders/ORD-1", headers=headers)).status_code == 200
        assert (await client.get("/v1/events", headers=headers)).status_code == 200
    changed = await client.put("/v1/orders/ORD-1", json=order_body(), headers=ops_manager)
    assert changed.status_code == 200
    refused = await client.put("/v1/orders/ORD-1", json=order_body(), headers=finance_manager)
    assert refused.status_code == 403


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


async def _revoke(sessionmaker: async_sessionmaker, headers: Headers) -> None:  # type: ignore[type-arg]
    token = headers["Authorization"].removeprefix("Bearer ")
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(ApiKey).where(ApiKey.key_hash == token_hash(token)).values(revoked_at=func.now())
        )


@pytest.mark.parametrize("seconds", [0.0, 0.5])
async def test_a_key_revoked_in_the_database_is_refused_once_its_cache_time_is_over(
    settings: Settings, database_url: str, seconds: float
) -> None:
    own = settings.model_copy(update={"api_key_cache_seconds": seconds})
    async with running_app(own, database_url) as application, http_client(application) as client:
        sessionmaker = application.state.sessionmaker
        async with sessionmaker() as session, session.begin():
            token = await keys.create(session, "service", None)
        headers = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/v1/vendors/V-1", headers=headers)).status_code == 404
        await _revoke(sessionmaker, headers)
        if seconds:
            # Still trusted from the first lookup, then looked up again and refused.
            assert (await client.get("/v1/vendors/V-1", headers=headers)).status_code == 404
            await asyncio.sleep(seconds + 0.1)
        response = await client.get("/v1/vendors/V-1", headers=headers)
        assert response.status_code == 401
        assert "revoked" in response.json()["detail"]


def test_a_route_asking_for_a_role_name_instead_of_a_right_fails_when_it_is_made() -> None:
    with pytest.raises(TypeError, match="Right"):
        require("ops")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        require()


@pytest.mark.parametrize(
    "path",
    ["/v1/cases", "/v1/decisions", "/v1/payouts", "/v1/wallet-refunds", "/v1/orders"],
)
async def test_a_stranger_hears_401_before_anything_about_its_query(
    client: AsyncClient, path: str
) -> None:
    response = await client.get(f"{path}?cursor=0&limit=20")
    assert response.status_code == 401, response.text
