"""POST /v1/payment-records: each discrepancy type opens a payment_discrepancy case with the
table's resolution, and a payout below the invoice that no pickup note justifies opens a
payout dispute; records that add up, or are sent again, open nothing."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient

from tests.api.records import INVOICE, Record, case_of, pay
from tests.conftest import Headers
from tests.factories import events_of, payment_record, post_records, put_completed_order


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
