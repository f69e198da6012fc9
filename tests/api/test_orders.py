import asyncio

from fastapi import FastAPI
from httpx import AsyncClient

from tests.conftest import Headers, KeyMaker, http_client
from tests.factories import order_body, put_order


async def test_put_creates_then_replaces(client: AsyncClient, service: Headers) -> None:
    first = await client.put("/v1/orders/ORD-1", json=order_body(), headers=service)
    assert first.status_code == 201
    body = first.json()
    assert body["id"] == "ORD-1" and body["status"] == "open"
    assert body["final_invoice_amount"] == 1_500_000
    assert body["links"]["cases"] == "/v1/cases?order_id=ORD-1"

    second = await client.put(
        "/v1/orders/ORD-1", json=order_body(final_invoice_amount=1_400_000), headers=service
    )
    assert second.status_code == 200
    assert second.json()["final_invoice_amount"] == 1_400_000


async def test_put_creates_unknown_vendor_with_default_standing(
    client: AsyncClient, service: Headers
) -> None:
    await put_order(client, service, vendor_id="V-NEW")
    vendor = (await client.get("/v1/vendors/V-NEW", headers=service)).json()
    assert vendor["status"] == "active"
    assert vendor["max_leads"] == 10 and vendor["active_strikes"] == 0
    assert vendor["new_leads_blocked"] is False


async def test_pickup_notes_keep_their_first_recorded_time(
    client: AsyncClient, service: Headers
) -> None:
    note = {"reason": "screen_damage", "amount": 200_000, "note": "cracked"}
    first = await put_order(client, service, pickup_notes=[note])
    recorded = first["pickup_notes"][0]["recorded_at"]
    extra = {"reason": "missing_accessories", "amount": 10_000}
    second = await put_order(client, service, pickup_notes=[note, extra])
    assert second["pickup_notes"][0]["recorded_at"] == recorded
    assert second["pickup_notes"][1]["recorded_at"] >= recorded


async def test_money_must_be_integer_paise(client: AsyncClient, service: Headers) -> None:
    response = await client.put(
        "/v1/orders/ORD-1", json=order_body(final_invoice_amount=15000.5), headers=service
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["final_invoice_amount"]


async def test_bad_fields_are_each_named(client: AsyncClient, service: Headers) -> None:
    body = order_body(customer={"name": "", "phone": "12"}, unknown_field=1)
    body["pickup_notes"] = [{"reason": "screen_damage", "amount": -5}]
    response = await client.put("/v1/orders/ORD-1", json=body, headers=service)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"customer.name", "customer.phone", "pickup_notes[0].amount", "unknown_field"}
    # Nothing was written.
    assert (await client.get("/v1/orders/ORD-1", headers=service)).status_code == 404


async def test_nul_characters_are_named_not_a_500(client: AsyncClient, service: Headers) -> None:
    body = order_body(customer={"name": "Asha\u0000", "phone": "+919812345678"})
    body["pickup_notes"] = [{"reason": "screen_damage", "amount": 5, "note": "\u0000"}]
    response = await client.put("/v1/orders/ORD-1", json=body, headers=service)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"customer.name", "pickup_notes[0].note"}


async def test_malformed_json_is_422_problem(client: AsyncClient, service: Headers) -> None:
    response = await client.put(
        "/v1/orders/ORD-1",
        content=b"{not json",
        headers={**service, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_get_unknown_order_is_404(client: AsyncClient, service: Headers) -> None:
    response = await client.get("/v1/orders/NOPE", headers=service)
    assert response.status_code == 404
    assert "NOPE" in response.json()["detail"]


async def test_order_lists_its_cases(
    client: AsyncClient, service: Headers, make_key: KeyMaker
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    vendor = await make_key("vendor", "V-1")
    filed = await client.post(
        "/v1/orders/ORD-1/fail-reasons",
        json={"reason": "customer_not_available", "explanation": "not home"},
        headers=vendor,
    )
    order = (await client.get("/v1/orders/ORD-1", headers=service)).json()
    assert order["status"] == "to_be_failed"
    assert order["cases"] == [
        {
            "id": filed.json()["id"],
            "case_type": "fail_reason",
            "status": "pending_review",
            "url": f"/v1/cases/{filed.json()['id']}",
        }
    ]


async def test_vendor_cannot_change_once_cases_exist(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    await client.post(
        "/v1/orders/ORD-1/fail-reasons",
        json={"reason": "customer_not_available", "explanation": "not home"},
        headers=ops,
    )
    response = await client.put("/v1/orders/ORD-1", json=order_body("V-2"), headers=service)
    assert response.status_code == 409


async def test_oversized_body_is_413(client: AsyncClient, service: Headers) -> None:
    response = await client.put(
        "/v1/orders/ORD-1",
        content=b"x" * 2_000_000,
        headers={**service, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_text_the_database_cannot_store_is_refused_by_name(
    client: AsyncClient, service: Headers
) -> None:
    body = order_body(device={"model": "iPhone\u0000XR", "variant": "128GB"})
    response = await client.put("/v1/orders/ORD-1", json=body, headers=service)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["device.model"]
    lone = b'{"vendor_id": "V-1", "customer": {"name": "\\ud800", "phone": "+919812345678"}}'
    response = await client.put(
        "/v1/orders/ORD-1", content=lone, headers={**service, "content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "customer.name" in [e["field"] for e in response.json()["errors"]]


async def test_deeply_nested_json_is_refused_before_parsing(
    client: AsyncClient, service: Headers
) -> None:
    body = b'{"vendor_id": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = await client.put(
        "/v1/orders/ORD-1", content=body, headers={**service, "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["type"] == "http://test/problems/too-deeply-nested"
    # Brackets inside strings are text, not nesting.
    note = {"reason": "screen_damage", "amount": 1, "note": "[" * 100 + '\\"{' * 50}
    ok = await client.put("/v1/orders/ORD-1", json=order_body(pickup_notes=[note]), headers=service)
    assert ok.status_code == 201


async def test_first_snapshots_of_a_new_order_for_two_vendors_at_once_are_both_applied(
    app: FastAPI, client: AsyncClient, service: Headers
) -> None:
    # Each PUT locks only the vendor it names (the order does not exist yet to say which
    # else), so both insert the order: the one that loses is run again and updates it.
    async with http_client(app) as one, http_client(app) as two:
        for attempt in range(6):
            order_id = f"ORD-RACE-{attempt}"
            answers = await asyncio.gather(
                one.put(f"/v1/orders/{order_id}", json=order_body("V-1"), headers=service),
                two.put(f"/v1/orders/{order_id}", json=order_body("V-2"), headers=service),
            )
            assert sorted(a.status_code for a in answers) == [200, 201], [a.text for a in answers]
            last = next(a for a in answers if a.status_code == 200).json()
            shown = (await client.get(f"/v1/orders/{order_id}", headers=service)).json()
            assert shown["vendor_id"] == last["vendor_id"]
