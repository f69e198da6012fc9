"""Money leaves once, strict input where money is concerned: booleans, times, cursors,
simulated facts and idempotency keys that are not what they claim are refused by name."""

import base64
import json
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text

from tests.conftest import Headers
from tests.factories import (
    dispute_body,
    file_fail_reason,
    ledger,
    order_body,
    override,
    payment_record,
    put_completed_order,
    put_order,
    verdict,
)


@pytest.mark.parametrize("value", ["yes", "true", 1, "1", None])
async def test_a_boolean_is_a_boolean(
    client: AsyncClient, service: Headers, vendor: Headers, value: Any
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    refused = await client.post(
        "/v1/orders/ORD-1/fail-reasons",
        json={"reason": "customer_changed_mind", "explanation": "x", "vendor_paid_customer": value},
        headers=vendor,
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "vendor_paid_customer"


@pytest.mark.parametrize(
    "query",
    [
        "since=0001-01-01T00:00:00Z",
        "since=9999-12-31T23:59:59-23:59",
        "until=2101-01-01T00:00:00Z",
        "since=1999-12-31T23:59:59Z",
    ],
)
async def test_a_time_out_of_range_in_a_filter_is_refused_by_name(
    client: AsyncClient, ops: Headers, query: str
) -> None:
    response = await client.get(f"/v1/decisions?{query}", headers=ops)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] in ("since", "until")


@pytest.mark.parametrize(
    "raw",
    [
        "after:0001-01-01T00:00:00+00:00|case_X",
        "after:9999-12-31T23:59:59-23:59|case_X",
        "after:2026-01-01T00:00:00+00:00|x' OR 1=1",
        "after:2026-01-01T00:00:00|case_X",
        "after:nonsense",
        "after:99999999999999999999",
    ],
)
async def test_a_forged_cursor_is_refused_never_a_500(
    client: AsyncClient, ops: Headers, service: Headers, raw: str
) -> None:
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    await put_order(client, service, "ORD-1")
    for path in ("/v1/cases", "/v1/decisions", "/v1/vendors/V-1/ledger"):
        response = await client.get(f"{path}?cursor={cursor}", headers=ops)
        assert response.status_code in (400, 422), (path, response.text)
        assert response.json()["errors"][0]["field"] == "cursor"


async def test_a_simulation_with_impossible_facts_is_a_422(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1")
    # Two rows at once (opened and answered), and a shortfall below zero.
    for facts in (
        {"event": "vendor_response", "response": "not_paid", "shortfall": -5},
        {"invoice_amount": 2**70},
    ):
        response = await client.post(
            "/v1/decisions/simulate",
            json={**dispute_body("ORD-1"), "case_type": "payout_dispute", "facts": facts},
            headers=ops,
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"].startswith("facts")


async def test_an_idempotency_key_belongs_to_the_api_key_whatever_the_header_spelling(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1")
    token = support["Authorization"].split(" ", 1)[1]
    answers = []
    for spelling in (f"Bearer {token}", f"bearer {token}", f"BEARER   {token}"):
        answers.append(
            await client.post(
                "/v1/payout-disputes",
                json=dispute_body("ORD-1"),
                headers={"Authorization": spelling, "Idempotency-Key": "dispute-1"},
            )
        )
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert [a.headers.get("idempotent-replayed") for a in answers] == [None, "true", "true"]


async def test_a_stored_answer_is_replayed_only_to_a_key_still_valid(
    client: AsyncClient, service: Headers, support: Headers, sessionmaker: Any
) -> None:
    await put_completed_order(client, service, "ORD-1")
    headers = {**support, "Idempotency-Key": "dispute-1"}
    first = await client.post("/v1/payout-disputes", json=dispute_body("ORD-1"), headers=headers)
    assert first.status_code == 201
    async with sessionmaker() as session, session.begin():
        await session.execute(text("UPDATE api_keys SET revoked_at = now()"))
    client_app = client._transport.app  # type: ignore[attr-defined]
    client_app.state.known_keys._known.clear()
    again = await client.post("/v1/payout-disputes", json=dispute_body("ORD-1"), headers=headers)
    assert again.status_code == 401
    assert "idempotent-replayed" not in again.headers
    nobody = await client.post(
        "/v1/payout-disputes", json=dispute_body("ORD-1"), headers={"Idempotency-Key": "dispute-1"}
    )
    assert nobody.status_code == 401


@pytest.mark.parametrize(("value", "taken"), [(40.0, 40), (4e1, 40), (40.5, None), ("40", None)])
async def test_a_number_reads_the_same_in_an_override_as_in_any_body(
    client: AsyncClient, service: Headers, ops: Headers, value: Any, taken: int | None
) -> None:
    """JSON has one kind of number: 40.0 is 40 wherever an integer is asked for, an
    override's amounts as much as a dispute's or an order's; a fraction or a string never."""
    await put_order(client, service, "ORD-1", vendor_id="V-1", unlock_credits=40)
    case = await file_fail_reason(client, ops, "ORD-1", "customer_changed_mind")
    ruled = await verdict(client, ops, case["id"], "customer")
    fine = {"type": "credit_fine", "amount": value}
    answer = await override(client, ops, ruled["id"], "failed_vendor_fault", fine)
    if taken is None:
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["field"] == "actions[0].amount"
        return
    assert answer.status_code == 200, answer.text
    fines = [e for e in await ledger(client, service) if e["kind"] == "credit_fine"]
    assert [e["amount"] for e in fines] == [taken]
    # The same number in an order's body is read the same way.
    stored = await put_order(client, service, "ORD-2", final_invoice_amount=value * 10_000)
    assert stored["final_invoice_amount"] == taken * 10_000


@pytest.mark.parametrize(
    "key", [b" ", b"   ", b"\t", b"a\x7fb", b"x" * 256, b"\xff\xfe", "ключ".encode("cp1251")]
)
async def test_a_blank_or_unprintable_idempotency_key_is_refused_by_name(
    client: AsyncClient, service: Headers, support: Headers, key: bytes
) -> None:
    await put_completed_order(client, service, "ORD-1")
    refused = await client.post(
        "/v1/payout-disputes",
        json=dispute_body("ORD-1"),
        headers=[
            *((name.encode(), value.encode()) for name, value in support.items()),
            (b"Idempotency-Key", key),
        ],
    )
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert (error["field"], error["in"]) == ("Idempotency-Key", "header")
    order = (await client.get("/v1/orders/ORD-1", headers=service)).json()
    assert order["cases"] == []


async def test_an_idempotency_key_is_the_same_whatever_surrounds_it_or_spells_its_numbers(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    """Whitespace around a header's value is no part of it (a proxy may drop it), and 40.0
    is the 40 an integer field reads: a retry sent so is the same request, replayed."""
    await put_order(client, service, "ORD-1", vendor_id="V-1", unlock_credits=40)
    case = await file_fail_reason(client, ops, "ORD-1", "customer_changed_mind")
    ruled = await verdict(client, ops, case["id"], "customer")
    url = f"/v1/cases/{ruled['id']}/override"
    answers = []
    for key, amount in (("fine-1", 40), ("fine-1 ", 40.0), ("  fine-1\t", 4e1)):
        fine: dict[str, Any] = {"type": "credit_fine", "amount": amount}
        body = {"outcome": "failed_vendor_fault", "reason": "x", "actions": [fine]}
        answers.append(await client.post(url, json=body, headers={**ops, "Idempotency-Key": key}))
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers.get("idempotent-replayed") for a in answers] == [None, "true", "true"]
    fines = [e for e in await ledger(client, service) if e["kind"] == "credit_fine"]
    assert len(fines) == 1


async def test_an_idempotency_key_in_utf8_is_read_as_its_characters(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1")
    key = "ключ-" + "é" * 200  # 205 characters, 406 bytes
    answers = [
        await client.post(
            "/v1/payout-disputes",
            json=dispute_body("ORD-1"),
            headers=[
                *((name.encode(), value.encode()) for name, value in support.items()),
                (b"Idempotency-Key", key.encode()),
            ],
        )
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201], answers[0].text
    assert answers[1].headers["idempotent-replayed"] == "true"


async def test_a_request_without_an_api_key_is_401_whatever_its_idempotency_key(
    client: AsyncClient,
) -> None:
    answer = await client.post("/v1/payout-disputes", json={}, headers={"Idempotency-Key": " "})
    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("written", "taken"),
    [
        ("40", 40),
        ("40.0", 40),
        ("4.0e1", 40),
        # Fractions a float would have rounded away.
        ("40.000000000000001", None),
        ("39.9999999999999999", None),
        ("0." + "0" * 400 + "1", None),
        # An exponent too large to be any integer a field takes, refused without expanding it.
        ("1e100000000", None),
        ("1e9999999999999999999", None),
        ("1e-9999999999999999999", None),
        ("0e19", 0),
    ],
)
async def test_a_number_is_read_exactly_as_written(
    client: AsyncClient, service: Headers, written: str, taken: int | None
) -> None:
    body = json.dumps(order_body("V-1")).replace(
        '"unlock_credits": 40', f'"unlock_credits": {written}'
    )
    assert written in body
    answer = await client.put(
        "/v1/orders/ORD-1", content=body, headers={**service, "Content-Type": "application/json"}
    )
    if taken is None:
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["field"] in ("unlock_credits", "body")
    else:
        assert answer.status_code == 201, answer.text
        assert answer.json()["unlock_credits"] == taken


async def test_a_retry_with_a_fraction_is_another_request_not_a_replay(
    client: AsyncClient, service: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1")
    sent = []
    for amount in ("100", "100.000000000000001"):
        record = json.dumps(payment_record("ORD-1", "P-1", 1, direction="to_customer"))
        body = '{"records": [' + record.replace('"amount": 1', f'"amount": {amount}') + "]}"
        headers = {**service, "Idempotency-Key": "records-1", "Content-Type": "application/json"}
        sent.append(await client.post("/v1/payment-records", content=body, headers=headers))
    assert sent[0].status_code == 200, sent[0].text
    assert sent[1].status_code == 422 and "idempotency-key-reused" in sent[1].json()["type"]
