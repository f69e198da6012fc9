"""The customer of a customer-facing case is kept informed (docs/cases.md): acknowledged when
it opens, updated every customer_update_hours while it stays open (deadline rows the watcher
fires), and told the outcome, with what was done, once it is resolved, never before."""

import asyncio
import time
from typing import Any

import pytest
from httpx import AsyncClient

from tests.api.test_metrics import sample, scrape
from tests.api.test_vendor_response_clock import TICK, WAIT_SECONDS, instance
from tests.conftest import Headers, KeyMaker
from tests.factories import (
    file_complaint,
    open_dispute,
    put_completed_order,
    put_order,
    vendor_response,
)

HIGH = 1_000_000  # ₹10,000: the platform's payout of it waits for finance
UPDATE = "payout_dispute_update"
RESOLVED = "payout_dispute_resolved"


async def told(client: AsyncClient, headers: Headers, case_id: str) -> list[dict[str, Any]]:
    """What the customer was sent about the case, in order."""
    feed = (await client.get("/v1/events?limit=200", headers=headers)).json()["items"]
    return [
        e["data"]
        for e in feed
        if e["case_id"] == case_id
        and e["type"] == "notification.requested"
        and e["data"]["audience"] == "customer"
    ]


def templates(sent: list[dict[str, Any]]) -> list[str]:
    return [notice["template"] for notice in sent]


async def test_an_open_case_is_updated_every_customer_update_hours_by_the_watcher(
    database_url: str, service: Headers, support: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICY_CUSTOMER_UPDATE_HOURS", "0.0001")  # 0.36 s
    async with instance(database_url, TICK) as (_, client):
        before = await scrape(client, service)
        await put_completed_order(client, service, "ORD-1", final_invoice_amount=150_000)
        case = await open_dispute(client, support, "ORD-1")
        give_up = time.monotonic() + WAIT_SECONDS
        while templates(await told(client, service, case["id"])).count(UPDATE) < 2:
            assert time.monotonic() < give_up, await told(client, service, case["id"])
            await asyncio.sleep(TICK)
        sent = await told(client, service, case["id"])
        update = next(notice for notice in sent if notice["template"] == UPDATE)
        assert update["text"] == (
            "We are still working on your payout dispute for order ORD-1, and will tell you as "
            "soon as it is resolved."
        )
        assert update["status"] == "awaiting_vendor"
        clocks = (await client.get(f"/v1/cases/{case['id']}", headers=service)).json()["deadlines"]
        updates = [d for d in clocks if d["kind"] == "customer_update"]
        # Each update sent settles its clock and starts the next: one always runs.
        assert [d["outcome"] for d in updates].count(None) == 1
        assert {d["outcome"] for d in updates} == {"met", None}
        after = await scrape(client, service)
        # An update is never a miss, however late the watcher sends it.
        kind = {"kind": "customer_update"}
        assert sample(after, "deadlines_missed_total", **kind) == sample(
            before, "deadlines_missed_total", **kind
        )


async def test_the_outcome_is_told_when_the_payout_is_approved_not_when_it_is_decided(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    finance = await make_key("finance_manager")
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=HIGH)
    case = await open_dispute(client, support, "ORD-1")
    waiting = await vendor_response(client, ops, case["id"], "not_paid")
    assert waiting["status"] == "awaiting_approval"
    assert templates(await told(client, service, case["id"])) == ["payout_dispute_acknowledged"]
    running = [d["kind"] for d in waiting["deadlines"] if d["outcome"] is None]
    assert "customer_update" in running  # still open: the customer still hears from us

    payout = (await client.get("/v1/payouts", headers=finance)).json()["items"][0]
    approved = await client.post(
        f"/v1/payouts/{payout['id']}/approve", json={"note": "ok"}, headers=finance
    )
    assert approved.status_code == 200, approved.text
    sent = await told(client, service, case["id"])
    assert templates(sent) == ["payout_dispute_acknowledged", RESOLVED]
    assert sent[-1]["outcome"] == "resolved_paid_by_platform"
    assert sent[-1]["text"] == (
        "Your payout dispute for order ORD-1 is closed: Cashkr has paid you ₹10,000, what the "
        "vendor did not pay."
    )
    resolved = (await client.get(f"/v1/cases/{case['id']}", headers=service)).json()
    assert all(d["outcome"] is not None for d in resolved["deadlines"])


async def test_a_rejected_payout_tells_nothing_until_the_manager_ends_the_case(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    finance = await make_key("finance_manager")
    manager = await make_key("ops_manager")
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=HIGH)
    case = await open_dispute(client, support, "ORD-1")
    await vendor_response(client, ops, case["id"], "not_paid")
    payout = (await client.get("/v1/payouts", headers=finance)).json()["items"][0]
    await client.post(
        f"/v1/payouts/{payout['id']}/reject", json={"reason": "paid in cash"}, headers=finance
    )
    assert templates(await told(client, service, case["id"])) == ["payout_dispute_acknowledged"]
    decided = await client.post(
        f"/v1/payout-disputes/{case['id']}/manager-decision",
        json={"finding": "vendor_paid_full", "amount_received": HIGH, "lift_block": True},
        headers=manager,
    )
    assert decided.status_code == 200, decided.text
    sent = await told(client, service, case["id"])
    assert templates(sent) == ["payout_dispute_acknowledged", RESOLVED]
    assert sent[-1]["text"] == (
        "Your payout dispute for order ORD-1 is closed: the vendor showed that it paid you the "
        "full ₹10,000."
    )


async def test_a_valid_deduction_is_explained_to_the_customer(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    notes = [{"reason": "screen_damage", "amount": 50_000}]
    await put_completed_order(
        client, service, "ORD-1", final_invoice_amount=150_000, pickup_notes=notes
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
    assert resolved["status"] == "resolved"
    [*_, outcome] = await told(client, service, case["id"])
    assert outcome["text"] == (
        "Your payout dispute for order ORD-1 is closed: the ₹500 deducted from ₹1,500 is "
        "explained by the condition of the device recorded at pickup: screen_damage (₹500)."
    )


async def test_a_case_reopened_by_an_override_updates_the_customer_again(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    manager = await make_key("ops_manager")
    notes = [{"reason": "screen_damage", "amount": 900_000}]
    await put_completed_order(
        client, service, "ORD-1", final_invoice_amount=HIGH, pickup_notes=notes
    )
    case = await open_dispute(client, support, "ORD-1", "paid_less", amount_received=100_000)
    await vendor_response(
        client,
        ops,
        case["id"],
        "paid_partial",
        amount_paid=100_000,
        deduction_reason="screen_damage",
    )
    reopened = await client.post(
        f"/v1/cases/{case['id']}/override",
        json={
            "outcome": "resolved_paid_by_platform",
            "reason": "the damage was there before pickup",
            "actions": [{"type": "platform_payout", "amount": 900_000}],
        },
        headers=manager,
    )
    assert reopened.status_code == 200, reopened.text
    body = reopened.json()
    assert body["status"] == "awaiting_approval"
    running = [d["kind"] for d in body["deadlines"] if d["outcome"] is None]
    assert running == ["customer_update"]
    # Told how it ended once, at the first resolution; the payout is not announced yet.
    assert templates(await told(client, service, case["id"])).count(RESOLVED) == 1


async def test_a_pickup_complaint_closed_by_cx_tells_the_customer(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    case = await file_complaint(client, support)
    closed = await client.post(
        f"/v1/pickup-complaints/{case['id']}/resolve",
        json={"note": "Called the customer; vendor coached."},
        headers=support,
    )
    assert closed.status_code == 200, closed.text
    sent = await told(client, service, case["id"])
    assert templates(sent) == ["pickup_complaint_acknowledged", "pickup_complaint_resolved"]
    # CX's note is for the ticket: the customer hears the table's words only.
    assert "coached" not in sent[-1]["text"]
    assert sent[-1]["text"].startswith("Our customer experience team has reviewed")
