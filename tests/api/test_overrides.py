"""POST /v1/cases/{id}/override: ops decides instead of the rules, and the ledger follows."""

from collections import Counter
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Headers, KeyMaker
from tests.db import row_counts
from tests.factories import (
    file_complaint,
    file_fail_reason,
    ledger,
    open_dispute,
    put_completed_order,
    put_order,
    standing,
    vendor_response,
    verdict,
)

# Actions whose ledger entries carry an amount; the others count once each.
AMOUNT_KINDS = {"credit_refund", "credit_fine", "platform_payout", "wallet_refund_eligible"}


async def override(
    client: AsyncClient, ops: Headers, case_id: str, outcome: str, *actions: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/cases/{case_id}/override",
        json={"outcome": outcome, "reason": "ops checked the GPS", "actions": list(actions)},
        headers=ops,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def in_force(entries: list[dict[str, Any]]) -> Counter[str]:
    """What the ledger adds up to per effect: a reversal counts against what it reverses."""
    total: Counter[str] = Counter()
    for entry in entries:
        reversal = entry["kind"] == "reversal"
        effect = entry["details"]["reverses"] if reversal else entry["kind"]
        if effect in AMOUNT_KINDS:
            total[effect] += entry["amount"]
        else:
            total[effect] += -1 if reversal else 1
    return +total  # effects that sum to zero are not in force


def effects_of(actions: list[dict[str, Any]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for action in actions:
        if action["type"] in ("escalate", "notify", "ticket_note"):
            continue  # case actions, not in the ledger
        total[action["type"]] += action["amount"] if action["type"] in AMOUNT_KINDS else 1
    return +total


async def decided_case(
    client: AsyncClient, service: Headers, ops: Headers, code: str, fault: str, **extra: Any
) -> dict[str, Any]:
    await put_order(client, service, "ORD-1", vendor_id="V-1", unlock_credits=40)
    case = await file_fail_reason(client, ops, "ORD-1", code, **extra)
    confirmed = {"vendor_paid_customer": True} if extra.get("vendor_paid_customer") else {}
    return await verdict(client, ops, case["id"], fault, **confirmed)


async def test_override_of_a_refund_leaves_a_ledger_summing_to_the_new_decision(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    ruled = await decided_case(client, service, ops, "customer_changed_mind", "customer")
    [refund] = await ledger(client, service)
    assert (refund["kind"], refund["amount"]) == ("credit_refund", 40)
    assert (await standing(client, service))["credits_refunded"] == 40

    case = await override(
        client,
        ops,
        ruled["id"],
        "failed_vendor_fault",
        {"type": "sla_strike"},
        {"type": "credit_fine", "amount": 25},
        {"type": "notify", "audience": "vendor", "template": "fail_decision"},
    )
    decision = case["decision"]
    entries = await ledger(client, service)
    assert (
        in_force(entries) == effects_of(decision["actions"]) == {"credit_fine": 25, "sla_strike": 1}
    )
    vendor = await standing(client, service)
    assert (vendor["credits_refunded"], vendor["credits_deducted"]) == (0, 25)
    assert vendor["active_strikes"] == 1

    # The refund is untouched; a new entry reverses it.
    assert entries[0] == refund
    [reversal] = [e for e in entries if e["kind"] == "reversal"]
    assert reversal["settles_entry_id"] == refund["id"] and reversal["amount"] == -40
    assert reversal["decision_id"] == decision["id"] and reversal["created_by"].startswith("ops:")
    assert {e["decision_id"] for e in entries if e["kind"] != "reversal"} == {
        refund["decision_id"],
        decision["id"],
    }


async def test_the_rules_decision_stays_on_record_superseded(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    ruled = await decided_case(client, service, ops, "customer_changed_mind", "customer")
    rules_decision = ruled["decision"]
    case = await override(client, ops, ruled["id"], "failed_vendor_fault", {"type": "sla_strike"})
    decision = case["decision"]
    assert decision["stage"] == "final" and decision["outcome"] == "failed_vendor_fault"
    assert decision["decided_by"]["kind"] == "ops_override"
    assert decision["decided_by"]["actor"].startswith("ops:")
    assert decision["decided_by"]["reason"] == "ops checked the GPS"
    assert decision["supersedes"] == rules_decision["id"] and decision["rules_fired"] == []
    assert decision["facts"] == rules_decision["facts"]
    assert [d["id"] for d in case["history"]] == [
        rules_decision["supersedes"],
        rules_decision["id"],
        decision["id"],
    ]
    again = (await client.get(f"/v1/decisions/{rules_decision['id']}", headers=ops)).json()
    assert again == rules_decision
    assert case["ticket"]["status"] == "failed_vendor_fault" and case["status"] == "resolved"
    listed = (await client.get("/v1/decisions?order_id=ORD-1", headers=ops)).json()["items"]
    newest_first = [decision["id"], rules_decision["id"], rules_decision["supersedes"]]
    assert [d["id"] for d in listed] == newest_first


async def test_override_puts_a_fraud_hold_and_review_back(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    ruled = await decided_case(client, service, ops, "offline_payment_attempt", "vendor")
    assert (await standing(client, service))["status"] == "deactivation_review"
    case = await override(
        client,
        ops,
        ruled["id"],
        "failed_customer_fault",
        {"type": "credit_refund", "amount": 40},
    )
    vendor = await standing(client, service)
    assert (vendor["status"], vendor["active_strikes"], vendor["credits_refunded"]) == (
        "active",
        0,
        40,
    )
    entries = await ledger(client, service)
    assert in_force(entries) == effects_of(case["decision"]["actions"]) == {"credit_refund": 40}
    reversed_kinds = [e["details"]["reverses"] for e in entries if e["kind"] == "reversal"]
    assert reversed_kinds == ["deactivation_review", "hold_vendor", "sla_strike"]
    feed = (await client.get("/v1/events?limit=1000", headers=ops)).json()["items"]
    moves = [
        (e["data"]["previous"], e["data"]["status"])
        for e in feed
        if e["type"] == "vendor.status_changed"
    ]
    # One event per decision: where each left the vendor.
    assert moves == [("active", "deactivation_review"), ("deactivation_review", "active")]


async def test_a_status_moved_on_since_is_not_put_back(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    # Two strikes, then a third that holds the vendor, then fraud that puts it up for review.
    for n in range(3):
        await put_order(client, service, f"ORD-{n}", vendor_id="V-1")
        case = await file_fail_reason(client, ops, f"ORD-{n}", "intentional_delay")
        held = await verdict(client, ops, case["id"], "vendor")
    await put_order(client, service, "ORD-9", vendor_id="V-1")
    fraud = await file_fail_reason(client, ops, "ORD-9", "device_taken_without_payment")
    await verdict(client, ops, fraud["id"], "vendor")
    assert (await standing(client, service))["status"] == "deactivation_review"
    # Overriding the third strike's decision cannot undo a review a later decision opened:
    # the standing is the fold of what stays in force.
    overridden = await override(client, ops, held["id"], "failed_customer_fault")
    vendor = await standing(client, service)
    assert (vendor["status"], vendor["active_strikes"]) == ("deactivation_review", 3)
    # Three strikes still stand without the undone one: the hold it undid is kept.
    kept = [a for a in overridden["decision"]["actions"] if a["type"] == "hold_vendor"]
    assert kept == [{"type": "hold_vendor", "kept_because": "active_strikes", "active_strikes": 3}]


async def test_a_reversal_that_leaves_the_vendor_at_the_hold_count_keeps_it_on_hold(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    # Strikes from four vendor-fault verdicts; the third put the vendor on hold.
    decided = []
    for n in range(4):
        await put_order(client, service, f"ORD-{n}", vendor_id="V-1")
        case = await file_fail_reason(client, ops, f"ORD-{n}", "intentional_delay")
        decided.append(await verdict(client, ops, case["id"], "vendor"))
    assert (await standing(client, service))["status"] == "on_hold"
    # Undoing the third (the one that held) leaves three strikes: still the hold count.
    await override(client, ops, decided[2]["id"], "failed_customer_fault")
    vendor = await standing(client, service)
    assert (vendor["status"], vendor["active_strikes"]) == ("on_hold", 3)
    # A hold, once given, ends by the ops manager's release (as when strikes expire): undoing
    # one more strike leaves the vendor on hold with two.
    await override(client, ops, decided[3]["id"], "failed_customer_fault")
    vendor = await standing(client, service)
    assert (vendor["status"], vendor["active_strikes"]) == ("on_hold", 2)


async def test_override_of_a_proposal_decides_the_case(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    proposed = await file_fail_reason(client, ops, "ORD-1", "device_mismatch")
    case = await override(
        client, ops, proposed["id"], "failed_vendor_fault", {"type": "sla_strike"}
    )
    assert case["status"] == "resolved" and case["resolved_at"]
    assert case["ticket"]["status"] == "failed_vendor_fault"
    order = (await client.get("/v1/orders/ORD-1", headers=service)).json()
    assert order["status"] == "failed"
    entries = await ledger(client, service)
    assert [e["kind"] for e in entries] == ["sla_strike"]  # a proposal applied nothing
    assert (await standing(client, service))["active_strikes"] == 1
    late = await client.post(
        f"/v1/fail-reviews/{proposed['id']}/verdict",
        json={"fault": "customer", "checks": ["call_logs"]},
        headers=ops,
    )
    assert late.status_code == 409


async def test_each_override_reverses_only_the_decision_it_replaces(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    ruled = await decided_case(client, service, ops, "customer_changed_mind", "customer")
    await override(
        client,
        ops,
        ruled["id"],
        "failed_vendor_fault",
        {"type": "credit_fine", "amount": 10},
        {"type": "block_new_leads"},
        {"type": "reduce_max_leads", "by": 3},
        {"type": "flag_vendor", "reason": "lied_about_visit"},
    )
    vendor = await standing(client, service)
    assert (vendor["new_leads_blocked"], vendor["max_leads"]) == (True, 7)
    last = await override(
        client, ops, ruled["id"], "failed_customer_fault", {"type": "credit_refund", "amount": 40}
    )
    entries = await ledger(client, service)
    assert in_force(entries) == effects_of(last["decision"]["actions"]) == {"credit_refund": 40}
    settled = [e["settles_entry_id"] for e in entries if e["kind"] == "reversal"]
    assert len(settled) == len(set(settled)) == 5  # the refund once, the four actions once
    vendor = await standing(client, service)
    assert (vendor["credits_refunded"], vendor["credits_deducted"]) == (40, 0)
    assert (vendor["new_leads_blocked"], vendor["max_leads"]) == (False, 10)
    assert vendor["flags"] == []


async def test_money_already_paid_out_cannot_be_reversed(
    client: AsyncClient, service: Headers, ops: Headers, db_engine: AsyncEngine
) -> None:
    ruled = await decided_case(
        client,
        service,
        ops,
        "customer_changed_mind",
        "customer",
        vendor_paid_customer=True,
        amount_paid_to_customer=900_000,
    )
    [eligible] = [e for e in await ledger(client, service) if e["kind"] == "wallet_refund_eligible"]
    released = await client.post(
        f"/v1/wallet-refunds/{eligible['id']}/release", json={}, headers=ops
    )
    assert released.status_code == 200
    before = await row_counts(db_engine)
    response = await client.post(
        f"/v1/cases/{ruled['id']}/override",
        json={"outcome": "failed_vendor_fault", "reason": "x", "actions": [{"type": "sla_strike"}]},
        headers=ops,
    )
    assert response.status_code == 409
    assert eligible["id"] in response.json()["detail"]
    assert await row_counts(db_engine) == before
    assert (await standing(client, service))["credits_refunded"] == 40


async def test_a_withdrawn_wallet_refund_cannot_be_released(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    ruled = await decided_case(
        client,
        service,
        ops,
        "customer_changed_mind",
        "customer",
        vendor_paid_customer=True,
        amount_paid_to_customer=900_000,
    )
    [eligible] = [e for e in await ledger(client, service) if e["kind"] == "wallet_refund_eligible"]
    await override(client, ops, ruled["id"], "failed_vendor_fault", {"type": "sla_strike"})
    response = await client.post(
        f"/v1/wallet-refunds/{eligible['id']}/release", json={}, headers=ops
    )
    assert response.status_code == 409 and "reversed" in response.json()["detail"]


async def test_a_released_platform_payout_cannot_be_reversed(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    await put_completed_order(
        client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=90_000
    )
    dispute = await open_dispute(client, support, "ORD-1")
    await vendor_response(client, ops, dispute["id"], "not_paid")  # ₹900 released at once
    response = await client.post(
        f"/v1/cases/{dispute['id']}/override",
        json={"outcome": "resolved_paid", "reason": "x"},
        headers=ops,
    )
    assert response.status_code == 409 and "released" in response.json()["detail"]


async def test_override_of_a_complaint_takes_the_flag_back_and_resolves_it(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    await file_complaint(client, support)
    repeat = await file_complaint(client, support)
    assert len((await standing(client, service))["flags"]) == 1
    case = await override(
        client, ops, repeat["id"], "escalated_to_cx", {"type": "escalate", "to": "cx_team"}
    )
    assert (await standing(client, service))["flags"] == []
    # An override is a final decision: the complaint is resolved.
    assert case["status"] == "resolved" and case["ticket"]["status"] == "escalated_to_cx"
    assert case["ticket"]["priority"] == "normal"  # the ticket the rules opened stays
    assert in_force(await ledger(client, service)) == Counter()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "resolved_paid", "reason": "x"}, "outcome"),
        ({"outcome": "failed_vendor_fault"}, "reason"),
        ({"outcome": "failed_vendor_fault", "reason": " "}, "reason"),
        (
            {"outcome": "failed_vendor_fault", "reason": "x", "actions": [{"type": "nap"}]},
            "actions[0].type",
        ),
        (
            {"outcome": "failed_vendor_fault", "reason": "x", "actions": [{"amount": 5}]},
            "actions[0].type",
        ),
        (
            {"outcome": "failed_vendor_fault", "reason": "x", "actions": [{"type": "credit_fine"}]},
            "actions[0].amount",
        ),
        (
            {
                "outcome": "failed_vendor_fault",
                "reason": "x",
                "actions": [{"type": "credit_fine", "amount": -5}],
            },
            "actions[0].amount",
        ),
        (
            {
                "outcome": "failed_vendor_fault",
                "reason": "x",
                "actions": [{"type": "escalate", "to": "ceo"}],
            },
            "actions[0].to",
        ),
    ],
)
async def test_bad_overrides_are_named_and_change_nothing(
    client: AsyncClient,
    service: Headers,
    ops: Headers,
    db_engine: AsyncEngine,
    body: dict[str, Any],
    field: str,
) -> None:
    ruled = await decided_case(client, service, ops, "customer_changed_mind", "customer")
    before = await row_counts(db_engine)
    response = await client.post(f"/v1/cases/{ruled['id']}/override", json=body, headers=ops)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert await row_counts(db_engine) == before


async def test_a_case_without_vendor_takes_no_vendor_action(
    client: AsyncClient, support: Headers, ops: Headers, db_engine: AsyncEngine
) -> None:
    case = await file_complaint(client, support, order_id=None, lead_id="LEAD-1")
    before = await row_counts(db_engine)
    response = await client.post(
        f"/v1/cases/{case['id']}/override",
        json={
            "outcome": "escalated_to_cx",
            "reason": "x",
            "actions": [{"type": "escalate", "to": "cx_team"}, {"type": "hold_vendor"}],
        },
        headers=ops,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "actions[1].type"
    assert await row_counts(db_engine) == before
    fine = await override(
        client, ops, case["id"], "escalated_to_cx", {"type": "ticket_note", "text": "called"}
    )
    assert fine["notes"][-1]["text"] == "called"


@pytest.mark.parametrize("role", ["support", "service", "vendor"])
async def test_only_ops_overrides(
    client: AsyncClient, service: Headers, ops: Headers, make_key: KeyMaker, role: str
) -> None:
    ruled = await decided_case(client, service, ops, "customer_changed_mind", "customer")
    headers = await make_key(role, "V-1" if role == "vendor" else None)
    response = await client.post(
        f"/v1/cases/{ruled['id']}/override",
        json={"outcome": "failed_vendor_fault", "reason": "x"},
        headers=headers,
    )
    assert response.status_code == 403


async def test_unknown_case_is_404(client: AsyncClient, ops: Headers) -> None:
    response = await client.post(
        "/v1/cases/case_NOPE/override", json={"outcome": "x", "reason": "y"}, headers=ops
    )
    assert response.status_code == 404


async def test_a_payout_cancelled_by_an_override_cannot_be_approved(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    make_key: KeyMaker,
) -> None:
    manager = await make_key("ops_manager")
    finance = await make_key("finance_manager")
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=600_000)
    dispute = await open_dispute(client, support, "ORD-1")
    waiting = await vendor_response(client, ops, dispute["id"], "not_paid")
    assert waiting["status"] == "awaiting_approval"
    payout_id = next(
        e["id"] for e in await ledger(client, service) if e["kind"] == "platform_payout"
    )
    # At or above the threshold only an ops manager overrides.
    await override(client, manager, dispute["id"], "resolved_paid")  # cancels the payout
    payout = (await client.get(f"/v1/payouts/{payout_id}", headers=ops)).json()
    assert payout["status"] == "cancelled"
    approve = await client.post(f"/v1/payouts/{payout_id}/approve", json={}, headers=finance)
    assert approve.status_code == 409 and "cancelled" in approve.json()["detail"]
    assert not [e for e in await ledger(client, service) if e["kind"] == "payout_approved"]
