"""Money leaves once: each way money used to leave twice, unbounded or unapproved, tried
through HTTP as an attacker would, and refused (docs/money.md). Who may release money is
test_money_approvers.py; strict input where money is concerned, test_money_input.py."""

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Headers, KeyMaker
from tests.db import row_counts
from tests.factories import (
    dispute_body,
    file_fail_reason,
    ledger,
    open_dispute,
    order_body,
    override,
    paid_out,
    put_completed_order,
    put_order,
    vendor_response,
    verdict,
)

INVOICE = 300_000  # ₹3,000

# --- an override ends the case -------------------------------------------------------------


async def test_an_override_of_a_waiting_dispute_ends_it_and_the_vendor_cannot_reopen_it(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, vendor: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    case = await open_dispute(client, support, "ORD-1")
    decided = await override(
        client,
        ops,
        case["id"],
        "resolved_paid_by_platform",
        {"type": "platform_payout", "amount": INVOICE},
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["status"] == "resolved" and body["resolved_at"]
    # Its clocks are settled: the vendor's is no longer waited for, the resolution met, and
    # the customer's updates stop (the outcome is the last word).
    assert {d["kind"]: d["outcome"] for d in body["deadlines"]} == {
        "vendor_response": "cancelled",
        "customer_update": "cancelled",
        "resolution": "met",
    }
    late = await client.post(
        f"/v1/payout-disputes/{case['id']}/vendor-response",
        json={"response": "not_paid"},
        headers=vendor,
    )
    assert late.status_code == 409
    assert paid_out(await ledger(client, service)) == INVOICE


@pytest.mark.parametrize(
    ("case_kind", "outcome"),
    [
        ("dispute", "awaiting_vendor"),
        ("dispute", "escalated_pending_manager"),
        ("fail", "pending_verdict"),
    ],
)
async def test_an_override_must_choose_an_outcome_that_ends_the_case(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    db_engine: AsyncEngine,
    case_kind: str,
    outcome: str,
) -> None:
    if case_kind == "dispute":
        await put_completed_order(client, service, "ORD-1")
        case = await open_dispute(client, support, "ORD-1")
    else:
        await put_order(client, service, "ORD-1")
        case = await file_fail_reason(client, ops, "ORD-1", "device_mismatch")
    before = await row_counts(db_engine)
    refused = await override(client, ops, case["id"], outcome)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "outcome"
    assert await row_counts(db_engine) == before


# --- an order is made whole once -------------------------------------------------------------


async def test_a_second_and_third_dispute_on_an_order_made_whole_are_refused(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    first = await open_dispute(client, support, "ORD-1")
    await vendor_response(client, vendor, first["id"], "not_paid")
    for claim in ({"claim": "not_paid"}, {"claim": "paid_less", "amount_received": 1}):
        again = await client.post(
            "/v1/payout-disputes", json=dispute_body("ORD-1", **claim), headers=support
        )
        assert again.status_code == 409
        assert first["id"] in again.json()["detail"] and "made whole" in again.json()["detail"]
    assert paid_out(await ledger(client, service)) == INVOICE


@pytest.mark.parametrize("pickup_status", ["scheduled", "cancelled"])
async def test_no_dispute_on_a_pickup_never_completed(
    client: AsyncClient, service: Headers, support: Headers, pickup_status: str
) -> None:
    await put_order(client, service, "ORD-1", pickup_status=pickup_status)
    refused = await client.post("/v1/payout-disputes", json=dispute_body("ORD-1"), headers=support)
    assert refused.status_code == 409 and pickup_status in refused.json()["detail"]


@pytest.mark.parametrize("verdict_given", [False, True])
async def test_no_dispute_on_an_order_failed_or_to_be_failed_here(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, verdict_given: bool
) -> None:
    await put_order(client, service, "ORD-1")
    fail = await file_fail_reason(client, ops, "ORD-1", "customer_not_available")
    if verdict_given:
        await verdict(client, ops, fail["id"], "customer")
    # The order system then says the pickup completed after all: the order is still failed.
    await put_order(client, service, "ORD-1", pickup_status="completed")
    refused = await client.post("/v1/payout-disputes", json=dispute_body("ORD-1"), headers=support)
    assert refused.status_code == 409 and fail["id"] in refused.json()["detail"]


async def test_no_fail_reason_on_a_completed_pickup(
    client: AsyncClient, service: Headers, vendor: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", vendor_id="V-1")
    refused = await client.post(
        "/v1/orders/ORD-1/fail-reasons",
        json={"reason": "customer_not_available", "explanation": "x"},
        headers=vendor,
    )
    assert refused.status_code == 409 and "completed" in refused.json()["detail"]


async def test_the_invoice_a_dispute_was_decided_on_cannot_change(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    await open_dispute(client, support, "ORD-1")
    put = await client.put(
        "/v1/orders/ORD-1",
        json=order_body(final_invoice_amount=10**12, pickup_status="completed"),
        headers=service,
    )
    assert put.status_code == 409
    assert put.json()["errors"][0]["field"] == "final_invoice_amount"


# --- amounts are bounded -----------------------------------------------------------------------


async def test_a_wallet_refund_is_never_more_than_was_paid(
    client: AsyncClient, service: Headers, ops: Headers, vendor: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=INVOICE)
    refused = await client.post(
        "/v1/orders/ORD-1/fail-reasons",
        json={
            "reason": "customer_changed_mind",
            "explanation": "x",
            "vendor_paid_customer": True,
            "amount_paid_to_customer": 10**12,
        },
        headers=vendor,
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "amount_paid_to_customer"
    case = await file_fail_reason(
        client,
        vendor,
        "ORD-1",
        "customer_changed_mind",
        vendor_paid_customer=True,
        amount_paid_to_customer=INVOICE,
    )
    # Ops confirms less was paid than the vendor says: only that becomes eligible.
    decided = await verdict(
        client,
        ops,
        case["id"],
        "customer",
        vendor_paid_customer=True,
        amount_paid_to_customer=120_000,
    )
    assert {"type": "wallet_refund_eligible", "amount": 120_000} in decided["decision"]["actions"]
    too_much = await client.post(
        f"/v1/cases/{case['id']}/override",
        json={
            "outcome": "failed_customer_fault",
            "reason": "x",
            "actions": [{"type": "wallet_refund_eligible", "amount": 10**12}],
        },
        headers=ops,
    )
    assert too_much.status_code == 422
    assert too_much.json()["errors"][0]["field"] == "actions[0].amount"


async def test_the_vendors_word_alone_makes_no_wallet_refund(
    client: AsyncClient, service: Headers, ops: Headers, vendor: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    case = await file_fail_reason(
        client,
        vendor,
        "ORD-1",
        "customer_changed_mind",
        vendor_paid_customer=True,
        amount_paid_to_customer=100_000,
    )
    unconfirmed = await client.post(
        f"/v1/fail-reviews/{case['id']}/verdict",
        json={"fault": "customer", "checks": ["call_logs"]},
        headers=ops,
    )
    assert unconfirmed.status_code == 422
    assert unconfirmed.json()["errors"][0]["field"] == "vendor_paid_customer"
    denied = await verdict(client, ops, case["id"], "customer", vendor_paid_customer=False)
    assert "wallet_refund_eligible" not in [a["type"] for a in denied["decision"]["actions"]]


@pytest.mark.parametrize("amount", [INVOICE + 1, 10**12])
async def test_an_override_pays_no_more_than_the_order_is_owed(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    db_engine: AsyncEngine,
    amount: int,
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    case = await open_dispute(client, support, "ORD-1", "paid_less", amount_received=100_000)
    before = await row_counts(db_engine)
    # The customer said it received ₹1,000: at most ₹2,000 is owed.
    for too_much in (amount, INVOICE - 100_000 + 1):
        refused = await override(
            client,
            ops,
            case["id"],
            "resolved_paid_by_platform",
            {"type": "platform_payout", "amount": too_much},
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "actions[0].amount"
    assert await row_counts(db_engine) == before
    fits = await override(
        client,
        ops,
        case["id"],
        "resolved_paid_by_platform",
        {"type": "platform_payout", "amount": INVOICE - 100_000},
    )
    assert fits.status_code == 200


async def test_an_override_payout_of_finance_size_waits_for_approval_and_needs_a_manager(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    make_key: KeyMaker,
) -> None:
    manager = await make_key("ops_manager")
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=900_000)
    case = await open_dispute(client, support, "ORD-1")
    payout = {"type": "platform_payout", "amount": 900_000, "requires_approval": False}
    by_ops = await override(client, ops, case["id"], "resolved_paid_by_platform", payout)
    assert by_ops.status_code == 403 and "ops manager" in by_ops.json()["detail"]
    by_manager = await override(client, manager, case["id"], "resolved_paid_by_platform", payout)
    assert by_manager.status_code == 200
    decided = by_manager.json()
    # Asked released, recorded waiting: no payout of finance's size leaves unapproved.
    assert decided["decision"]["actions"][0]["requires_approval"] is True
    assert decided["status"] == "awaiting_approval"
    events = (await client.get("/v1/events", headers=service)).json()["items"]
    assert not [e for e in events if e["type"] == "payout.released"]
