"""POST /v1/payment-records: records stored once by reference, compared with their orders;
each discrepancy type opens a payment_discrepancy case with the table's resolution, and a
payout below the invoice that no pickup note justifies opens a payout dispute."""

import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Headers, KeyMaker
from tests.factories import events_of, payment_record, post_records, put_completed_order

INVOICE = 1_500_000
Record = dict[str, Any]


async def case_of(client: AsyncClient, headers: Headers, case_id: str) -> dict[str, Any]:
    case: dict[str, Any] = (await client.get(f"/v1/cases/{case_id}", headers=headers)).json()
    return case


def pay(reference: str, amount: Any = INVOICE, **extra: Any) -> Record:
    return payment_record("ORD-1", reference, amount, **extra)


@pytest.mark.parametrize(
    ("records", "discrepancy", "amount", "resolution", "rules", "notices"),
    [
        (
            [pay("P-1", status="failed")],
            "transaction_failure",
            INVOICE,
            "payment_reprocessing",
            [
                "failed_transaction_is_reprocessed",
                "failed_payment_from_customer_asks_the_customer_to_retry",
            ],
            [("customer", "payment_retry_requested")],
        ),
        (
            [pay("P-1", status="failed", direction="to_customer")],
            "transaction_failure",
            INVOICE,
            "payment_reprocessing",
            [
                "failed_transaction_is_reprocessed",
                "failed_payout_to_customer_asks_the_vendor_to_retry",
            ],
            [("vendor", "payout_retry_requested")],
        ),
        (
            [pay("P-1", 1_000_000), pay("P-2", 200_000)],
            "partial_payment",
            300_000,
            "payment_reprocessing",
            ["partial_payment_balance_is_requested"],
            [("customer", "payment_balance_requested")],
        ),
        (
            [pay("P-1", INVOICE + 25_000)],
            "overpayment",
            25_000,
            "refund",
            ["overpayment_by_the_customer_is_refunded"],
            [],
        ),
        # Paid to the customer above the invoice: put right on the invoice, not refunded.
        (
            [pay("P-1", INVOICE + 25_000, direction="to_customer")],
            "overpayment",
            25_000,
            "invoice_adjustment",
            ["overpayment_to_the_customer_adjusts_the_invoice"],
            [],
        ),
        (
            [pay("P-1"), pay("P-2")],
            "double_charge",
            INVOICE,
            "refund",
            ["double_charge_of_the_customer_is_refunded"],
            [],
        ),
        (
            [pay("P-1", direction="to_customer"), pay("P-2", direction="to_customer")],
            "double_charge",
            INVOICE,
            "invoice_adjustment",
            ["double_payment_to_the_customer_adjusts_the_invoice"],
            [],
        ),
        (
            [pay("P-1", 40_000, status="refunded")],
            "refund_issue",
            40_000,
            "invoice_adjustment",
            ["refund_issue_adjusts_the_invoice"],
            [],
        ),
        (
            [pay("P-1", INVOICE, status="charged_back")],
            "chargeback",
            INVOICE,
            "refund",
            ["chargeback_by_the_customer_is_refunded"],
            [],
        ),
        # A payment to the customer reversed by the bank leaves the customer unpaid.
        (
            [pay("P-1", INVOICE, status="charged_back", direction="to_customer")],
            "chargeback",
            INVOICE,
            "payment_reprocessing",
            ["reversed_payment_to_the_customer_is_reprocessed"],
            [("vendor", "payout_retry_requested")],
        ),
    ],
)
async def test_each_discrepancy_opens_a_case_with_its_resolution_and_clocks(
    client: AsyncClient,
    service: Headers,
    records: list[Record],
    discrepancy: str,
    amount: int,
    resolution: str,
    rules: list[str],
    notices: list[tuple[str, str]],
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    answer = await post_records(client, service, *records)
    references = [r["reference"] for r in records]
    [opened] = answer["cases"]
    assert opened == {
        "id": opened["id"],
        "case_type": "payment_discrepancy",
        "discrepancy_type": discrepancy,
        "order_id": "ORD-1",
        "references": references,
        "url": f"/v1/cases/{opened['id']}",
    }
    assert (answer["received"], answer["new"], answer["already_known"], answer["unmatched"]) == (
        len(records),
        len(records),
        0,
        0,
    )

    case = await case_of(client, service, opened["id"])
    assert case["status"] == "pending_resolution" and case["vendor_id"] == "V-1"
    assert case["ticket"] == {
        "type": "payment_discrepancy",
        "category": discrepancy,
        "status": "pending_resolution",
        "priority": "normal",
        "assignee_team": "dispute_resolution",
        "assignee": None,
    }
    assert case["details"]["discrepancy_type"] == discrepancy
    assert case["details"]["amount"] == amount
    assert case["details"]["references"] == references
    decision = case["decision"]
    assert decision["outcome"] == resolution and decision["stage"] == "final"
    assert decision["rules_fired"] == rules
    assert decision["facts"]["discrepancy_type"] == discrepancy
    assert len(case["notes"]) == 1
    # The clocks every customer-facing case has: acknowledged at once, resolution due, and
    # the customer's first update.
    assert case["acknowledged_at"] == case["created_at"]
    opened_at = datetime.fromisoformat(case["created_at"])
    clocks = {c["kind"]: c for c in case["deadlines"]}
    assert set(clocks) == {"resolution", "customer_update"}
    assert all(c["outcome"] is None for c in clocks.values())
    due = {kind: datetime.fromisoformat(c["due_at"]) - opened_at for kind, c in clocks.items()}
    assert due == {"resolution": timedelta(hours=48), "customer_update": timedelta(hours=24)}

    events = await events_of(client, service, case_id=case["id"])
    told = [
        (e["data"]["audience"], e["data"]["template"])
        for e in events
        if e["type"] == "notification.requested"
    ]
    assert told == [("customer", "payment_discrepancy_acknowledged"), *notices]
    assert events[0]["type"] == "case.opened"
    assert events[0]["data"]["discrepancy_type"] == discrepancy


@pytest.mark.parametrize(
    "records",
    [
        [pay("P-1")],
        [pay("P-1", direction="to_customer")],
        # A failed attempt that a retry covered is nothing to reprocess.
        [pay("P-1", status="failed"), pay("P-2")],
        # An overpayment whose excess was refunded.
        [pay("P-1", INVOICE + 10_000), pay("P-2", 10_000, status="refunded")],
        # A double charge already refunded.
        [pay("P-1"), pay("P-2"), pay("P-3", status="refunded")],
        # An order cancelled and refunded in full.
        [pay("P-1"), pay("P-2", status="refunded")],
        # Paid in two parts.
        [pay("P-1", 1_000_000), pay("P-2", 500_000)],
    ],
)
async def test_records_that_add_up_open_nothing(
    client: AsyncClient, service: Headers, records: list[Record]
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    answer = await post_records(client, service, *records)
    assert answer["cases"] == [] and answer["new"] == len(records)
    order = (await client.get("/v1/orders/ORD-1", headers=service)).json()
    assert order["cases"] == []


async def test_a_double_charge_split_across_batches_is_found(
    client: AsyncClient, service: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    assert (await post_records(client, service, pay("P-1")))["cases"] == []
    [opened] = (await post_records(client, service, pay("P-2")))["cases"]
    assert opened["discrepancy_type"] == "double_charge" and opened["references"] == ["P-2"]


async def test_a_payout_below_the_invoice_opens_a_payout_dispute_before_the_customer_complains(
    client: AsyncClient, service: Headers
) -> None:
    await put_completed_order(
        client,
        service,
        "ORD-1",
        final_invoice_amount=INVOICE,
        pickup_notes=[{"reason": "screen_damage", "amount": 100_000}],
    )
    answer = await post_records(client, service, pay("P-1", 1_200_000, direction="to_customer"))
    [opened] = answer["cases"]
    assert opened["case_type"] == "payout_dispute" and opened["discrepancy_type"] is None
    case = await case_of(client, service, opened["id"])
    assert case["status"] == "awaiting_vendor"
    details = case["details"]
    assert details["claim"] == "paid_less" and details["channel"] == "reconciliation"
    assert details["amount_received"] == 1_200_000
    assert details["disputed_amount"] == 300_000
    assert details["customer"] == {"name": "Asha Rao", "phone": "+919812345678"}
    assert details["evidence"] == [{"kind": "other", "ref": "payment record P-1"}]
    assert case["acknowledged_at"] == case["created_at"]
    kinds = [d["kind"] for d in case["deadlines"]]
    assert kinds == ["vendor_response", "customer_update", "resolution"]
    told = [
        (e["data"]["audience"], e["data"]["template"])
        for e in await events_of(client, service, case_id=case["id"])
        if e["type"] == "notification.requested"
    ]
    assert told == [
        ("customer", "payout_dispute_acknowledged"),
        ("vendor", "payout_dispute_opened"),
    ]


@pytest.mark.parametrize(
    ("notes", "disputed"),
    [
        ([{"reason": "screen_damage", "amount": 300_000}], False),
        (
            [
                {"reason": "screen_damage", "amount": 200_000},
                {"reason": "missing_accessories", "amount": 100_000},
            ],
            False,
        ),
        ([{"reason": "screen_damage", "amount": 299_999}], True),
        # Not a valid deduction reason: explains nothing.
        ([{"reason": "customer_haggled", "amount": 300_000}], True),
    ],
)
async def test_pickup_notes_that_justify_the_whole_shortfall_open_no_dispute(
    client: AsyncClient, service: Headers, notes: list[dict[str, Any]], disputed: bool
) -> None:
    await put_completed_order(
        client, service, "ORD-1", final_invoice_amount=INVOICE, pickup_notes=notes
    )
    answer = await post_records(client, service, pay("P-1", 1_200_000, direction="to_customer"))
    assert [c["case_type"] for c in answer["cases"]] == (["payout_dispute"] if disputed else [])


async def test_an_order_with_an_open_case_of_the_kind_gets_no_second(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    first = await post_records(client, service, pay("P-1", status="failed"))
    again = await post_records(client, service, pay("P-2", status="failed"))
    assert len(first["cases"]) == 1 and again["cases"] == []
    # Another kind on the same order is another case.
    [chargeback] = (await post_records(client, service, pay("P-3", status="charged_back")))["cases"]
    assert chargeback["discrepancy_type"] == "chargeback"

    # A payout dispute the customer already opened is not opened twice.
    await put_completed_order(client, service, "ORD-2", final_invoice_amount=INVOICE)
    opened = await client.post(
        "/v1/payout-disputes",
        json={
            "order_id": "ORD-2",
            "claim": "not_paid",
            "channel": "app",
            "customer": {"name": "Asha Rao", "phone": "+919812345678"},
            "summary": "not paid",
        },
        headers=support,
    )
    assert opened.status_code == 201
    short = payment_record("ORD-2", "P-4", 1_000_000, direction="to_customer")
    assert (await post_records(client, service, short))["cases"] == []


async def test_resending_a_batch_opens_nothing_and_counts_it_known(
    client: AsyncClient, service: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    batch = [pay("P-1"), pay("P-2"), pay("P-3", status="charged_back")]
    first = await post_records(client, service, *batch)
    assert [c["discrepancy_type"] for c in first["cases"]] == ["chargeback", "double_charge"]
    again = await post_records(client, service, *batch)
    assert (again["received"], again["new"], again["already_known"], again["cases"]) == (
        3,
        0,
        3,
        [],
    )
    # A known reference with other content is still the known record: nothing changes.
    changed = await post_records(client, service, pay("P-1", 1, status="failed"))
    assert (changed["already_known"], changed["cases"]) == (1, [])
    order = (await client.get("/v1/orders/ORD-1", headers=service)).json()
    assert len(order["cases"]) == 2


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


async def test_ops_confirms_the_resolution_once_and_the_customer_is_told(
    client: AsyncClient, service: Headers, ops: Headers, support: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    [opened] = (await post_records(client, service, pay("P-1", INVOICE + 5_000)))["cases"]
    url = f"/v1/payment-discrepancies/{opened['id']}/resolve"
    note = {"note": "Refunded ₹50 by UPI, ref RF-1"}
    assert (await client.post(url, json=note, headers=support)).status_code == 403
    assert (await client.post(url, json={"note": ""}, headers=ops)).status_code == 422

    response = await client.post(url, json=note, headers=ops)
    assert response.status_code == 200, response.text
    case = response.json()
    assert case["status"] == "resolved" and case["resolved_at"]
    assert case["ticket"]["status"] == "resolved"
    assert case["decision"]["outcome"] == "refund"
    assert case["notes"][-1]["text"] == "Refunded ₹50 by UPI, ref RF-1"
    clocks = {d["kind"]: d for d in case["deadlines"]}
    assert clocks["resolution"]["outcome"] == "met"
    assert clocks["resolution"]["settled_at"] == case["resolved_at"]
    assert clocks["customer_update"]["outcome"] == "cancelled"  # the outcome is the last word
    events = await events_of(client, service, case_id=case["id"])
    assert events[-1]["type"] == "notification.requested"
    # What was done, in the table's words; ops's note stays on the ticket.
    assert events[-1]["data"] == {
        "audience": "customer",
        "template": "payment_discrepancy_resolved",
        "outcome": "refund",
        "text": "The payment problem on order ORD-1 is resolved: ₹50 has been refunded to you.",
    }
    assert events[-2]["type"] == "case.resolved"

    again = await client.post(url, json=note, headers=ops)
    assert again.status_code == 409


async def test_only_payment_discrepancies_are_resolved_here(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    [dispute] = (await post_records(client, service, pay("P-1", 1, direction="to_customer")))[
        "cases"
    ]
    for case_id in (dispute["id"], "case_NOSUCHCASE"):
        response = await client.post(
            f"/v1/payment-discrepancies/{case_id}/resolve", json={"note": "done"}, headers=ops
        )
        assert response.status_code == 404


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
