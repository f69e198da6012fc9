"""A POST on a case that exists answers with the case as a GET right after it shows it, also
when the answer is made from the case's rows read with its running clocks
(app.cases.case_rows): verdicts, overrides, the vendor's answers, finance's and the ops
manager's decisions, notes, assignments, feedback and resolves."""

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.cases import deadlines as firing
from app.keys import service as keys
from tests.conftest import Headers, KeyMaker
from tests.factories import (
    HIGH,
    PROOF,
    approve_the_waiting_payout,
    file_complaint,
    file_fail_reason,
    open_dispute,
    override,
    payment_record,
    post_records,
    put_completed_order,
    put_order,
    same_as_shown,
    verdict_body,
)


async def test_fail_review_verdict_override_note_assign_all_equal_get(
    client: AsyncClient, service: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    manager = await make_key("ops_manager")
    await put_order(client, service, "ORD-1")
    case = await file_fail_reason(client, ops, "ORD-1", "customer_not_available")
    cid = case["id"]
    await same_as_shown(
        client,
        ops,
        await client.post(
            f"/v1/fail-reviews/{cid}/verdict", json=verdict_body("customer"), headers=ops
        ),
    )
    await same_as_shown(
        client, ops, await override(client, ops, cid, "failed_vendor_fault", {"type": "sla_strike"})
    )
    await same_as_shown(
        client,
        ops,
        await client.post(f"/v1/cases/{cid}/notes", json={"text": "n1"}, headers=ops),
    )
    await same_as_shown(
        client,
        ops,
        await client.post(f"/v1/cases/{cid}/assign", json={"assignee": "Ravi"}, headers=ops),
    )
    await same_as_shown(client, ops, await override(client, manager, cid, "failed_customer_fault"))
    await same_as_shown(client, ops, await override(client, manager, cid, "failed_vendor_fault"))


async def test_dispute_high_payout_reject_manager_feedback_override(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    finance = await make_key("finance_manager")
    manager = await make_key("ops_manager")
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=HIGH)
    case = await open_dispute(client, support, "ORD-1")
    cid = case["id"]
    # paid_full without proof keeps it waiting: rows read, clock not settled
    await same_as_shown(
        client,
        ops,
        await client.post(
            f"/v1/payout-disputes/{cid}/vendor-response",
            json={"response": "paid_full"},
            headers=ops,
        ),
    )
    waiting = await same_as_shown(
        client,
        ops,
        await client.post(
            f"/v1/payout-disputes/{cid}/vendor-response",
            json={"response": "not_paid"},
            headers=ops,
        ),
    )
    assert waiting["status"] == "awaiting_approval"
    payout = (await client.get("/v1/payouts", headers=finance)).json()["items"][0]
    rejected = await client.post(
        f"/v1/payouts/{payout['id']}/reject", json={"reason": "cash"}, headers=finance
    )
    assert rejected.status_code == 200, rejected.text
    body = {"finding": "vendor_at_fault", "amount_received": 0, "lift_block": False}
    decided = await same_as_shown(
        client,
        ops,
        await client.post(
            f"/v1/payout-disputes/{cid}/manager-decision",
            json=body,
            headers={**manager, "Idempotency-Key": "m1"},
        ),
    )
    replay = await client.post(
        f"/v1/payout-disputes/{cid}/manager-decision",
        json=body,
        headers={**manager, "Idempotency-Key": "m1"},
    )
    assert replay.json() == decided
    if decided["status"] == "awaiting_approval":
        await approve_the_waiting_payout(client, finance)
    shown = (await client.get(f"/v1/cases/{cid}", headers=ops)).json()
    assert shown["status"] == "resolved", shown["status"]
    await same_as_shown(
        client,
        ops,
        await client.post(f"/v1/cases/{cid}/feedback", json={"score": 3}, headers=support),
    )


@pytest.mark.parametrize("outcome", ["resolved_paid", "resolved_valid_deduction"])
async def test_override_of_a_resolved_dispute_with_feedback(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    vendor: Headers,
    make_key: KeyMaker,
    outcome: str,
) -> None:
    manager = await make_key("ops_manager")
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=HIGH)
    case = await open_dispute(client, support, "ORD-1")
    cid = case["id"]
    await same_as_shown(
        client,
        support,
        await client.post(
            f"/v1/payout-disputes/{cid}/vendor-response",
            json={"response": "paid_full", "method": "upi", "proof": PROOF},
            headers=vendor,
        ),
    )
    await same_as_shown(
        client,
        support,
        await client.post(f"/v1/cases/{cid}/feedback", json={"score": 2}, headers=support),
    )
    actions = (
        [{"type": "platform_payout", "amount": HIGH}]
        if outcome == "resolved_paid_by_platform"
        else []
    )
    answer = await override(client, manager, cid, outcome, *actions)
    again = await same_as_shown(client, support, answer)
    assert again["feedback"] is not None
    if outcome == "resolved_paid_by_platform":
        # reopened: a payout waits for finance; a new update clock runs
        assert again["status"] == "awaiting_approval", again["status"]
        finance = await make_key("finance_manager")
        await approve_the_waiting_payout(client, finance)
        shown = (await client.get(f"/v1/cases/{cid}", headers=support)).json()
        assert shown["status"] == "resolved"
        assert all(d["outcome"] for d in shown["deadlines"])
        await same_as_shown(
            client, support, await override(client, manager, cid, "resolved_paid"), 200, 409
        )


async def test_pickup_complaint_resolve_feedback_note(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    await put_order(client, service, "ORD-1")
    case = await file_complaint(client, support)
    cid = case["id"]
    await same_as_shown(
        client,
        ops,
        await client.post(
            f"/v1/pickup-complaints/{cid}/resolve", json={"note": "called"}, headers=support
        ),
    )
    await same_as_shown(
        client,
        ops,
        await client.post(f"/v1/cases/{cid}/feedback", json={"score": 5}, headers=support),
    )
    await same_as_shown(
        client,
        ops,
        await client.post(f"/v1/cases/{cid}/notes", json={"text": "after"}, headers=ops),
    )


async def test_a_dispute_vendor_response_idempotent_replay_equals_get(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=150_000)
    case = await open_dispute(client, support, "ORD-1")
    headers = {**vendor, "Idempotency-Key": "v1"}
    body = {"response": "paid_full", "method": "upi", "proof": PROOF}
    first = await same_as_shown(
        client,
        vendor,
        await client.post(
            f"/v1/payout-disputes/{case['id']}/vendor-response", json=body, headers=headers
        ),
    )
    replay = await client.post(
        f"/v1/payout-disputes/{case['id']}/vendor-response", json=body, headers=headers
    )
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == first


async def test_another_vendor_learns_nothing(
    client: AsyncClient, service: Headers, support: Headers, make_key: KeyMaker
) -> None:
    other = await make_key("vendor", "V-2")
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=150_000)
    case = await open_dispute(client, support, "ORD-1")
    answer = await client.post(
        f"/v1/payout-disputes/{case['id']}/vendor-response",
        json={"response": "paid_full", "method": "upi", "proof": PROOF},
        headers=other,
    )
    assert answer.status_code == 403
    assert case["id"] not in answer.text or "deadlines" not in answer.text
    assert "deadlines" not in answer.text and "history" not in answer.text
    shown = (await client.get(f"/v1/cases/{case['id']}", headers=support)).json()
    assert shown == case or shown["status"] == "awaiting_vendor"


async def test_escalated_dispute_late_answer_202_equals_get(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    db_engine: AsyncEngine,
    app: Any,
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=150_000)
    case = await open_dispute(client, support, "ORD-1")
    cid = case["id"]
    async with db_engine.begin() as c:
        await c.execute(
            text(
                "UPDATE deadlines SET due_at = now() - interval '1 minute' "
                "WHERE case_id = :id AND kind = 'vendor_response'"
            ),
            {"id": cid},
        )
    async with app.state.sessionmaker() as session, session.begin():
        await firing.fire_due(session, app.state.rules_engine, "watcher:test", 10)
    escalated = (await client.get(f"/v1/cases/{cid}", headers=ops)).json()
    assert escalated["status"] == "escalated", escalated["status"]
    await same_as_shown(
        client,
        ops,
        await client.post(
            f"/v1/payout-disputes/{cid}/vendor-response",
            json={"response": "paid_full", "method": "upi", "proof": PROOF},
            headers=ops,
        ),
        202,
    )
    await same_as_shown(
        client,
        ops,
        await client.post(
            f"/v1/payout-disputes/{cid}/manager-decision",
            json={"finding": "vendor_paid_full", "amount_received": 150_000, "lift_block": True},
            headers=await _manager(app),
        ),
    )


async def _manager(app: Any) -> Headers:

    async with app.state.sessionmaker() as session, session.begin():
        token = await keys.create(session, "ops_manager", None, name="mgr")
    return {"Authorization": f"Bearer {token}"}


async def test_payment_discrepancy_resolve_equals_get(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:

    await put_completed_order(client, service, "ORD-1", final_invoice_amount=1_500_000)
    answer = await post_records(
        client, service, payment_record("ORD-1", "P-1", 1_500_000, status="failed")
    )
    [opened] = answer["cases"]
    await same_as_shown(
        client,
        ops,
        await client.post(
            f"/v1/payment-discrepancies/{opened['id']}/resolve",
            json={"note": "reprocessed"},
            headers=ops,
        ),
    )


async def test_reopened_by_override_with_feedback_then_approved(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    manager = await make_key("ops_manager")
    finance = await make_key("finance_manager")
    notes = [{"reason": "screen_damage", "amount": 900_000}]
    await put_completed_order(
        client, service, "ORD-1", final_invoice_amount=HIGH, pickup_notes=notes
    )
    case = await open_dispute(client, support, "ORD-1", "paid_less", amount_received=100_000)
    cid = case["id"]
    await same_as_shown(
        client,
        ops,
        await client.post(
            f"/v1/payout-disputes/{cid}/vendor-response",
            json={
                "response": "paid_partial",
                "amount_paid": 100_000,
                "deduction_reason": "screen_damage",
            },
            headers=ops,
        ),
    )
    await same_as_shown(
        client,
        ops,
        await client.post(f"/v1/cases/{cid}/feedback", json={"score": 1}, headers=support),
    )
    reopened = await same_as_shown(
        client,
        ops,
        await client.post(
            f"/v1/cases/{cid}/override",
            json={
                "outcome": "resolved_paid_by_platform",
                "reason": "damage before pickup",
                "actions": [{"type": "platform_payout", "amount": 900_000}],
            },
            headers={**manager, "Idempotency-Key": "o-1"},
        ),
    )
    assert reopened["status"] == "awaiting_approval"
    assert reopened["feedback"] is not None
    await approve_the_waiting_payout(client, finance)
    shown = (await client.get(f"/v1/cases/{cid}", headers=ops)).json()
    assert shown["status"] == "resolved"
    assert all(d["outcome"] for d in shown["deadlines"]), shown["deadlines"]
    await same_as_shown(
        client,
        ops,
        await client.post(f"/v1/cases/{cid}/notes", json={"text": "done"}, headers=ops),
    )


async def test_feedback_stored_on_a_fail_review_is_never_shown(
    client: AsyncClient, service: Headers, ops: Headers, db_engine: AsyncEngine
) -> None:
    """Not possible through the API; written straight to the table: the answer from the
    rows read and the GET agree that a case no customer raised shows no feedback."""
    await put_order(client, service, "ORD-1")
    case = await file_fail_reason(client, ops, "ORD-1", "customer_not_available")
    async with db_engine.begin() as c:
        await c.execute(
            text("INSERT INTO case_feedback (case_id, score, given_by) VALUES (:id, 3, 'x')"),
            {"id": case["id"]},
        )
    body = await same_as_shown(
        client,
        ops,
        await client.post(
            f"/v1/fail-reviews/{case['id']}/verdict", json=verdict_body("customer"), headers=ops
        ),
    )
    assert body["feedback"] is None
