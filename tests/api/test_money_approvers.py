"""Money leaves once, the people who release it: four eyes on every payout, a rejection that
sends the case back, and one lock order when approvals and overrides race (docs/money.md)."""

import asyncio

import pytest
from httpx import AsyncClient

from tests.conftest import Headers, KeyMaker
from tests.factories import (
    ledger,
    open_dispute,
    override,
    paid_out,
    put_completed_order,
    vendor_response,
)

# --- the people who release money ---------------------------------------------------------------


async def test_nobody_approves_a_payout_their_own_decision_made(
    client: AsyncClient, service: Headers, support: Headers, make_key: KeyMaker
) -> None:
    manager = await make_key("ops_manager", name="Meera Iyer")
    same_person = await make_key("finance_manager", name="Meera Iyer")
    finance = await make_key("finance_manager", name="Farhan Ali")
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=900_000)
    case = await open_dispute(client, support, "ORD-1")
    decided = (
        await override(
            client,
            manager,
            case["id"],
            "resolved_paid_by_platform",
            {"type": "platform_payout", "amount": 900_000},
        )
    ).json()
    [payout] = [e for e in await ledger(client, service) if e["kind"] == "platform_payout"]
    assert payout["details"]["decided_by_name"] == "Meera Iyer"
    own = await client.post(f"/v1/payouts/{payout['id']}/approve", json={}, headers=same_person)
    assert own.status_code == 403 and "four eyes" in own.json()["detail"]
    other = await client.post(f"/v1/payouts/{payout['id']}/approve", json={}, headers=finance)
    assert other.status_code == 200 and other.json()["status"] == "released"
    resolved = (await client.get(f"/v1/cases/{decided['id']}", headers=service)).json()
    assert resolved["status"] == "resolved"


async def test_four_eyes_know_a_name_however_its_accents_are_typed(
    client: AsyncClient, service: Headers, support: Headers, make_key: KeyMaker
) -> None:
    manager = await make_key("ops_manager", name="Jos\u00e9 D\u00edaz")  # composed
    same_person = await make_key("finance_manager", name="jose\u0301  di\u0301az")  # decomposed
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=900_000)
    case = await open_dispute(client, support, "ORD-1")
    payout_action = {"type": "platform_payout", "amount": 900_000}
    await override(client, manager, case["id"], "resolved_paid_by_platform", payout_action)
    [payout] = [e for e in await ledger(client, service) if e["kind"] == "platform_payout"]
    own = await client.post(f"/v1/payouts/{payout['id']}/approve", json={}, headers=same_person)
    assert own.status_code == 403 and "four eyes" in own.json()["detail"]


async def test_four_eyes_know_a_name_typed_full_width(
    client: AsyncClient, service: Headers, support: Headers, make_key: KeyMaker
) -> None:
    manager = await make_key("ops_manager", name="Meera Iyer")
    same_person = await make_key("finance_manager", name="\uff2d\uff45\uff45\uff52\uff41 Iyer")
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=900_000)
    case = await open_dispute(client, support, "ORD-1")
    payout_action = {"type": "platform_payout", "amount": 900_000}
    await override(client, manager, case["id"], "resolved_paid_by_platform", payout_action)
    [payout] = [e for e in await ledger(client, service) if e["kind"] == "platform_payout"]
    own = await client.post(f"/v1/payouts/{payout['id']}/approve", json={}, headers=same_person)
    assert own.status_code == 403 and "four eyes" in own.json()["detail"]


@pytest.mark.parametrize("invisible", ["\u034f", "\u3164", "\ufe0f", "\U000e0100"])
async def test_a_name_with_a_character_drawn_as_nothing_is_refused(
    client: AsyncClient, service: Headers, support: Headers, invisible: str
) -> None:
    # "Meera Iyer" with one of these looks like Meera Iyer, yet would be someone else.
    await put_completed_order(client, service, "ORD-1")
    case = await open_dispute(client, support, "ORD-1")
    assigned = await client.post(
        f"/v1/cases/{case['id']}/assign",
        json={"assignee": f"Meera{invisible} Iyer"},
        headers=support,
    )
    assert assigned.status_code == 422, assigned.text
    assert assigned.json()["errors"][0]["field"] == "assignee"


async def test_a_rejected_payout_sends_the_dispute_back_to_the_ops_manager(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    vendor: Headers,
    make_key: KeyMaker,
) -> None:
    finance = await make_key("finance_manager")
    manager = await make_key("ops_manager")
    await put_completed_order(
        client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=900_000
    )
    case = await open_dispute(client, support, "ORD-1")
    waiting = await vendor_response(client, vendor, case["id"], "not_paid")
    assert waiting["status"] == "awaiting_approval"
    assert waiting["ticket"]["status"] == "awaiting_approval"
    [payout] = [e for e in await ledger(client, service) if e["kind"] == "platform_payout"]
    rejected = await client.post(
        f"/v1/payouts/{payout['id']}/reject",
        json={"reason": "customer was paid in cash"},
        headers=finance,
    )
    assert rejected.status_code == 200
    back = (await client.get(f"/v1/cases/{case['id']}", headers=service)).json()
    assert back["status"] == "escalated" and back["resolved_at"] is None
    assert back["ticket"]["status"] == "escalated_pending_manager"
    assert back["ticket"]["assignee_team"] == "ops_manager"
    assert "customer was paid in cash" in back["notes"][-1]["text"]
    # Only the payout is taken back: the fine and the flag stand until the ops manager
    # decides, and the manager's decision replaces them.
    standing = (await client.get("/v1/vendors/V-1", headers=service)).json()
    assert standing["credits_deducted"] == 100 and len(standing["flags"]) == 1
    assert paid_out(await ledger(client, service)) == 0
    decided = await client.post(
        f"/v1/payout-disputes/{case['id']}/manager-decision",
        json={"finding": "vendor_paid_full", "amount_received": 900_000, "lift_block": True},
        headers=manager,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "resolved"
    assert decided.json()["ticket"]["status"] == "resolved_paid"
    standing = (await client.get("/v1/vendors/V-1", headers=service)).json()
    assert (standing["credits_deducted"], standing["flags"]) == (0, [])


# --- one lock order ---------------------------------------------------------------------------


async def test_an_approval_and_an_override_of_the_same_case_at_once_never_fail(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    vendor: Headers,
    make_key: KeyMaker,
) -> None:
    finance = await make_key("finance_manager")
    manager = await make_key("ops_manager")
    for round_ in range(3):
        order_id = f"ORD-{round_}"
        await put_completed_order(
            client, service, order_id, vendor_id="V-1", final_invoice_amount=900_000
        )
        case = await open_dispute(client, support, order_id)
        await vendor_response(client, vendor, case["id"], "not_paid")
        payout = next(
            e
            for e in await ledger(client, service)
            if e["kind"] == "platform_payout" and e["case_id"] == case["id"]
        )
        approve, overridden = await asyncio.gather(
            client.post(f"/v1/payouts/{payout['id']}/approve", json={}, headers=finance),
            override(client, manager, case["id"], "resolved_paid"),
        )
        # One of them went first; the other saw it. Never a 500, never both.
        assert {approve.status_code, overridden.status_code} <= {200, 409}, (
            approve.text,
            overridden.text,
        )
        assert 200 in (approve.status_code, overridden.status_code)
        entries = [e for e in await ledger(client, service) if e["case_id"] == case["id"]]
        settled = [e for e in entries if e["settles_entry_id"] == payout["id"]]
        assert len(settled) == 1
