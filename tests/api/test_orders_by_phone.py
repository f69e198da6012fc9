"""GET /v1/orders?customer_phone=: a customer's orders however the number was written."""

import asyncio

import httpx
import pytest
from httpx import AsyncClient

from app.observability.logs import redact
from app.orders.phones import normalise
from tests.conftest import Headers, KeyMaker
from tests.db import new_key
from tests.factories import file_fail_reason, put_order
from tests.server import env_with, serving


def customer(phone: str) -> dict[str, str]:
    return {"name": "Asha Rao", "phone": phone}


@pytest.mark.parametrize(
    ("written", "spelled"),
    [
        ("+919812345678", "+919812345678"),
        ("919812345678", "+919812345678"),
        ("09812345678", "+919812345678"),
        ("9812345678", "+919812345678"),
        ("+14155550123", "+14155550123"),
        ("14155550123", "+14155550123"),  # no 0 in front: read as starting with its country
        ("+449812345678", "+449812345678"),
    ],
)
def test_one_spelling_per_number(written: str, spelled: str) -> None:
    assert normalise(written) == spelled


async def orders_of(client: AsyncClient, headers: Headers, phone: str, **params: str) -> list[str]:
    response = await client.get(
        "/v1/orders", params={"customer_phone": phone, **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    return [order["id"] for order in response.json()["items"]]


async def test_every_spelling_of_an_indian_number_finds_the_same_orders_newest_first(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    for order_id, phone in [
        ("ORD-1", "+919812345678"),
        ("ORD-2", "09812345678"),
        ("ORD-OTHER", "+919800000000"),
        ("ORD-3", "9812345678"),
        ("ORD-4", "919812345678"),
    ]:
        await put_order(client, service, order_id, customer=customer(phone))
    case = await file_fail_reason(client, ops, "ORD-1", "customer_changed_mind")
    newest_first = ["ORD-4", "ORD-3", "ORD-2", "ORD-1"]
    for typed in (
        "+919812345678",
        "919812345678",
        "09812345678",
        "9812345678",
        "98123 45678",
        "+91 98123-45678",
        "(0)98123 45678",
    ):
        assert await orders_of(client, support, typed) == newest_first, typed
    # A '+' a client did not URL-encode arrives as a space, and still finds them.
    raw = await client.get("/v1/orders?customer_phone=+919812345678", headers=support)
    assert [o["id"] for o in raw.json()["items"]] == newest_first
    found = (await client.get("/v1/orders?customer_phone=9812345678", headers=support)).json()
    oldest = found["items"][-1]
    assert oldest["customer"]["phone"] == "+919812345678"  # the snapshot keeps what was sent
    assert oldest["cases"] == [
        {
            "id": case["id"],
            "case_type": "fail_reason",
            "status": case["status"],
            "url": f"/v1/cases/{case['id']}",
        }
    ]
    assert await orders_of(client, support, "+919800000000") == ["ORD-OTHER"]
    assert await orders_of(client, support, "+919811111111") == []


async def test_a_new_number_in_the_snapshot_moves_the_order(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    await put_order(client, service, "ORD-1", customer=customer("9812345678"))
    await put_order(client, service, "ORD-1", customer=customer("9800000000"))
    assert await orders_of(client, support, "9812345678") == []
    assert await orders_of(client, support, "+919800000000") == ["ORD-1"]


async def test_pages_follow_each_other_without_gaps(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    for n in range(5):
        await put_order(client, service, f"ORD-{n}", customer=customer("9812345678"))
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"customer_phone": "9812345678", "limit": "2"}
        if cursor:
            params["cursor"] = cursor
        body = (await client.get("/v1/orders", params=params, headers=ops)).json()
        seen += [o["id"] for o in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == [f"ORD-{n}" for n in (4, 3, 2, 1, 0)]


@pytest.mark.parametrize("phone", ["", "12345", "98123456789012345", "call me", "+91-abc"])
async def test_a_number_that_is_not_one_is_a_422_naming_it(
    client: AsyncClient, support: Headers, phone: str
) -> None:
    response = await client.get("/v1/orders", params={"customer_phone": phone}, headers=support)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "customer_phone"


async def test_the_phone_is_required_and_the_cursor_must_be_ours(
    client: AsyncClient, support: Headers
) -> None:
    missing = await client.get("/v1/orders", headers=support)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "customer_phone"
    forged = await client.get(
        "/v1/orders", params={"customer_phone": "9812345678", "cursor": "bm9wZQ"}, headers=support
    )
    assert forged.status_code in (400, 422)


async def test_support_ops_and_managers_look_orders_up_vendors_and_services_do_not(
    client: AsyncClient, service: Headers, make_key: KeyMaker
) -> None:
    await put_order(client, service, "ORD-1", customer=customer("9812345678"))
    for role in ("support", "ops", "ops_manager", "finance_manager"):
        assert await orders_of(client, await make_key(role), "9812345678") == ["ORD-1"], role
    for headers in (service, await make_key("vendor", "V-1")):
        response = await client.get(
            "/v1/orders", params={"customer_phone": "9812345678"}, headers=headers
        )
        assert response.status_code == 403


async def _look_ups(base: str, service: Headers, support: Headers) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10) as c:
        await put_order(c, service, "ORD-P1", customer=customer("+919812345678"))
        for url in (
            "/v1/orders?customer_phone=%2B919812345678",
            "/v1/orders?customer_phone=+919812345678",
            "/v1/orders?customer_phone=09812345678&limit=5",
            "/v1/orders?customer_phone=98123%2045678",
            "/v1/orders?customer_phone=98123-45678&cursor=bogus!",
            "/v1/orders?customer_phone=9812345678x",
        ):
            response = await c.get(url, headers=support)
            assert response.status_code in (200, 422), (url, response.text)


def test_phone_numbers_in_the_query_string_never_reach_the_logs(database_url: str) -> None:
    """At DEBUG, SQL parameters included; a request is logged by its route, not its URL."""
    service, support = new_key(database_url, "service"), new_key(database_url, "support")
    env = env_with(DATABASE_URL=database_url, LOG_LEVEL="DEBUG")
    with serving(env) as server:
        asyncio.run(_look_ups(server.base, service, support))
        server.stop()
        output = server.output()
    assert output.count("GET /v1/orders ") >= 6, "the look-ups were not logged"
    for digits in ("9812345678", "98123 45678", "98123-45678", "98123%2045678"):
        assert digits not in output


@pytest.mark.parametrize(
    "url",
    [
        "/v1/orders?customer_phone=%2B919812345678&limit=5",
        "/v1/orders?customer_phone=+919812345678",
        "/v1/orders?limit=5&customer_phone=98123%2045678",
        "/v1/orders?CUSTOMER_PHONE=98123-45678",
        "calling %2B919812345678 back",
    ],
)
def test_a_url_with_the_lookups_phone_is_masked_if_ever_logged(url: str) -> None:
    masked = redact(url)
    assert not any(d in masked for d in ("9812345678", "98123", "45678")), masked
    assert "limit=5" in masked or "limit" not in url
