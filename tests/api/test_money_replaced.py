"""A new decision of a case replaces what the earlier ones made, read with the case's rows
(app.cases.case_rows) rather than at the decision: overrides one after another, finance's
approval and rejection, the ops manager's decisions, released wallet refunds and payment
records on the same order. Every money and state invariant holds after each step."""

from typing import Any

import pytest
from httpx import AsyncClient

from tests.conftest import Headers
from tests.factories import (
    HIGH,
    SMALL,
    answered,
    file_fail_reason,
    ledger,
    open_dispute,
    override,
    paid_out,
    payment_record,
    payout,
    post_records,
    put_completed_order,
    put_order,
    vendor_response,
    verdict,
    waiting_payouts,
)
from tests.reliability.money_invariants import holds


async def _refund_owed(client: AsyncClient, service: Headers, ops: Headers) -> dict[str, Any]:
    """A fail review decided for the customer whom the vendor had paid: a wallet refund is
    owed to the vendor."""
    await put_order(client, service, "ORD-1", vendor_id="V-1", unlock_credits=40)
    case = await file_fail_reason(
        client,
        ops,
        "ORD-1",
        "customer_changed_mind",
        vendor_paid_customer=True,
        amount_paid_to_customer=900_000,
    )
    await verdict(client, ops, case["id"], "customer", vendor_paid_customer=True)
    return case


async def test_overrides_one_after_another_on_a_fail_reason_with_a_wallet_refund(
    client: AsyncClient,
    service: Headers,
    ops: Headers,
    ops_manager: Headers,
    database_url: str,
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1", unlock_credits=40)
    case = await file_fail_reason(
        client,
        ops,
        "ORD-1",
        "customer_changed_mind",
        vendor_paid_customer=True,
        amount_paid_to_customer=900_000,
    )
    await holds(database_url)
    await verdict(client, ops, case["id"], "customer", vendor_paid_customer=True)
    await holds(database_url)
    steps: list[tuple[Headers, str, list[dict[str, Any]]]] = [
        (ops, "failed_vendor_fault", [{"type": "sla_strike"}]),
        (ops, "failed_customer_fault", [{"type": "credit_refund", "amount": 40}]),
        (ops_manager, "failed_vendor_fault", [{"type": "sla_strike"}]),
        (ops_manager, "failed_customer_fault", [{"type": "credit_refund", "amount": 40}]),
        (ops_manager, "failed_vendor_fault", []),
    ]
    for who, outcome, actions in steps:
        answered(await override(client, who, case["id"], outcome, *actions))
        await holds(database_url)
    entries = await ledger(client, service)
    reversed_ = [e["settles_entry_id"] for e in entries if e["kind"] == "reversal"]
    assert len(reversed_) == len(set(reversed_))


async def test_a_released_wallet_refund_blocks_every_later_override(
    client: AsyncClient,
    service: Headers,
    ops: Headers,
    ops_manager: Headers,
    database_url: str,
) -> None:
    case = await _refund_owed(client, service, ops)
    [eligible] = [e for e in await ledger(client, service) if e["kind"] == "wallet_refund_eligible"]
    answered(
        await client.post(f"/v1/wallet-refunds/{eligible['id']}/release", json={}, headers=ops)
    )
    await holds(database_url)
    for who in (ops, ops_manager, ops):
        refused = await override(client, who, case["id"], "failed_vendor_fault")
        assert refused.status_code == 409, refused.text
        await holds(database_url)


@pytest.mark.parametrize("finance_says", ["approve", "reject"])
async def test_finance_then_overrides_then_manager_on_a_dispute(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    ops_manager: Headers,
    finance_manager: Headers,
    database_url: str,
    finance_says: str,
) -> None:
    await put_completed_order(client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=HIGH)
    case = await open_dispute(client, support, "ORD-1")
    await vendor_response(client, ops, case["id"], "not_paid")
    await holds(database_url)
    [waiting] = await waiting_payouts(client, finance_manager)
    body = {} if finance_says == "approve" else {"reason": "not owed"}
    answered(
        await client.post(
            f"/v1/payouts/{waiting['id']}/{finance_says}", json=body, headers=finance_manager
        )
    )
    await holds(database_url)
    if finance_says == "approve":
        for outcome, actions in (("resolved_paid", []), ("resolved_paid_by_platform", [payout(1)])):
            refused = await override(client, ops_manager, case["id"], outcome, *actions)
            assert refused.status_code in (403, 409), refused.text
            await holds(database_url)
        assert paid_out(await ledger(client, service)) == HIGH
        return
    # Rejected: escalated to the ops manager, who decides; then overrides one after another.
    decided = await client.post(
        f"/v1/payout-disputes/{case['id']}/manager-decision",
        json={
            "finding": "vendor_at_fault",
            "amount_received": 0,
            "lift_block": True,
            "note": "checked",
        },
        headers=ops_manager,
    )
    assert decided.status_code == 200, decided.text
    await holds(database_url)
    for outcome, actions in (
        ("resolved_paid_by_platform", [payout(HIGH)]),
        ("resolved_paid_by_platform", [payout(HIGH - 1)]),
        ("resolved_paid", []),
        ("resolved_paid_by_platform", [payout(HIGH)]),
    ):
        answered(await override(client, ops_manager, case["id"], outcome, *actions), 200, 409)
        await holds(database_url)
        assert paid_out(await ledger(client, service)) <= HIGH
    for waiting in await waiting_payouts(client, finance_manager):
        other = await client.post(
            f"/v1/payouts/{waiting['id']}/approve", json={}, headers=finance_manager
        )
        assert other.status_code in (200, 403, 409), other.text
        await holds(database_url)
    assert paid_out(await ledger(client, service)) <= HIGH


async def test_a_small_payout_left_with_its_decision_cannot_be_overridden_or_paid_again(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    ops_manager: Headers,
    database_url: str,
) -> None:
    await put_completed_order(client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=SMALL)
    case = await open_dispute(client, support, "ORD-1")
    answered(await override(client, ops, case["id"], "resolved_paid_by_platform", payout(SMALL)))
    await holds(database_url)
    for who in (ops, ops_manager):
        again = await override(client, who, case["id"], "resolved_paid_by_platform", payout(SMALL))
        assert again.status_code in (403, 409), again.text
        await holds(database_url)
    assert paid_out(await ledger(client, service)) == SMALL


async def test_a_wallet_refund_then_a_payment_discrepancy_on_the_same_order(
    client: AsyncClient,
    service: Headers,
    ops: Headers,
    ops_manager: Headers,
    database_url: str,
) -> None:
    case = await _refund_owed(client, service, ops)
    await post_records(
        client, service, payment_record("ORD-1", "PAY-1", 900_000, direction="to_customer")
    )
    await holds(database_url)
    answered(await override(client, ops_manager, case["id"], "failed_vendor_fault"))
    await holds(database_url)
    answered(await override(client, ops, case["id"], "failed_customer_fault"), 200, 403)
    await holds(database_url)


# --- races -------------------------------------------------------------------------------
