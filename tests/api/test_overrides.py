"""POST /v1/cases/{id}/override: ops decides instead of the rules, the rules' decision stays
on record superseded, and the ledger follows the decision in force."""

from collections import Counter

from httpx import AsyncClient

from tests.api.overriding import decided_case, effects_of, in_force, overridden
from tests.conftest import Headers
from tests.factories import (
    file_complaint,
    file_fail_reason,
    ledger,
    put_order,
    standing,
    verdict,
)


async def test_override_of_a_refund_leaves_a_ledger_summing_to_the_new_decision(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    ruled = await decided_case(client, service, ops, "customer_changed_mind", "customer")
    [refund] = await ledger(client, service)
    assert (refund["kind"], refund["amount"]) == ("credit_refund", 40)
    assert (await standing(client, service))["credits_refunded"] == 40

    case = await overridden(
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
    case = await overridden(client, ops, ruled["id"], "failed_vendor_fault", {"type": "sla_strike"})
    decision = case["decision"]
    assert decision["stage"] == "final" and decision["outcome"] == "failed_vendor_fault"
    assert decision["decided_by"]["kind"] == "ops_override"
    assert decision["decided_by"]["actor"].startswith("ops:")
    assert decision["decided_by"]["reason"] == "checked by phone"
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
    case = await overridden(
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
    undone = await overridden(client, ops, held["id"], "failed_customer_fault")
    vendor = await standing(client, service)
    assert (vendor["status"], vendor["active_strikes"]) == ("deactivation_review", 3)
    # Three strikes still stand without the undone one: the hold it undid is kept.
    kept = [a for a in undone["decision"]["actions"] if a["type"] == "hold_vendor"]
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
    await overridden(client, ops, decided[2]["id"], "failed_customer_fault")
    vendor = await standing(client, service)
    assert (vendor["status"], vendor["active_strikes"]) == ("on_hold", 3)
    # A hold, once given, ends by the ops manager's release (as when strikes expire): undoing
    # one more strike leaves the vendor on hold with two.
    await overridden(client, ops, decided[3]["id"], "failed_customer_fault")
    vendor = await standing(client, service)
    assert (vendor["status"], vendor["active_strikes"]) == ("on_hold", 2)


async def test_override_of_a_proposal_decides_the_case(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    proposed = await file_fail_reason(client, ops, "ORD-1", "device_mismatch")
    case = await overridden(
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
    await overridden(
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
    last = await overridden(
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


async def test_override_of_a_complaint_takes_the_flag_back_and_resolves_it(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    await file_complaint(client, support)
    repeat = await file_complaint(client, support)
    assert len((await standing(client, service))["flags"]) == 1
    case = await overridden(
        client, ops, repeat["id"], "escalated_to_cx", {"type": "escalate", "to": "cx_team"}
    )
    assert (await standing(client, service))["flags"] == []
    # An override is a final decision: the complaint is resolved.
    assert case["status"] == "resolved" and case["ticket"]["status"] == "escalated_to_cx"
    assert case["ticket"]["priority"] == "normal"  # the ticket the rules opened stays
    assert in_force(await ledger(client, service)) == Counter()
