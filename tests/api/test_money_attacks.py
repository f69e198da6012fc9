"""Regressions of the ways an attacker made money leave, or a case stick, through HTTP: each
test is one sequence found, and what the service does about it now (docs/money.md)."""

import asyncio
import base64
from typing import Any

import pytest
from httpx import AsyncClient

from tests.conftest import Headers, KeyMaker
from tests.factories import (
    dispute_body,
    file_fail_reason,
    open_dispute,
    order_body,
    override,
    payment_record,
    payout,
    post_records,
    put_completed_order,
    put_order,
    vendor_response,
    verdict,
)

INVOICE = 1_000_000  # ₹10,000: above the high-value threshold


async def disputed(
    client: AsyncClient, service: Headers, support: Headers, invoice: int = INVOICE, **order: Any
) -> dict[str, Any]:
    await put_completed_order(
        client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=invoice, **order
    )
    return await open_dispute(client, support, "ORD-1")


async def test_a_payout_cannot_be_split_to_stay_under_the_threshold(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    case = await disputed(client, service, support)
    split = await override(
        client, ops, case["id"], "resolved_paid_by_platform", payout(499_999), payout(499_999)
    )
    assert split.status_code == 422 and split.json()["errors"][0]["field"] == "actions[1].type"
    whole = await override(client, ops, case["id"], "resolved_paid_by_platform", payout(999_998))
    assert whole.status_code == 403  # ₹9,999.98 in all: the ops manager's to decide


async def test_ops_cannot_replace_a_waiting_payout_to_dodge_finance(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    case = await disputed(client, service, support)
    waiting = await vendor_response(client, ops, case["id"], "not_paid")
    assert waiting["status"] == "awaiting_approval"
    replaced = await override(client, ops, case["id"], "resolved_paid_by_platform", payout(999_998))
    assert replaced.status_code == 403


async def test_ops_cannot_overrule_the_ops_managers_decision(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    manager = await make_key("ops_manager")
    case = await disputed(client, service, support, invoice=150_000)
    await vendor_response(client, ops, case["id"], "denies")
    decided = await client.post(
        f"/v1/payout-disputes/{case['id']}/manager-decision",
        json={"finding": "vendor_paid_full", "amount_received": 150_000, "lift_block": False},
        headers=manager,
    )
    assert decided.json()["status"] == "resolved"
    overruled = await override(client, ops, case["id"], "resolved_paid")
    assert overruled.status_code == 403 and "ops manager" in overruled.json()["detail"]
    vendor = (await client.get("/v1/vendors/V-1", headers=service)).json()
    assert vendor["new_leads_blocked"] is True  # the manager's block stands


@pytest.mark.parametrize("with_verdict", [True, False])
async def test_no_wallet_refund_for_a_vendor_that_did_not_pay(
    client: AsyncClient, service: Headers, ops: Headers, with_verdict: bool
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=800_000)
    case = await file_fail_reason(client, ops, "ORD-1", "customer_changed_mind")
    if with_verdict:
        await verdict(client, ops, case["id"], "customer", vendor_paid_customer=False)
    refused = await override(
        client,
        ops,
        case["id"],
        "failed_customer_fault",
        {"type": "wallet_refund_eligible", "amount": 800_000},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "actions[0].amount"


async def test_a_dispute_opened_as_the_order_changes_vendor_names_the_new_vendor(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    for round_ in range(6):
        order_id = f"ORD-{round_}"
        await put_completed_order(client, service, order_id, vendor_id="V-A")
        moved, opened = await asyncio.gather(
            client.put(
                f"/v1/orders/{order_id}",
                json=order_body("V-B", pickup_status="completed"),
                headers=service,
            ),
            client.post("/v1/payout-disputes", json=dispute_body(order_id), headers=support),
        )
        order = (await client.get(f"/v1/orders/{order_id}", headers=service)).json()
        if opened.status_code == 201:
            assert opened.json()["vendor_id"] == order["vendor_id"], round_
        if moved.status_code == 409:  # the dispute came first: the vendor could not change
            assert order["vendor_id"] == "V-A"


async def test_four_eyes_hold_for_ops_answering_for_the_vendor(
    client: AsyncClient, service: Headers, support: Headers, make_key: KeyMaker
) -> None:
    ravi_ops = await make_key("ops", name="Ravi Kumar")
    ravi_finance = await make_key("finance_manager", name="  ravi   KUMAR ")
    case = await disputed(client, service, support)
    await vendor_response(client, ravi_ops, case["id"], "not_paid")
    payouts = (await client.get("/v1/payouts?status=pending_approval", headers=ravi_finance)).json()
    [waiting] = payouts["items"]
    assert waiting["decided_by_name"] == "Ravi Kumar"
    own = await client.post(f"/v1/payouts/{waiting['id']}/approve", json={}, headers=ravi_finance)
    assert own.status_code == 403


async def test_what_the_payment_records_show_received_is_not_paid_again(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    manager = await make_key("ops_manager")
    case = await disputed(client, service, support, invoice=150_000)
    await post_records(
        client, service, payment_record("ORD-1", "PAY-1", 150_000, direction="to_customer")
    )
    await vendor_response(client, ops, case["id"], "denies")
    refused = await client.post(
        f"/v1/payout-disputes/{case['id']}/manager-decision",
        json={"finding": "vendor_at_fault", "amount_received": 0, "lift_block": True},
        headers=manager,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "amount_received"
    assert "payment records" in refused.json()["detail"]


async def test_an_override_pays_nothing_on_top_of_a_payment_the_vendor_proved(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    case = await disputed(client, service, support, invoice=150_000)
    proof = {"kind": "payment_proof", "ref": "UPI-9"}
    await vendor_response(client, ops, case["id"], "paid_full", proof=proof)
    refused = await override(client, ops, case["id"], "resolved_paid_by_platform", payout(1))
    assert refused.status_code == 422


async def test_a_payout_goes_only_with_an_outcome_under_which_the_platform_pays(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    case = await disputed(client, service, support, invoice=150_000)
    refused = await override(client, ops, case["id"], "resolved_paid", payout(100))
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "actions[0].type"


async def test_a_case_reopened_for_approval_is_no_longer_resolved(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    manager = await make_key("ops_manager")
    finance = await make_key("finance_manager")
    notes = [{"reason": "screen_damage", "amount": 900_000}]
    await put_completed_order(
        client,
        service,
        "ORD-1",
        vendor_id="V-1",
        final_invoice_amount=INVOICE,
        pickup_notes=notes,
    )
    case = await open_dispute(client, support, "ORD-1", "paid_less", amount_received=100_000)
    resolved = await vendor_response(
        client,
        ops,
        case["id"],
        "paid_partial",
        amount_paid=100_000,
        deduction_reason="screen_damage",
    )
    assert resolved["ticket"]["status"] == "resolved_valid_deduction" and resolved["resolved_at"]
    # A manager finds the deduction unjustified: the platform pays ₹9,000, which waits for
    # finance.
    reopened = await override(
        client, manager, case["id"], "resolved_paid_by_platform", payout(900_000)
    )
    assert reopened.status_code == 200, reopened.text
    body = reopened.json()
    assert (body["status"], body["resolved_at"]) == ("awaiting_approval", None)
    payout_id = (await client.get("/v1/payouts", headers=finance)).json()["items"][0]["id"]
    await client.post(f"/v1/payouts/{payout_id}/reject", json={"reason": "no"}, headers=finance)
    back = (await client.get(f"/v1/cases/{case['id']}", headers=service)).json()
    assert (back["status"], back["resolved_at"]) == ("escalated", None)


async def test_a_pickup_note_sent_again_later_is_not_backdated(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    note = {"reason": "screen_damage", "amount": 200_000}
    await put_completed_order(
        client,
        service,
        "ORD-1",
        vendor_id="V-1",
        final_invoice_amount=1_000_000,
        pickup_notes=[note],
    )
    case = await open_dispute(client, support, "ORD-1", "paid_less", amount_received=600_000)
    # The same note twice after the dispute: only the first copy is as old as the pickup.
    await put_completed_order(
        client,
        service,
        "ORD-1",
        vendor_id="V-1",
        final_invoice_amount=1_000_000,
        pickup_notes=[note, note],
    )
    decided = await vendor_response(client, ops, case["id"], "paid_partial", amount_paid=600_000)
    assert decided["decision"]["facts"]["justified_amount"] == 200_000
    assert decided["decision"]["outcome"] == "resolved_paid_by_platform"


async def test_support_cannot_open_a_dispute_as_reconciliation(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1")
    response = await client.post(
        "/v1/payout-disputes", json=dispute_body("ORD-1", channel="reconciliation"), headers=support
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "channel"


@pytest.mark.parametrize("raw", ["after:²", "after:١٢", "after:12a"])
async def test_a_ledger_cursor_of_other_digits_is_refused(
    client: AsyncClient, service: Headers, raw: str
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    response = await client.get(f"/v1/vendors/V-1/ledger?cursor={cursor}", headers=service)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    "outcome", ["resolved_paid", "resolved_valid_deduction", "resolved_paid_by_platform"]
)
async def test_a_manager_overrides_a_dispute_whose_payout_finance_rejected(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    ops_manager: Headers,
    finance_manager: Headers,
    outcome: str,
) -> None:
    case = await disputed(client, service, support)
    await vendor_response(client, ops, case["id"], "not_paid")
    [waiting] = (await client.get("/v1/payouts", headers=finance_manager)).json()["items"]
    await client.post(
        f"/v1/payouts/{waiting['id']}/reject", json={"reason": "no"}, headers=finance_manager
    )
    paid = [payout(100)] if outcome == "resolved_paid_by_platform" else []
    decided = await override(client, ops_manager, case["id"], outcome, *paid)
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "resolved"
    events = (await client.get("/v1/events", headers=service)).json()["items"]
    [told] = [
        e["data"]
        for e in events
        if e["type"] == "notification.requested"
        and e["data"].get("template") == "payout_dispute_resolved"
    ]
    assert told["outcome"] == outcome and case["order_id"] in told["text"]


@pytest.mark.parametrize("shown_by", ["payment_records", "order_system"])
async def test_finance_cannot_release_a_payout_the_order_shows_was_paid_meanwhile(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    finance_manager: Headers,
    shown_by: str,
) -> None:
    case = await disputed(client, service, support)
    await vendor_response(client, ops, case["id"], "not_paid")
    [waiting] = (await client.get("/v1/payouts", headers=finance_manager)).json()["items"]
    # While the payout waits, the vendor's payment of the whole invoice comes to light.
    if shown_by == "payment_records":
        await post_records(
            client, service, payment_record("ORD-1", "PAY-1", INVOICE, direction="to_customer")
        )
    else:
        paid = {"marked": True, "amount": INVOICE, "method": "upi", "reference": "UPI-7"}
        await put_completed_order(
            client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=INVOICE, payment=paid
        )
    approved = await client.post(
        f"/v1/payouts/{waiting['id']}/approve", json={}, headers=finance_manager
    )
    assert approved.status_code == 409, approved.text
    still = (await client.get(f"/v1/payouts/{waiting['id']}", headers=finance_manager)).json()
    assert still["status"] == "pending_approval"
    # Finance can still reject it, which sends the dispute back to the ops manager.
    rejected = await client.post(
        f"/v1/payouts/{waiting['id']}/reject", json={"reason": "paid"}, headers=finance_manager
    )
    assert rejected.status_code == 200, rejected.text
