"""What a decision writes at its one flush is what later reads see.

A verdict records what ops found (the case's details and reason) after its decision: the
stored case, the reports and a later override read what ops found, whatever the fault. The
ledger's read of what a decision made flushes only for entries waiting to be written: a
decision that pays at once tells the customer what it paid, and an override, a rejection
and a manager's decision each undo what is in force, once.
"""

import asyncio
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.test_customer_updates import RESOLVED, templates, told
from tests.conftest import Headers, KeyMaker
from tests.factories import (
    file_fail_reason,
    ledger,
    open_dispute,
    paid_out,
    put_completed_order,
    put_order,
    vendor_response,
    verdict,
)

LOW = 200_000  # ₹2,000: paid with its decision, no approval
HIGH = 1_000_000  # ₹10,000: waits for finance

# (filed code, fault, code ops found): every fault, with ops naming a code other than the
# vendor's where the fault needs one.
VERDICTS = [
    ("customer_changed_mind", "customer", "customer_not_available"),
    ("vendor_not_visiting", "vendor", "arrived_late_beyond_sla"),
    ("device_mismatch", "customer", "device_mismatch"),
    ("device_mismatch", "vendor", "device_mismatch"),
    ("fraud_suspicion", "vendor", "device_taken_without_payment"),
    ("customer_changed_mind", "vendor", "vendor_not_visiting"),
]


async def stored_case(db_engine: AsyncEngine, case_id: str) -> tuple[str | None, dict[str, Any]]:
    async with db_engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT reason, details FROM cases WHERE id = :id"), {"id": case_id}
            )
        ).one()
    return row.reason, row.details


@pytest.mark.parametrize(("filed", "fault", "found"), VERDICTS)
async def test_a_verdict_stores_what_ops_found_with_the_decision(
    client: AsyncClient,
    service: Headers,
    ops: Headers,
    vendor: Headers,
    db_engine: AsyncEngine,
    filed: str,
    fault: str,
    found: str,
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1", unlock_credits=40)
    case_id = (await file_fail_reason(client, vendor, "ORD-1", filed))["id"]
    decided = await verdict(client, ops, case_id, fault, reason=found)
    assert decided["status"] == "resolved"
    assert decided["decision"]["facts"]["reason"] == found
    assert decided["details"]["verdict"]["reason"] == found
    assert decided["details"]["verdict"]["fault"] == fault
    assert decided["details"]["reason"] == filed  # what the vendor said stays beside it
    reason, details = await stored_case(db_engine, case_id)
    assert reason == found
    assert details["verdict"]["fault"] == fault and details["verdict"]["reason"] == found
    read = (await client.get(f"/v1/cases/{case_id}", headers=ops)).json()
    assert read["details"]["verdict"] == decided["details"]["verdict"]
    assert read["status"] == "resolved"
    assert all(d["outcome"] is not None for d in read["deadlines"])
    report = (await client.get("/v1/reports/summary", headers=ops)).json()
    reasons = {(r["case_type"], r["reason"]) for r in report["top_reasons"]}
    assert ("fail_reason", found) in reasons
    if found != filed:
        assert ("fail_reason", filed) not in reasons


async def test_an_override_after_a_verdict_refunds_what_ops_confirmed_not_what_was_claimed(
    client: AsyncClient, service: Headers, ops: Headers, vendor: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1", unlock_credits=40)
    case_id = (
        await file_fail_reason(
            client,
            vendor,
            "ORD-1",
            "customer_changed_mind",
            vendor_paid_customer=True,
            amount_paid_to_customer=900_000,
        )
    )["id"]
    decided = await verdict(
        client, ops, case_id, "customer", vendor_paid_customer=True, amount_paid_to_customer=300_000
    )
    assert decided["details"]["verdict"]["amount_paid_to_customer"] == 300_000
    wallet = [e for e in await ledger(client, service) if e["kind"] == "wallet_refund_eligible"]
    assert [e["amount"] for e in wallet] == [300_000]

    def override(amount: int) -> dict[str, Any]:
        return {
            "outcome": "failed_customer_fault",
            "reason": "refund what was paid",
            "actions": [
                {"type": "credit_refund", "amount": 40},
                {"type": "wallet_refund_eligible", "amount": amount},
            ],
        }

    path = f"/v1/cases/{case_id}/override"
    refused = await client.post(path, json=override(900_000), headers=ops)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "actions[1].amount"
    accepted = await client.post(path, json=override(300_000), headers=ops)
    assert accepted.status_code == 200, accepted.text
    entries = await ledger(client, service)
    reversed_ids = {e["settles_entry_id"] for e in entries if e["kind"] == "reversal"}
    in_force = [
        e["amount"]
        for e in entries
        if e["kind"] == "wallet_refund_eligible" and e["id"] not in reversed_ids
    ]
    assert in_force == [300_000]
    # The verdict's refund and credits were undone once each, by the override.
    assert sorted(e["details"]["reverses"] for e in entries if e["kind"] == "reversal") == [
        "credit_refund",
        "wallet_refund_eligible",
    ]


async def test_a_payout_made_with_its_decision_is_what_the_customer_is_told(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=LOW)
    case = await open_dispute(client, support, "ORD-1")
    resolved = await vendor_response(client, ops, case["id"], "not_paid")
    assert resolved["status"] == "resolved"
    sent = await told(client, service, case["id"])
    assert templates(sent) == ["payout_dispute_acknowledged", RESOLVED]
    assert sent[-1]["text"] == (
        "Your payout dispute for order ORD-1 is closed: Cashkr has paid you ₹2,000, what the "
        "vendor did not pay."
    )


async def test_overrides_that_pay_again_each_cancel_the_payout_waiting_before_them(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    finance = await make_key("finance_manager")
    manager = await make_key("ops_manager")
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=HIGH)
    case = await open_dispute(client, support, "ORD-1")
    await vendor_response(client, ops, case["id"], "not_paid")
    path = f"/v1/cases/{case['id']}/override"
    for _ in range(2):
        done = await client.post(
            path,
            json={
                "outcome": "resolved_paid_by_platform",
                "reason": "the vendor did not pay",
                "actions": [{"type": "platform_payout", "amount": HIGH}],
            },
            headers=manager,
        )
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "awaiting_approval"
        entries = await ledger(client, service)
        assert paid_out(entries) == HIGH
        payouts = [e for e in entries if e["kind"] == "platform_payout"]
        reversals = [
            e
            for e in entries
            if e["kind"] == "reversal" and e["details"]["reverses"] == "platform_payout"
        ]
        # Each payout but the last cancelled exactly once.
        assert sorted(e["settles_entry_id"] for e in reversals) == sorted(
            e["id"] for e in payouts[:-1]
        )
    *cancelled, last = payouts
    for earlier in cancelled:
        refused = await client.post(
            f"/v1/payouts/{earlier['id']}/approve", json={}, headers=finance
        )
        assert refused.status_code == 409, refused.text
    approved = await client.post(f"/v1/payouts/{last['id']}/approve", json={}, headers=finance)
    assert approved.status_code == 200, approved.text
    resolved = (await client.get(f"/v1/cases/{case['id']}", headers=service)).json()
    assert resolved["status"] == "resolved"
    sent = await told(client, service, case["id"])
    assert [t for t in templates(sent) if t == RESOLVED] == [RESOLVED]
    assert "₹10,000" in sent[-1]["text"]
    assert paid_out(await ledger(client, service)) == HIGH


async def test_a_rejected_payout_then_a_manager_payout_leaves_one_payout_in_force(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    finance = await make_key("finance_manager")
    manager = await make_key("ops_manager")
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=HIGH)
    case = await open_dispute(client, support, "ORD-1")
    await vendor_response(client, ops, case["id"], "not_paid")
    [payout] = (await client.get("/v1/payouts", headers=finance)).json()["items"]
    rejected = await client.post(
        f"/v1/payouts/{payout['id']}/reject", json={"reason": "check again"}, headers=finance
    )
    assert rejected.status_code == 200, rejected.text
    assert paid_out(await ledger(client, service)) == 0
    decided = await client.post(
        f"/v1/payout-disputes/{case['id']}/manager-decision",
        json={"finding": "vendor_at_fault", "amount_received": 0, "lift_block": False},
        headers=manager,
    )
    assert decided.status_code == 200, decided.text
    entries = await ledger(client, service)
    assert paid_out(entries) == HIGH
    # The rejected payout is no money already: the manager's decision does not reverse it.
    assert payout["id"] not in {e["settles_entry_id"] for e in entries if e["kind"] == "reversal"}
    waiting = (await client.get("/v1/payouts?status=pending_approval", headers=finance)).json()
    [again] = waiting["items"]
    approved = await client.post(
        f"/v1/payouts/{again['id']}/approve", json={"note": "ok"}, headers=finance
    )
    assert approved.status_code == 200, approved.text
    twice = await client.post(f"/v1/payouts/{again['id']}/approve", json={}, headers=finance)
    assert twice.status_code == 409
    # Money that left is not taken back by an override.
    late = await client.post(
        f"/v1/cases/{case['id']}/override",
        json={
            "outcome": "resolved_paid_by_platform",
            "reason": "pay less",
            "actions": [{"type": "platform_payout", "amount": 1}],
        },
        headers=manager,
    )
    assert late.status_code == 409, late.text
    assert paid_out(await ledger(client, service)) == HIGH


async def test_a_verdict_racing_an_override_and_a_second_verdict_leaves_one_decision(
    client: AsyncClient, service: Headers, ops: Headers, vendor: Headers, db_engine: AsyncEngine
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1", unlock_credits=40)
    case_id = (
        await file_fail_reason(
            client,
            vendor,
            "ORD-1",
            "device_mismatch",
            vendor_paid_customer=True,
            amount_paid_to_customer=500_000,
        )
    )["id"]
    body = {"fault": "customer", "checks": ["call_logs"], "vendor_paid_customer": True}
    verdicts = [
        client.post(f"/v1/fail-reviews/{case_id}/verdict", json=body, headers=ops) for _ in range(2)
    ]
    override = client.post(
        f"/v1/cases/{case_id}/override",
        json={
            "outcome": "failed_vendor_fault",
            "reason": "ops saw the GPS",
            "actions": [{"type": "sla_strike"}],
        },
        headers=ops,
    )
    first, second, overridden = await asyncio.gather(*verdicts, override)
    # One verdict at most: the other (or both, after the override) finds the case decided.
    assert sorted([first.status_code, second.status_code]) in ([200, 409], [409, 409])
    assert overridden.status_code == 200, overridden.text
    verdict_given = 200 in (first.status_code, second.status_code)
    entries = await ledger(client, service)
    reversed_ids = {e["settles_entry_id"] for e in entries if e["kind"] == "reversal"}
    in_force = sorted(
        e["kind"] for e in entries if e["kind"] != "reversal" and e["id"] not in reversed_ids
    )
    case = (await client.get(f"/v1/cases/{case_id}", headers=ops)).json()
    reason, details = await stored_case(db_engine, case_id)
    # Whichever came last stands, alone, and the case shows it.
    if case["decision"]["decided_by"]["kind"] == "ops_override":
        assert in_force == ["sla_strike"]
    else:
        assert in_force == ["credit_refund", "wallet_refund_eligible"]
    assert case["status"] == "resolved"
    assert reason == "device_mismatch"
    if verdict_given:
        assert details["verdict"]["fault"] == "customer"
    else:
        assert "verdict" not in details
    # Each entry undone at most once.
    settled = [e["settles_entry_id"] for e in entries if e["kind"] == "reversal"]
    assert len(settled) == len(set(settled))


async def test_an_approval_racing_an_override_never_pays_twice(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    finance = await make_key("finance_manager")
    manager = await make_key("ops_manager")
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=HIGH)
    case = await open_dispute(client, support, "ORD-1")
    await vendor_response(client, ops, case["id"], "not_paid")
    [payout] = (await client.get("/v1/payouts", headers=finance)).json()["items"]
    approve = client.post(f"/v1/payouts/{payout['id']}/approve", json={}, headers=finance)
    override = client.post(
        f"/v1/cases/{case['id']}/override",
        json={
            "outcome": "resolved_paid_by_platform",
            "reason": "pay it again",
            "actions": [{"type": "platform_payout", "amount": HIGH}],
        },
        headers=manager,
    )
    approved, overridden = await asyncio.gather(approve, override)
    # One of them wins: the approval (then the override cannot take the money back) or the
    # override (then the payout it cancelled cannot be approved).
    assert sorted([approved.status_code, overridden.status_code]) == [200, 409], (
        approved.text,
        overridden.text,
    )
    assert paid_out(await ledger(client, service)) == HIGH
