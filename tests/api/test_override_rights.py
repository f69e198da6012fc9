"""POST /v1/cases/{id}/override: what only an ops manager may decide by hand.

Lifting a vendor's block on new leads is the ops manager's (docs/people.md); an ops
override of any case of the vendor must not do it behind the manager's back.
"""

from httpx import AsyncClient

from tests.conftest import Headers
from tests.factories import (
    complaint_body,
    open_dispute,
    override,
    put_completed_order,
    put_order,
    standing,
)

UNBLOCK = {"type": "unblock_new_leads"}


async def _blocked_vendor_with_a_complaint(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, ops_manager: Headers
) -> str:
    """V-1 blocked from new leads by the manager's decision (block kept), and a pickup
    complaint of another of its orders, open."""
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=150_000)
    await put_order(client, service, "ORD-2")
    dispute = await open_dispute(client, support, "ORD-1")
    denied = await client.post(
        f"/v1/payout-disputes/{dispute['id']}/vendor-response",
        json={"response": "denies"},
        headers=ops,
    )
    assert denied.status_code == 200, denied.text
    kept = await client.post(
        f"/v1/payout-disputes/{dispute['id']}/manager-decision",
        json={"finding": "vendor_paid_full", "amount_received": 150_000, "lift_block": False},
        headers=ops_manager,
    )
    assert kept.status_code == 200, kept.text
    assert (await standing(client, ops))["new_leads_blocked"] is True
    complaint = await client.post(
        "/v1/pickup-complaints", json=complaint_body(order_id="ORD-2"), headers=support
    )
    assert complaint.status_code == 201, complaint.text
    case_id: str = complaint.json()["id"]
    return case_id


async def test_ops_cannot_lift_a_block_through_an_override(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, ops_manager: Headers
) -> None:
    case_id = await _blocked_vendor_with_a_complaint(client, service, support, ops, ops_manager)
    before = (await client.get(f"/v1/cases/{case_id}", headers=ops)).json()
    refused = await override(client, ops, case_id, "escalated_to_cx", UNBLOCK)
    assert refused.status_code == 403, refused.text
    assert "actions[0].type" in refused.json()["detail"]
    assert (await standing(client, ops))["new_leads_blocked"] is True
    # Nothing of the refused override was written.
    assert (await client.get(f"/v1/cases/{case_id}", headers=ops)).json() == before


async def test_the_ops_manager_may_lift_it_in_an_override(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, ops_manager: Headers
) -> None:
    case_id = await _blocked_vendor_with_a_complaint(client, service, support, ops, ops_manager)
    lifted = await override(client, ops_manager, case_id, "escalated_to_cx", UNBLOCK)
    assert lifted.status_code == 200, lifted.text
    assert (await standing(client, ops))["new_leads_blocked"] is False
