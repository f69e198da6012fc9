"""Regressions of sequences that left a case saying one thing and its customer told
another, or a case that could not end: each test is one sequence found through HTTP, and
what the service does about it now (docs/cases.md, docs/payout-disputes.md)."""

from typing import Any

import pytest
from httpx import AsyncClient

from app.payout_disputes.service import MAX_LATE_ANSWERS
from tests.conftest import Headers
from tests.factories import open_dispute, put_completed_order, vendor_response

INVOICE = 100_000


async def escalated(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    notes: list[dict[str, Any]] | None = None,
    order: str = "ORD-1",
) -> Any:
    """A dispute on ``order`` the vendor denied: it waits for the ops manager."""
    await put_completed_order(
        client,
        service,
        order,
        vendor_id=f"V-{order}",
        final_invoice_amount=INVOICE,
        pickup_notes=notes or [],
    )
    case = await open_dispute(client, support, order)
    await vendor_response(client, ops, case["id"], "denies")
    return case


@pytest.mark.parametrize(
    ("finding", "received"), [("vendor_paid_full", 0), ("vendor_paid_full", INVOICE - 1)]
)
async def test_a_manager_cannot_find_paid_in_full_what_the_customer_did_not_receive(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    ops_manager: Headers,
    finding: str,
    received: int,
) -> None:
    case = await escalated(client, service, support, ops)
    refused = await client.post(
        f"/v1/payout-disputes/{case['id']}/manager-decision",
        json={"finding": finding, "amount_received": received, "lift_block": True},
        headers=ops_manager,
    )
    # The customer would be told the vendor paid the whole invoice.
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "amount_received"
    still = (await client.get(f"/v1/cases/{case['id']}", headers=service)).json()
    assert still["status"] == "escalated"


async def test_a_manager_cannot_find_a_deduction_where_nothing_was_deducted(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, ops_manager: Headers
) -> None:
    case = await escalated(client, service, support, ops)
    refused = await client.post(
        f"/v1/payout-disputes/{case['id']}/manager-decision",
        json={"finding": "valid_deduction", "amount_received": INVOICE, "lift_block": True},
        headers=ops_manager,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "amount_received"


async def test_a_managers_deduction_needs_a_pickup_note_and_names_it_to_the_customer(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, ops_manager: Headers
) -> None:
    finding = {"finding": "valid_deduction", "amount_received": 70_000, "lift_block": True}
    case = await escalated(client, service, support, ops)
    path = f"/v1/payout-disputes/{case['id']}/manager-decision"
    refused = await client.post(path, json=finding, headers=ops_manager)
    # Nothing recorded at pickup explains a deduction: the customer would be told "… : ."
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "finding"

    noted = [{"reason": "screen_damage", "amount": 30_000, "note": "cracked"}]
    other = await escalated(client, service, support, ops, noted, order="ORD-2")
    decided = await client.post(
        f"/v1/payout-disputes/{other['id']}/manager-decision", json=finding, headers=ops_manager
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["decision"]["outcome"] == "resolved_valid_deduction"
    feed = (await client.get("/v1/events?limit=200", headers=service)).json()["items"]
    [told] = [
        e["data"]["text"]
        for e in feed
        if e["case_id"] == other["id"] and e["data"].get("template") == "payout_dispute_resolved"
    ]
    assert "screen_damage (₹300)" in told, told


async def test_a_managers_deduction_the_notes_explain_only_in_part_is_refused(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, ops_manager: Headers
) -> None:
    noted = [{"reason": "screen_damage", "amount": 30_000, "note": "cracked"}]
    case = await escalated(client, service, support, ops, noted)
    refused = await client.post(
        f"/v1/payout-disputes/{case['id']}/manager-decision",
        json={"finding": "valid_deduction", "amount_received": 10_000, "lift_block": True},
        headers=ops_manager,
    )
    # The customer would be told ₹900 deducted is explained by screen_damage (₹300).
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "finding"
    still = (await client.get(f"/v1/cases/{case['id']}", headers=service)).json()
    assert still["status"] == "escalated"


async def test_an_override_that_says_the_platform_paid_pays_something(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    await put_completed_order(
        client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=INVOICE
    )
    case = await open_dispute(client, support, "ORD-1")
    refused = await client.post(
        f"/v1/cases/{case['id']}/override",
        json={"outcome": "resolved_paid_by_platform", "reason": "checked", "actions": []},
        headers=ops,
    )
    # The customer would be told "Cashkr has paid you ₹0".
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "actions"
    paid = await client.post(
        f"/v1/cases/{case['id']}/override",
        json={
            "outcome": "resolved_paid_by_platform",
            "reason": "checked",
            "actions": [{"type": "platform_payout", "amount": INVOICE}],
        },
        headers=ops,
    )
    assert paid.status_code == 200 and paid.json()["status"] == "resolved"


async def test_an_escalated_dispute_keeps_a_bounded_number_of_late_answers(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    case = await escalated(client, service, support, ops)
    path = f"/v1/payout-disputes/{case['id']}/vendor-response"
    for _ in range(MAX_LATE_ANSWERS):
        kept = await client.post(path, json={"response": "not_paid"}, headers=ops)
        assert kept.status_code == 202, kept.text
    refused = await client.post(path, json={"response": "not_paid"}, headers=ops)
    assert refused.status_code == 409 and "note" in refused.json()["detail"]
    shown = (await client.get(f"/v1/cases/{case['id']}", headers=ops)).json()
    late = [r for r in shown["details"]["vendor_responses"] if r.get("after_escalation")]
    assert len(late) == MAX_LATE_ANSWERS
