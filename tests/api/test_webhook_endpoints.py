"""POST/GET/DELETE /v1/webhook-endpoints: what ops sees and may do. Delivery itself is
tests/reliability/test_webhook_delivery.py."""

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook

from tests.conftest import Headers, KeyMaker
from tests.db import row_counts

URL = "https://hooks.example.com/disputes"


async def create(client: AsyncClient, ops: Headers, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/webhook-endpoints", json={"url": URL, **body}, headers=ops)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def problem_fields(response: Any) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {e["field"] for e in response.json()["errors"]}


async def test_a_new_endpoint_shows_its_secret_once(client: AsyncClient, ops: Headers) -> None:
    created = await create(
        client, ops, event_types=["case.escalated", "case.breached"], description="ops pager"
    )
    assert created["id"].startswith("whep_")
    assert created["url"] == URL
    assert created["event_types"] == ["case.escalated", "case.breached"]
    assert created["description"] == "ops pager"
    assert created["disabled_at"] is None
    assert created["created_by"].startswith("ops:")
    secret = created["secret"]
    assert secret.startswith("whsec_")
    Webhook(secret)  # a secret the Standard Webhooks libraries take

    read = await client.get(f"/v1/webhook-endpoints/{created['id']}", headers=ops)
    assert read.status_code == 200
    assert "secret" not in read.json() and secret not in read.text
    assert read.json() == {k: v for k, v in created.items() if k != "secret"}
    listed = await client.get("/v1/webhook-endpoints", headers=ops)
    assert [e["id"] for e in listed.json()["items"]] == [created["id"]]
    assert secret not in listed.text

    other = await create(client, ops)
    assert other["secret"] != secret


async def test_no_types_or_a_star_mean_every_type(client: AsyncClient, ops: Headers) -> None:
    assert (await create(client, ops))["event_types"] == ["*"]
    assert (await create(client, ops, event_types=[]))["event_types"] == ["*"]
    assert (await create(client, ops, event_types=["*"]))["event_types"] == ["*"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://hooks.example.com/x"}, "url"),
        ({"url": "hooks.example.com/x"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": ""}, "url"),
        ({"url": "https://example.com/" + "a" * 2000}, "url"),
        ({"url": 42}, "url"),
        ({}, "url"),
        ({"url": URL, "event_types": ["*", "case.opened"]}, "event_types"),
        ({"url": URL, "event_types": ["case.opened", "case.opened"]}, "event_types"),
        ({"url": URL, "event_types": ["Case Opened"]}, "event_types[0]"),
        ({"url": URL, "event_types": "case.opened"}, "event_types"),
        ({"url": URL, "description": "x" * 501}, "description"),
        ({"url": URL, "secret": "whsec_mine"}, "secret"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field_and_writes_nothing(
    client: AsyncClient, ops: Headers, db_engine: AsyncEngine, body: dict[str, Any], field: str
) -> None:
    before = await row_counts(db_engine)
    response = await client.post("/v1/webhook-endpoints", json=body, headers=ops)
    assert field in problem_fields(response)
    assert await row_counts(db_engine) == before


async def test_the_list_pages_newest_first_and_leaves_deleted_ones_out(
    client: AsyncClient, ops: Headers
) -> None:
    made = [(await create(client, ops, description=f"n{n}"))["id"] for n in range(3)]
    first = (await client.get("/v1/webhook-endpoints?limit=2", headers=ops)).json()
    assert [e["id"] for e in first["items"]] == [made[2], made[1]]
    rest = await client.get(f"/v1/webhook-endpoints?cursor={first['next_cursor']}", headers=ops)
    assert [e["id"] for e in rest.json()["items"]] == [made[0]]
    assert rest.json()["next_cursor"] is None

    deleted = await client.delete(f"/v1/webhook-endpoints/{made[1]}", headers=ops)
    assert deleted.status_code == 200
    assert deleted.json()["disabled_at"] is not None
    listed = (await client.get("/v1/webhook-endpoints", headers=ops)).json()
    assert [e["id"] for e in listed["items"]] == [made[2], made[0]]
    # Still there by id, with its attempts, for whoever looks into what it was sent.
    read = await client.get(f"/v1/webhook-endpoints/{made[1]}", headers=ops)
    assert read.json()["disabled_at"] == deleted.json()["disabled_at"]
    deliveries = await client.get(f"/v1/webhook-endpoints/{made[1]}/deliveries", headers=ops)
    assert deliveries.status_code == 200
    assert deliveries.json() == {"items": [], "next_cursor": None}


async def test_deleting_twice_changes_nothing(client: AsyncClient, ops: Headers) -> None:
    endpoint = await create(client, ops)
    first = await client.delete(f"/v1/webhook-endpoints/{endpoint['id']}", headers=ops)
    second = await client.delete(f"/v1/webhook-endpoints/{endpoint['id']}", headers=ops)
    assert second.status_code == 200
    assert second.json() == first.json()


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("suffix", ["", "/deliveries"])
async def test_unknown_and_malformed_ids(
    client: AsyncClient, ops: Headers, method: str, suffix: str
) -> None:
    if method == "DELETE" and suffix:
        return
    unknown = await client.request(method, f"/v1/webhook-endpoints/whep_X{suffix}", headers=ops)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    malformed = await client.request(method, f"/v1/webhook-endpoints/a%20b{suffix}", headers=ops)
    assert "endpoint_id" in problem_fields(malformed)


async def test_bad_cursors_are_refused(client: AsyncClient, ops: Headers) -> None:
    endpoint = await create(client, ops)
    for path in ("/v1/webhook-endpoints", f"/v1/webhook-endpoints/{endpoint['id']}/deliveries"):
        response = await client.get(f"{path}?cursor=bm90LW91cnM", headers=ops)
        assert "cursor" in problem_fields(response)


async def test_only_ops_manages_endpoints(
    client: AsyncClient, ops: Headers, make_key: KeyMaker
) -> None:
    endpoint = await create(client, ops)
    calls = [
        ("POST", "/v1/webhook-endpoints", {"url": URL}),
        ("GET", "/v1/webhook-endpoints", None),
        ("GET", f"/v1/webhook-endpoints/{endpoint['id']}", None),
        ("GET", f"/v1/webhook-endpoints/{endpoint['id']}/deliveries", None),
        ("DELETE", f"/v1/webhook-endpoints/{endpoint['id']}", None),
    ]
    others = [
        await make_key("support"),
        await make_key("service"),
        await make_key("vendor", "V-1"),
    ]
    for method, path, body in calls:
        assert (await client.request(method, path, json=body)).status_code == 401
        for headers in others:
            response = await client.request(method, path, json=body, headers=headers)
            assert response.status_code == 403, (method, path, response.text)
    read = await client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=ops)
    assert read.json()["disabled_at"] is None
    listed = (await client.get("/v1/webhook-endpoints", headers=ops)).json()["items"]
    assert len(listed) == 1


async def test_an_idempotent_retry_makes_one_endpoint(client: AsyncClient, ops: Headers) -> None:
    headers = {**ops, "Idempotency-Key": "hook-1"}
    first = await client.post("/v1/webhook-endpoints", json={"url": URL}, headers=headers)
    again = await client.post("/v1/webhook-endpoints", json={"url": URL}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = (await client.get("/v1/webhook-endpoints", headers=ops)).json()["items"]
    assert [e["id"] for e in listed] == [first.json()["id"]]
