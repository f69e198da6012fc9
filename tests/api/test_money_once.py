"""Money leaves once: each way money used to leave twice, unbounded or unapproved, tried
through HTTP as an attacker would, and refused (docs/money.md)."""

import asyncio
import base64
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Headers, KeyMaker
from tests.db import row_counts
from tests.factories import (
    dispute_body,
    file_fail_reason,
    open_dispute,
    order_body,
    put_completed_order,
    put_order,
    vendor_response,
    verdict,
)

INVOICE = 300_000  # ₹3,000


@pytest.fixture
async def vendor(make_key: KeyMaker) -> Headers:
    return await make_key("vendor", "V-1")


async def ledger(client: AsyncClient, headers: Headers) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        await client.get("/v1/vendors/V-1/ledger?limit=100", headers=headers)
    ).json()["items"]
    return items


def paid_out(entries: list[dict[str, Any]]) -> int:
    """Paise the platform pays (waiting or released) that no later entry cancelled."""
    cancelled = {
        e["settles_entry_id"] for e in entries if e["kind"] in ("reversal", "payout_rejected")
    }
    return sum(
        e["amount"] for e in entries if e["kind"] == "platform_payout" and e["id"] not in cancelled
    )


async def override(
    client: AsyncClient, headers: Headers, case_id: str, outcome: str, *actions: dict[str, Any]
) -> Any:
    return await client.post(
        f"/v1/cases/{case_id}/override",
        json={"outcome": outcome, "reason": "checked by phone", "actions": list(actions)},
        headers=headers,
    )


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


# --- strict input where money is concerned ----------------------------------------------------


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
