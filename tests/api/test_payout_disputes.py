"""POST /v1/payout-disputes: the claim is checked against the order, the vendor's clock starts,
high values go to finance at once, and repeat vendors are flagged once per dispute."""

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Headers, KeyMaker
from tests.factories import (
    dispute_body,
    events_of,
    open_dispute,
    put_completed_order,
    standing,
    vendor_response,
)

PROOF = {"kind": "payment_proof", "ref": "UPI-1"}


async def test_opening_starts_the_vendor_clock_and_tells_the_vendor(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=150_000)
    case = await open_dispute(client, support, "ORD-1", "not_paid")

    assert case["case_type"] == "payout_dispute" and case["status"] == "awaiting_vendor"
    # One ticket shape for every case type; 001 tags these tickets "Customer Not Paid".
    assert case["ticket"] == {
        "type": "payout_dispute",
        "category": "customer_not_paid",
        "status": "awaiting_vendor",
        "priority": "normal",
        "assignee_team": "ops",
        "assignee": None,
    }
    assert case["details"]["disputed_amount"] == 150_000
    assert case["details"]["evidence"] == [{"kind": "bill_screenshot", "ref": "file-77"}]
    deadline, update, resolution = case["deadlines"]
    assert deadline["kind"] == "vendor_response" and deadline["outcome"] is None
    opened_at = datetime.fromisoformat(case["created_at"])
    due = datetime.fromisoformat(deadline["due_at"])
    assert due - opened_at == timedelta(hours=6)
    assert datetime.fromisoformat(case["vendor_response_due_at"]) == due
    assert resolution["kind"] == "resolution" and resolution["outcome"] is None
    resolution_due = datetime.fromisoformat(resolution["due_at"])
    assert resolution_due - opened_at == timedelta(hours=48)
    assert datetime.fromisoformat(case["resolution_due_at"]) == resolution_due
    # The customer hears from us every customer_update_hours while it is open.
    assert update["kind"] == "customer_update" and update["outcome"] is None
    assert datetime.fromisoformat(update["due_at"]) - opened_at == timedelta(hours=24)
    assert case["acknowledged_at"] == case["created_at"]
    decision = case["decision"]
    assert decision["stage"] == "interim" and decision["outcome"] == "awaiting_vendor"
    assert decision["rules_fired"] == ["dispute_opened_awaits_vendor"]
    assert case["escalations"] == []

    events = await events_of(client, service, case_id=case["id"])
    assert [e["type"] for e in events] == [
        "case.opened",
        "notification.requested",
        "decision.made",
        "notification.requested",
    ]
    assert events[0]["data"]["disputed_amount"] == 150_000
    acknowledgement = events[1]["data"]
    assert acknowledgement["audience"] == "customer"
    assert acknowledgement["template"] == "payout_dispute_acknowledged"
    assert datetime.fromisoformat(acknowledgement["resolution_due_at"]) == resolution_due
    # In the table's words, with the time in India's.
    shown = resolution_due.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert acknowledgement["text"] == (
        "We have received your payout dispute for order ORD-1. The vendor has been asked to "
        f"answer, and we aim to resolve it by {shown.day} {shown:%b %Y, %H:%M} IST."
    )
    assert events[3]["vendor_id"] == "V-1"
    assert events[3]["data"]["audience"] == "vendor"
    assert events[3]["data"]["template"] == "payout_dispute_opened"
    # The table owns the words: what the vendor is told is part of the decision record.
    assert events[3]["data"]["text"].startswith("A customer disputes the payout")
    assert (await client.get(f"/v1/cases/{case['id']}", headers=support)).json() == case


async def test_paid_less_disputes_the_shortfall(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=150_000)
    case = await open_dispute(client, ops, "ORD-1", "paid_less", amount_received=120_000)
    assert case["details"]["disputed_amount"] == 30_000
    assert case["decision"]["facts"]["disputed_amount"] == 30_000


@pytest.mark.parametrize(
    ("claim", "invoice", "received", "escalated"),
    [
        ("not_paid", 499_999, None, False),
        ("not_paid", 500_000, None, True),
        ("paid_less", 1_000_000, 500_001, False),  # disputes 499,999
        ("paid_less", 1_000_000, 500_000, True),  # disputes exactly 500,000
    ],
)
async def test_high_value_dispute_goes_to_finance_at_once(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    claim: str,
    invoice: int,
    received: int | None,
    escalated: bool,
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=invoice)
    extra = {} if received is None else {"amount_received": received}
    case = await open_dispute(client, support, "ORD-1", claim, **extra)
    assert case["escalations"] == ([{"to": "finance_manager"}] if escalated else [])
    assert case["ticket"]["priority"] == ("high" if escalated else "normal")
    assert case["status"] == "awaiting_vendor"
    escalations = await events_of(client, service, type="case.escalated")
    assert [e["data"]["to"] for e in escalations] == (["finance_manager"] if escalated else [])


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"order_id": "ORD-404"}, "order_id"),
        ({"claim": "paid_less"}, "amount_received"),
        ({"claim": "paid_less", "amount_received": 150_000}, "amount_received"),
        ({"claim": "paid_less", "amount_received": 150_001}, "amount_received"),
        ({"claim": "not_paid", "amount_received": 10}, "amount_received"),
        ({"claim": "paid_twice"}, "claim"),
        ({"channel": "email"}, "channel"),
        ({"evidence": [{"kind": "selfie", "ref": "x"}]}, "evidence[0].kind"),
        ({"customer": {"name": "A"}}, "customer.phone"),
        ({"summary": ""}, "summary"),
        ({"amount_received": -1, "claim": "paid_less"}, "amount_received"),
        ({"amount_received": 1.5, "claim": "paid_less"}, "amount_received"),
    ],
)
async def test_bad_claims_are_refused_naming_the_field_and_write_nothing(
    client: AsyncClient, service: Headers, support: Headers, overrides: dict[str, Any], field: str
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=150_000)
    before = await events_of(client, service)
    response = await client.post(
        "/v1/payout-disputes",
        json=dispute_body(**{"order_id": "ORD-1", **overrides}),
        headers=support,
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["errors"][0]["field"] == field
    assert problem["detail"]
    assert await events_of(client, service) == before
    order = (await client.get("/v1/orders/ORD-1", headers=service)).json()
    assert order["cases"] == []


async def test_unknown_order_detail_says_so(client: AsyncClient, support: Headers) -> None:
    response = await client.post(
        "/v1/payout-disputes", json=dispute_body("ORD-404"), headers=support
    )
    assert response.status_code == 422
    assert "No order ORD-404" in response.json()["detail"]


async def test_no_shortfall_detail_says_so(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=150_000)
    response = await client.post(
        "/v1/payout-disputes",
        json=dispute_body("ORD-1", "paid_less", amount_received=150_000),
        headers=support,
    )
    assert response.status_code == 422
    assert "no shortfall" in response.json()["detail"]


async def test_one_open_dispute_per_order(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1")
    first = await open_dispute(client, support, "ORD-1")
    again = await client.post("/v1/payout-disputes", json=dispute_body("ORD-1"), headers=support)
    assert again.status_code == 409
    assert first["id"] in again.json()["detail"]


async def test_only_support_and_ops_open_disputes(
    client: AsyncClient, service: Headers, make_key: KeyMaker
) -> None:
    await put_completed_order(client, service, "ORD-1")
    vendor = await make_key("vendor", "V-1")
    for headers, status in ((vendor, 403), (service, 403), ({}, 401)):
        response = await client.post(
            "/v1/payout-disputes", json=dispute_body("ORD-1"), headers=headers
        )
        assert response.status_code == status


async def test_replayed_opening_opens_one_case(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1")
    headers = {**support, "Idempotency-Key": "open-ORD-1"}
    first = await client.post("/v1/payout-disputes", json=dispute_body("ORD-1"), headers=headers)
    again = await client.post("/v1/payout-disputes", json=dispute_body("ORD-1"), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    order = (await client.get("/v1/orders/ORD-1", headers=service)).json()
    assert len(order["cases"]) == 1


async def open_for_orders(
    client: AsyncClient, service: Headers, support: Headers, *order_ids: str
) -> list[dict[str, Any]]:
    opened = []
    for order_id in order_ids:
        await put_completed_order(
            client, service, order_id, vendor_id="V-1", final_invoice_amount=150_000
        )
        opened.append(await open_dispute(client, support, order_id))
    return opened


REPEAT_RULE = "repeat_vendor_not_paying_flagged"


async def test_a_vendor_is_a_repeat_offender_on_disputes_it_lost(
    client: AsyncClient, service: Headers, support: Headers, make_key: KeyMaker
) -> None:
    vendor = await make_key("vendor", "V-1")
    first, second = await open_for_orders(client, service, support, "ORD-1", "ORD-2")
    lost = await vendor_response(client, vendor, first["id"], "not_paid")
    assert lost["decision"]["facts"]["earlier_disputes_lost"] == 0
    assert REPEAT_RULE not in lost["decision"]["rules_fired"]
    # Opening the second dispute applies nothing: the vendor has not answered yet.
    assert second["decision"]["actions"] == [
        a for a in second["decision"]["actions"] if a["type"] == "notify"
    ]
    assert (await standing(client, service))["max_leads"] == 10

    again = await vendor_response(client, vendor, second["id"], "not_paid")
    decision = again["decision"]
    assert decision["facts"]["earlier_disputes_lost"] == 1
    assert REPEAT_RULE in decision["rules_fired"]
    assert "repeat_vendor_not_paying_blocked_and_escalated" in decision["rules_fired"]
    # Blocked and sent to the ops manager, and still resolved: the platform paid.
    assert again["status"] == "resolved" and {"to": "ops_manager"} in again["escalations"]
    after = await standing(client, service)
    assert after["max_leads"] == 9 and after["new_leads_blocked"] is True
    assert {"reason": "repeat_payout_disputes", "case_id": second["id"]} in after["flags"]
    assert after["receives_new_leads"] is False


async def test_disputes_the_vendor_won_do_not_make_it_a_repeat_offender(
    client: AsyncClient, service: Headers, support: Headers, make_key: KeyMaker
) -> None:
    vendor = await make_key("vendor", "V-1")
    first, second = await open_for_orders(client, service, support, "ORD-1", "ORD-2")
    won = await vendor_response(client, vendor, first["id"], "paid_full", proof=PROOF)
    assert won["decision"]["outcome"] == "resolved_paid"
    decided = await vendor_response(client, vendor, second["id"], "not_paid")
    assert decided["decision"]["facts"]["earlier_disputes_lost"] == 0
    assert REPEAT_RULE not in decided["decision"]["rules_fired"]
    assert (await standing(client, service))["max_leads"] == 10


async def test_disputes_older_than_the_window_do_not_count(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    make_key: KeyMaker,
    db_engine: AsyncEngine,
) -> None:
    vendor = await make_key("vendor", "V-1")
    first, second = await open_for_orders(client, service, support, "ORD-1", "ORD-2")
    await vendor_response(client, vendor, first["id"], "not_paid")
    async with db_engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE cases SET created_at = now() - interval '31 days' WHERE order_id = 'ORD-1'"
            )
        )
    decided = await vendor_response(client, vendor, second["id"], "not_paid")
    assert decided["decision"]["facts"]["earlier_disputes_lost"] == 0
    assert (await standing(client, service))["max_leads"] == 10


async def test_simultaneous_answers_count_each_lost_dispute_once(
    client: AsyncClient, service: Headers, support: Headers, make_key: KeyMaker
) -> None:
    vendor = await make_key("vendor", "V-1")
    cases = await open_for_orders(client, service, support, *(f"ORD-{n}" for n in range(5)))
    responses = await asyncio.gather(
        *(
            client.post(
                f"/v1/payout-disputes/{case['id']}/vendor-response",
                json={"response": "not_paid"},
                headers=vendor,
            )
            for case in cases
        )
    )
    assert [r.status_code for r in responses] == [200] * 5
    seen = sorted(r.json()["decision"]["facts"]["earlier_disputes_lost"] for r in responses)
    assert seen == [0, 1, 2, 3, 4]
    # Four of them follow a lost dispute: four reductions, each once.
    assert (await standing(client, service))["max_leads"] == 6
