"""Overrides and money that has left: a released payout or wallet refund is never taken
back, and a payout or refund an override cancelled can no longer leave."""

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.overriding import decided_case, overridden
from tests.conftest import Headers, KeyMaker
from tests.db import row_counts
from tests.factories import (
    ledger,
    open_dispute,
    put_completed_order,
    standing,
    vendor_response,
)


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
    await overridden(client, ops, ruled["id"], "failed_vendor_fault", {"type": "sla_strike"})
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
    await overridden(client, manager, dispute["id"], "resolved_paid")  # cancels the payout
    payout = (await client.get(f"/v1/payouts/{payout_id}", headers=ops)).json()
    assert payout["status"] == "cancelled"
    approve = await client.post(f"/v1/payouts/{payout_id}/approve", json={}, headers=finance)
    assert approve.status_code == 409 and "cancelled" in approve.json()["detail"]
    assert not [e for e in await ledger(client, service) if e["kind"] == "payout_approved"]
