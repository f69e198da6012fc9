"""/v1/payouts/{id}: a platform payout of finance's size waits, and is approved or rejected
exactly once; smaller payouts were released with their decision."""

import asyncio

from httpx import AsyncClient

from tests.conftest import Headers, KeyMaker
from tests.factories import events_of, platform_payout

BODIES = {"approve": {"note": "checked"}, "reject": {"reason": "customer paid in cash"}}


async def test_approval_releases_a_waiting_payout_once(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    vendor: Headers,
    finance_manager: Headers,
) -> None:
    entry = await platform_payout(client, service, support, vendor)
    waiting = (await client.get(f"/v1/payouts/{entry['id']}", headers=vendor)).json()
    assert waiting["status"] == "pending_approval" and waiting["requires_approval"] is True
    assert waiting["amount"] == 750_000 and waiting["decision_id"] == entry["decision_id"]
    assert await events_of(client, service, type="payout.released") == []

    approved = await client.post(
        f"/v1/payouts/{entry['id']}/approve", json={"note": "checked"}, headers=finance_manager
    )
    assert approved.status_code == 200
    assert approved.json()["status"] == "released"
    assert approved.json()["settled_by"].startswith("finance_manager:")
    case = (await client.get(f"/v1/cases/{entry['case_id']}", headers=service)).json()
    assert case["status"] == "resolved" and case["ticket"]["status"] == "resolved_paid_by_platform"
    [released] = await events_of(client, service, type="payout.released")
    assert released["data"]["payout_id"] == entry["id"]
    assert released["data"]["amount"] == 750_000
    assert released["case_id"] == entry["case_id"]

    for action in ("approve", "reject"):
        again = await client.post(
            f"/v1/payouts/{entry['id']}/{action}", json=BODIES[action], headers=finance_manager
        )
        assert again.status_code == 409, action
        assert "already approved" in again.json()["detail"]
    ledger = (await client.get("/v1/vendors/V-1/ledger", headers=service)).json()["items"]
    settlements = [e for e in ledger if e["settles_entry_id"] == entry["id"]]
    assert [(e["kind"], e["details"]) for e in settlements] == [
        ("payout_approved", {"note": "checked"})
    ]
    assert len(await events_of(client, service, type="payout.released")) == 1


async def test_rejection_settles_a_waiting_payout_once(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    vendor: Headers,
    finance_manager: Headers,
) -> None:
    entry = await platform_payout(client, service, support, vendor)
    rejected = await client.post(
        f"/v1/payouts/{entry['id']}/reject",
        json={"reason": "customer confirmed cash payment"},
        headers=finance_manager,
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    [event] = await events_of(client, service, type="payout.rejected")
    assert event["data"]["payout_id"] == entry["id"]
    approve = await client.post(
        f"/v1/payouts/{entry['id']}/approve", json={}, headers=finance_manager
    )
    assert approve.status_code == 409 and "already rejected" in approve.json()["detail"]
    assert await events_of(client, service, type="payout.released") == []


async def test_simultaneous_approve_and_reject_settle_once(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    vendor: Headers,
    finance_manager: Headers,
) -> None:
    entry = await platform_payout(client, service, support, vendor)
    answers = await asyncio.gather(
        *(
            client.post(
                f"/v1/payouts/{entry['id']}/{action}", json=BODIES[action], headers=finance_manager
            )
            for action in ("approve", "reject", "approve", "reject")
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409]
    ledger = (await client.get("/v1/vendors/V-1/ledger", headers=service)).json()["items"]
    assert len([e for e in ledger if e["settles_entry_id"] == entry["id"]]) == 1


async def test_a_payout_below_the_threshold_was_released_with_its_decision(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    vendor: Headers,
    finance_manager: Headers,
) -> None:
    entry = await platform_payout(client, service, support, vendor, invoice=499_999)
    payout = (await client.get(f"/v1/payouts/{entry['id']}", headers=finance_manager)).json()
    assert payout["status"] == "released" and payout["requires_approval"] is False
    approve = await client.post(
        f"/v1/payouts/{entry['id']}/approve", json={}, headers=finance_manager
    )
    assert approve.status_code == 409 and "needed no approval" in approve.json()["detail"]


async def test_only_the_finance_manager_settles_payouts_and_bad_ids_are_404(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    vendor: Headers,
    finance_manager: Headers,
    make_key: KeyMaker,
) -> None:
    entry = await platform_payout(client, service, support, vendor)
    ops, ops_manager = await make_key("ops"), await make_key("ops_manager")
    for action in ("approve", "reject"):
        path = f"/v1/payouts/{entry['id']}/{action}"
        for headers in (vendor, support, service, ops, ops_manager):
            denied = await client.post(path, json=BODIES[action], headers=headers)
            assert denied.status_code == 403
            assert "allowed: finance_manager." in denied.json()["detail"]
    other = await make_key("vendor", "V-2")
    assert (await client.get(f"/v1/payouts/{entry['id']}", headers=other)).status_code == 403
    no_reason = await client.post(
        f"/v1/payouts/{entry['id']}/reject", json={}, headers=finance_manager
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"
    ledger = (await client.get("/v1/vendors/V-1/ledger", headers=service)).json()["items"]
    fine = next(e for e in ledger if e["kind"] == "credit_fine")
    for payout_id in ("le_NOPE", fine["id"]):
        response = await client.post(
            f"/v1/payouts/{payout_id}/approve", json={}, headers=finance_manager
        )
        assert response.status_code == 404
