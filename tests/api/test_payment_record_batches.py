"""POST /v1/payment-records as a batch: records stored once by reference, records of unknown
orders kept for later, bad records refusing the whole batch by name, who may send them, and
the largest batch reconciled in a fixed number of statements."""

import time
from collections import Counter

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.records import INVOICE, Record, pay
from tests.conftest import Headers, KeyMaker
from tests.factories import payment_record, post_records, put_completed_order


async def test_records_of_unknown_orders_are_reported_and_reconciled_once_the_order_exists(
    client: AsyncClient, service: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    batch = [
        pay("P-1"),
        payment_record("ORD-404", "P-2", status="charged_back"),
    ]
    answer = await post_records(client, service, *batch)
    assert (answer["received"], answer["new"], answer["already_known"], answer["unmatched"]) == (
        2,
        1,
        0,
        1,
    )
    assert answer["unmatched_records"] == [{"reference": "P-2", "order_id": "ORD-404"}]
    assert answer["cases"] == []

    await put_completed_order(client, service, "ORD-404", final_invoice_amount=INVOICE)
    later = await post_records(client, service, *batch)
    assert (later["new"], later["already_known"], later["unmatched"]) == (1, 1, 0)
    assert [c["discrepancy_type"] for c in later["cases"]] == ["chargeback"]


@pytest.mark.parametrize(
    ("records", "field"),
    [
        ([pay("P-1"), pay("P-2"), pay("P-1")], "records[2].reference"),
        ([pay("P-1", status="pending")], "records[0].status"),
        ([pay("P-1", direction="sideways")], "records[0].direction"),
        ([pay("P-1", 0)], "records[0].amount"),
        ([pay("P-1", 10.5)], "records[0].amount"),
        ([pay("P-1", "100")], "records[0].amount"),
        ([pay("P-1", occurred_at="2026-11-21T10:00:00")], "records[0].occurred_at"),
        ([pay("P-1", occurred_at="0001-01-01T00:00:00+14:00")], "records[0].occurred_at"),
        ([pay("P 1")], "records[0].reference"),
        ([pay("P-1", surprise=True)], "records[0].surprise"),
        ([{"order_id": "ORD-1"}], "records[0].reference"),
        ([], "records"),
    ],
)
async def test_bad_records_refuse_the_whole_batch_naming_the_field(
    client: AsyncClient, service: Headers, records: list[Record], field: str
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    response = await client.post("/v1/payment-records", json={"records": records}, headers=service)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    # Nothing was stored: the same references are new afterwards.
    answer = await post_records(client, service, pay("P-1"), pay("P-2"))
    assert answer["new"] == 2


async def test_more_than_ten_thousand_records_are_refused(
    client: AsyncClient, service: Headers
) -> None:
    records = [pay(f"P-{n}") for n in range(10_001)]
    response = await client.post("/v1/payment-records", json={"records": records}, headers=service)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "records"


async def test_only_the_service_role_sends_payment_records(
    client: AsyncClient, service: Headers, make_key: KeyMaker
) -> None:
    for role in ("ops", "support"):
        headers = await make_key(role)
        response = await client.post(
            "/v1/payment-records", json={"records": [pay("P-1")]}, headers=headers
        )
        assert response.status_code == 403
    assert (await client.post("/v1/payment-records", json={"records": []})).status_code == 401


BATCH = 10_000


async def test_a_batch_of_ten_thousand_records_is_reconciled_once(
    client: AsyncClient, service: Headers, db_engine: AsyncEngine
) -> None:
    """Orders are loaded by SQL: 10,000 PUTs would only time the order endpoint."""
    async with db_engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO vendors (id, max_leads)"
                " SELECT 'V-' || n, 10 FROM generate_series(1, 50) n"
            )
        )
        await connection.execute(
            text(
                """
                INSERT INTO orders (id, vendor_id, customer, device, unlock_credits,
                                    final_invoice_amount, payment, pickup_notes,
                                    pickup_status)
                SELECT 'ORD-' || n, 'V-' || (n % 50 + 1),
                       '{"name": "Asha Rao", "phone": "+919812345678"}',
                       '{"model": "iPhone XR", "variant": "128GB"}',
                       40, :invoice, '{"marked": false}', '[]', 'completed'
                FROM generate_series(1, :count) n
                """
            ),
            {"invoice": INVOICE, "count": BATCH},
        )

    def record(n: int) -> Record:
        order = f"ORD-{n}" if n % 1000 != 999 else f"ORD-UNKNOWN-{n}"
        if n % 1000 == 0:
            return payment_record(order, f"P-{n}", INVOICE - 1000, direction="to_customer")
        if n % 100 == 50:
            return payment_record(order, f"P-{n}", INVOICE + 1000)
        if n % 100 == 25:
            return payment_record(order, f"P-{n}", status="failed")
        return payment_record(order, f"P-{n}")

    batch = {"records": [record(n) for n in range(1, BATCH + 1)]}
    started = time.perf_counter()
    response = await client.post("/v1/payment-records", json=batch, headers=service)
    took = time.perf_counter() - started
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["received"], answer["new"], answer["already_known"], answer["unmatched"]) == (
        BATCH,
        BATCH - 10,
        0,
        10,
    )
    kinds = Counter((c["case_type"], c["discrepancy_type"]) for c in answer["cases"])
    assert kinds == {
        ("payout_dispute", None): 10,
        ("payment_discrepancy", "overpayment"): 100,
        ("payment_discrepancy", "transaction_failure"): 100,
    }
    print(f"10,000 records, {len(answer['cases'])} cases opened: {took:.2f} s")

    started = time.perf_counter()
    again = await client.post("/v1/payment-records", json=batch, headers=service)
    print(f"the same 10,000 again: {time.perf_counter() - started:.2f} s")
    assert again.status_code == 200
    assert (again.json()["already_known"], again.json()["cases"]) == (BATCH - 10, [])


async def test_only_the_batch_endpoint_takes_bodies_of_several_megabytes(
    client: AsyncClient, service: Headers
) -> None:
    big = b'{"records": [' + b" " * 2_000_000 + b"]}"
    headers = {**service, "Content-Type": "application/json"}
    batch = await client.post("/v1/payment-records", content=big, headers=headers)
    assert batch.status_code == 422  # read and parsed: an empty list
    order = await client.put("/v1/orders/ORD-1", content=big, headers=headers)
    assert order.status_code == 413
    huge = b'{"records": [' + b" " * 9_000_000 + b"]}"
    too_big = await client.post("/v1/payment-records", content=huge, headers=headers)
    assert too_big.status_code == 413
