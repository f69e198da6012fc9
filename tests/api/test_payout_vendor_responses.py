"""POST /v1/payout-disputes/{id}/vendor-response: every row of the payout-dispute table the
vendor's answer decides (docs/payout-disputes.md), with its boundaries, each applied once."""

import pytest
from httpx import AsyncClient

from tests.api.disputing import INVOICE, PROOF, dispute, kinds
from tests.conftest import Headers, http_client, running_app, suite_settings
from tests.factories import (
    events_of,
    ledger,
    open_dispute,
    put_completed_order,
    vendor_response,
)


async def test_paid_in_full_with_proof_resolves_paid_and_attaches_the_proof(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    case_id = await dispute(client, service, support)
    case = await vendor_response(client, vendor, case_id, "paid_full", method="upi", proof=PROOF)
    assert case["status"] == "resolved" and case["resolved_at"]
    assert case["ticket"]["status"] == "resolved_paid"
    assert case["decision"]["stage"] == "final"
    assert case["decision"]["outcome"] == "resolved_paid"
    assert case["notes"] == [
        {"text": "Vendor paid in full; proof attached: payment_proof UPI-4821-XY", "by": "rules"}
    ]
    assert case["details"]["vendor_responses"][0]["proof"] == PROOF
    assert case["details"]["vendor_responses"][0]["amount_paid"] == INVOICE
    assert [(d["kind"], d["outcome"]) for d in case["deadlines"]] == [
        ("vendor_response", "met"),
        ("customer_update", "cancelled"),
        ("resolution", "met"),
    ]
    assert await kinds(client, service) == []
    notices = [
        n["data"]["template"]
        for n in await events_of(client, service, type="notification.requested")
    ]
    assert notices == [
        "payout_dispute_acknowledged",
        "payout_dispute_opened",
        "payout_dispute_resolved_paid",  # the vendor's
        "payout_dispute_resolved",  # the customer's
    ]


async def test_paid_in_full_without_proof_asks_for_proof_then_resolves_with_it(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    case_id = await dispute(client, service, support)
    waiting = await vendor_response(client, vendor, case_id, "paid_full", method="cash")
    assert waiting["status"] == "awaiting_vendor"
    assert waiting["ticket"]["status"] == "awaiting_vendor"
    assert waiting["decision"]["stage"] == "interim"
    assert waiting["decision"]["outcome"] == "awaiting_vendor"
    # The clock keeps running: not settled, not moved.
    assert waiting["deadlines"][0]["outcome"] is None
    assert waiting["vendor_response_due_at"] == waiting["deadlines"][0]["due_at"]
    notices = await events_of(client, service, type="notification.requested")
    assert notices[-1]["data"]["audience"] == "vendor"
    assert notices[-1]["data"]["template"] == "payout_dispute_proof_requested"
    assert notices[-1]["vendor_id"] == "V-1"

    resolved = await vendor_response(client, vendor, case_id, "paid_full", proof=PROOF)
    assert resolved["ticket"]["status"] == "resolved_paid"
    assert resolved["decision"]["supersedes"] == waiting["decision"]["id"]
    assert resolved["deadlines"][0]["outcome"] == "met"
    assert resolved["deadlines"][0]["due_at"] == waiting["deadlines"][0]["due_at"]
    assert len(resolved["details"]["vendor_responses"]) == 2


@pytest.mark.parametrize("kind", ["bill_screenshot", "app_screen", "other"])
async def test_only_a_payment_proof_proves_a_payment(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers, kind: str
) -> None:
    """A bill or an app screen shows what was owed, not that it was paid: the answer waits
    for a payment proof, and the evidence stays on the case."""
    case_id = await dispute(client, service, support, claim="paid_less", amount_received=100_000)
    shown = {"kind": kind, "ref": "file-12"}
    waiting = await vendor_response(client, vendor, case_id, "paid_full", proof=shown)
    assert waiting["status"] == "awaiting_vendor", waiting["decision"]
    assert waiting["decision"]["facts"]["has_proof"] is False
    assert waiting["details"]["vendor_responses"][0]["proof"] == shown
    assert [k for k, _ in await kinds(client, service)] == []


@pytest.mark.parametrize(
    ("covered", "battery"), [(50_000, "₹200"), (50_001, "₹200.01"), (80_000, "₹500")]
)
async def test_pickup_notes_covering_the_whole_shortfall_are_a_valid_deduction(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    vendor: Headers,
    covered: int,
    battery: str,
) -> None:
    notes = [
        {"reason": "screen_damage", "amount": 30_000, "note": "cracked corner"},
        {"reason": "battery_issue", "amount": covered - 30_000},
    ]
    case_id = await dispute(
        client, service, support, notes=notes, claim="paid_less", amount_received=100_000
    )
    case = await vendor_response(
        client,
        vendor,
        case_id,
        "paid_partial",
        amount_paid=100_000,
        deduction_reason="screen_damage",
    )
    assert case["ticket"]["status"] == "resolved_valid_deduction"
    assert case["status"] == "resolved"
    assert case["notes"][0]["text"] == (
        "Valid deduction of ₹500 recorded at pickup: "
        f"screen_damage (₹300), battery_issue ({battery})"
    )
    assert case["decision"]["facts"]["justified_amount"] == 50_000
    assert await kinds(client, service) == []  # no payout, no fine, no flag
    assert await events_of(client, service, type="payout.released") == []


async def test_notes_short_by_one_paisa_make_the_platform_pay_one_paisa(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    notes = [{"reason": "body_damage", "amount": 49_999}]
    case_id = await dispute(
        client, service, support, notes=notes, claim="paid_less", amount_received=100_000
    )
    case = await vendor_response(client, vendor, case_id, "paid_partial", amount_paid=100_000)
    assert case["ticket"]["status"] == "resolved_paid_by_platform"
    assert case["notes"][0]["text"] == (
        "Paid ₹0.01 short without reason – Cashkr covered difference"
    )
    decision_id = case["decision"]["id"]
    entries = await ledger(client, service)
    assert [(e["kind"], e["amount"], e["decision_id"]) for e in entries] == [
        ("credit_fine", 50, decision_id),  # lead credits, whatever the rupee shortfall
        ("flag_vendor", None, decision_id),
        ("platform_payout", 1, decision_id),
    ]
    assert entries[2]["details"] == {
        "requires_approval": False,
        "status": "released",
        "decided_by_name": "test vendor",  # who answered: never its approver
    }
    [released] = await events_of(client, service, type="payout.released")
    assert released["data"] == {"payout_id": entries[2]["id"], "amount": 1}
    standing = (await client.get("/v1/vendors/V-1", headers=service)).json()
    assert standing["credits_deducted"] == 50
    assert standing["flags"] == [{"reason": "paid_short_without_reason", "case_id": case["id"]}]


async def test_a_note_recorded_after_the_dispute_opened_justifies_nothing(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    case_id = await dispute(client, service, support, claim="paid_less", amount_received=100_000)
    late = [{"reason": "screen_damage", "amount": 50_000}]
    await put_completed_order(
        client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=INVOICE, pickup_notes=late
    )
    case = await vendor_response(
        client,
        vendor,
        case_id,
        "paid_partial",
        amount_paid=100_000,
        deduction_reason="screen_damage",
    )
    assert case["ticket"]["status"] == "resolved_paid_by_platform"
    assert case["decision"]["facts"]["justified_amount"] == 0
    assert ("platform_payout", 50_000) in await kinds(client, service)


async def test_a_note_without_a_valid_reason_justifies_nothing(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    notes = [{"reason": "customer_haggled", "amount": 50_000}]
    case_id = await dispute(
        client, service, support, notes=notes, claim="paid_less", amount_received=100_000
    )
    case = await vendor_response(client, vendor, case_id, "paid_partial", amount_paid=100_000)
    assert case["ticket"]["status"] == "resolved_paid_by_platform"
    assert case["notes"][0]["text"] == (
        "Paid ₹500 short without reason – Cashkr covered difference"
    )


async def test_paid_less_with_part_justified_pays_and_fines_only_the_rest(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    notes = [{"reason": "missing_accessories", "amount": 20_000}]
    case_id = await dispute(
        client, service, support, notes=notes, claim="paid_less", amount_received=100_000
    )
    case = await vendor_response(client, vendor, case_id, "paid_partial", amount_paid=100_000)
    assert await kinds(client, service) == [
        ("credit_fine", 50),
        ("flag_vendor", None),
        ("platform_payout", 30_000),
    ]
    facts = case["decision"]["facts"]
    assert (facts["shortfall"], facts["justified_amount"], facts["unjustified_amount"]) == (
        50_000,
        20_000,
        30_000,
    )


async def test_vendor_did_not_pay_platform_pays_the_invoice(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    case_id = await dispute(client, service, support)
    case = await vendor_response(client, vendor, case_id, "not_paid")
    assert case["ticket"]["status"] == "resolved_paid_by_platform"
    assert case["notes"][0]["text"] == "Vendor did not pay – Cashkr paid the customer ₹1,500"
    assert await kinds(client, service) == [
        ("credit_fine", 100),
        ("flag_vendor", None),
        ("platform_payout", INVOICE),
    ]
    standing = (await client.get("/v1/vendors/V-1", headers=service)).json()
    assert standing["new_leads_blocked"] is False  # not a repeat vendor
    assert standing["flags"][0]["reason"] == "customer_not_paid"


async def test_not_paid_on_a_paid_less_claim_pays_what_the_customer_is_owed(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    # The customer said it received ₹1,000; the vendor says it paid nothing. The customer's
    # own figure stands: the platform pays the ₹500 still owed, not the whole invoice.
    case_id = await dispute(client, service, support, claim="paid_less", amount_received=100_000)
    case = await vendor_response(client, vendor, case_id, "not_paid")
    assert case["decision"]["facts"]["counted_paid"] == 100_000
    assert ("platform_payout", 50_000) in await kinds(client, service)


async def test_repeat_vendor_that_did_not_pay_is_also_blocked_from_new_leads(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    await put_completed_order(client, service, "ORD-A", vendor_id="V-1")
    earlier = await open_dispute(client, support, "ORD-A")
    await vendor_response(client, vendor, earlier["id"], "not_paid")  # lost
    case_id = await dispute(client, service, support)
    case = await vendor_response(client, vendor, case_id, "not_paid")
    assert "repeat_vendor_not_paying_blocked_and_escalated" in case["decision"]["rules_fired"]
    standing = (await client.get("/v1/vendors/V-1", headers=service)).json()
    assert standing["new_leads_blocked"] is True
    assert standing["max_leads"] == 9  # a repeat decided against: reduced once
    blocked = await events_of(client, service, type="vendor.new_leads_blocked")
    assert [e["case_id"] for e in blocked] == [case_id]
    block = [e for e in await ledger(client, service) if e["kind"] == "block_new_leads"]
    assert [e["decision_id"] for e in block] == [case["decision"]["id"]]


@pytest.mark.parametrize(
    ("invoice", "needs_approval"), [(499_999, False), (500_000, True), (500_001, True)]
)
async def test_invoice_payout_waits_for_finance_from_the_threshold(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    vendor: Headers,
    invoice: int,
    needs_approval: bool,
) -> None:
    case_id = await dispute(client, service, support, invoice=invoice)
    case = await vendor_response(client, vendor, case_id, "not_paid")
    [payout] = [e for e in await ledger(client, service) if e["kind"] == "platform_payout"]
    assert payout["amount"] == invoice
    assert payout["details"] == {
        "requires_approval": needs_approval,
        "status": "pending_approval" if needs_approval else "released",
        "decided_by_name": "test vendor",
    }
    released = await events_of(client, service, type="payout.released")
    assert len(released) == (0 if needs_approval else 1)
    # The dispute went to finance when it opened; the payout does not tell finance twice.
    assert case["escalations"] == ([{"to": "finance_manager"}] if needs_approval else [])
    assert len(await events_of(client, service, type="case.escalated")) == (
        1 if needs_approval else 0
    )


@pytest.mark.parametrize(("unjustified", "needs_approval"), [(499_999, False), (500_000, True)])
async def test_balance_payout_waits_for_finance_from_the_threshold(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    vendor: Headers,
    unjustified: int,
    needs_approval: bool,
) -> None:
    # ₹10,000 short, of which the pickup notes explain all but `unjustified`.
    notes = [{"reason": "different_model", "amount": 1_000_000 - unjustified}]
    case_id = await dispute(
        client,
        service,
        support,
        invoice=2_000_000,
        notes=notes,
        claim="paid_less",
        amount_received=1_000_000,
    )
    case = await vendor_response(client, vendor, case_id, "paid_partial", amount_paid=1_000_000)
    [payout] = [e for e in await ledger(client, service) if e["kind"] == "platform_payout"]
    assert payout["amount"] == unjustified
    assert payout["details"]["requires_approval"] is needs_approval
    assert len(await events_of(client, service, type="payout.released")) == (
        0 if needs_approval else 1
    )
    assert case["escalations"] == [{"to": "finance_manager"}]  # disputed ₹10,000 at opening


async def test_the_fine_is_the_policy_credits_whatever_the_shortfall(
    database_url: str,
    service: Headers,
    support: Headers,
    vendor: Headers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POLICY_SHORT_PAYMENT_FINE_CREDITS", "7")
    settings = suite_settings()
    async with running_app(settings, database_url) as app, http_client(app) as client:
        case_id = await dispute(
            client, service, support, claim="paid_less", amount_received=INVOICE - 3
        )
        case = await vendor_response(
            client, vendor, case_id, "paid_partial", amount_paid=INVOICE - 3
        )
        assert case["decision"]["policy"]["short_payment_fine_credits"] == 7
        assert await kinds(client, service) == [
            ("credit_fine", 7),
            ("flag_vendor", None),
            ("platform_payout", 3),
        ]
