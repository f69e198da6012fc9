"""POST /v1/vendors/{id}/standing: the ops manager changes a vendor's standing, each change
an entry of the vendor's ledger, and the standing stays the fold of that ledger."""

from typing import Any

from httpx import AsyncClient

from tests.conftest import Headers, KeyMaker
from tests.factories import (
    file_fail_reason,
    open_dispute,
    put_completed_order,
    put_order,
    standing,
    vendor_response,
    verdict,
)


async def change(
    client: AsyncClient, headers: Headers, action: str, reason: str = "reviewed"
) -> Any:
    return await client.post(
        "/v1/vendors/V-1/standing", json={"action": action, "reason": reason}, headers=headers
    )


async def blocked_vendor(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    """The vendor denies a dispute: escalated, and blocked from new leads."""
    await put_completed_order(client, service, "ORD-1", vendor_id="V-1")
    case = await open_dispute(client, support, "ORD-1")
    await vendor_response(client, ops, case["id"], "denies")


async def held_vendor(client: AsyncClient, service: Headers, ops: Headers) -> None:
    """A fraud verdict: on hold and up for deactivation review at once."""
    await put_order(client, service, "ORD-9", vendor_id="V-1")
    case = await file_fail_reason(client, ops, "ORD-9", "offline_payment_attempt")
    await verdict(client, ops, case["id"], "vendor")


async def test_unblock_lifts_the_block_once_with_the_managers_name(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    make_key: KeyMaker,
) -> None:
    manager = await make_key("ops_manager")
    await blocked_vendor(client, service, support, ops)
    before = await standing(client, service)
    assert before["new_leads_blocked"] is True and before["receives_new_leads"] is False

    cleared = await change(client, manager, "unblock", "paid the customer back")
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["new_leads_blocked"] is False
    assert cleared.json()["receives_new_leads"] is True
    ledger = (await client.get("/v1/vendors/V-1/ledger", headers=service)).json()["items"]
    [unblock] = [e for e in ledger if e["kind"] == "unblock_new_leads"]
    assert unblock["created_by"].startswith("ops_manager:")
    assert unblock["details"] == {"reason": "paid the customer back"}
    assert unblock["decision_id"] is None
    feed = (await client.get("/v1/events", headers=service)).json()["items"]
    [event] = [e for e in feed if e["type"] == "vendor.new_leads_unblocked"]
    assert event["vendor_id"] == "V-1" and event["data"]["entry_id"] == unblock["id"]
    assert event["data"]["reason"] == "paid the customer back"

    again = await change(client, manager, "unblock")
    assert again.status_code == 409 and "not blocked" in again.json()["detail"]


async def test_a_hold_is_released_and_a_review_concluded(
    client: AsyncClient, service: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    manager = await make_key("ops_manager")
    await held_vendor(client, service, ops)
    assert (await standing(client, service))["status"] == "deactivation_review"
    # Not on hold any more (the review is worse): releasing a hold does not apply.
    refused = await change(client, manager, "release_hold")
    assert refused.status_code == 409 and "not on hold" in refused.json()["detail"]

    deactivated = await change(client, manager, "deactivate", "confirmed offline payments")
    assert deactivated.json()["status"] == "deactivated"
    assert deactivated.json()["receives_new_leads"] is False
    assert (await change(client, manager, "deactivate")).status_code == 409
    reinstated = await change(client, manager, "reinstate", "appeal upheld")
    assert reinstated.json()["status"] == "active"
    assert reinstated.json()["receives_new_leads"] is True
    assert (await change(client, manager, "reinstate")).status_code == 409
    feed = (await client.get("/v1/events", headers=service)).json()["items"]
    changes = [
        (e["data"]["previous"], e["data"]["status"])
        for e in feed
        if e["type"] == "vendor.status_changed"
    ]
    assert changes == [
        ("active", "deactivation_review"),
        ("deactivation_review", "deactivated"),
        ("deactivated", "active"),
    ]


async def test_release_hold_and_restore_max_leads_and_clear_flags(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    make_key: KeyMaker,
) -> None:
    manager = await make_key("ops_manager")
    vendor = await make_key("vendor", "V-1")
    # Three vendor-fault verdicts: on hold at the third strike.
    for n in range(3):
        await put_order(client, service, f"ORD-F{n}", vendor_id="V-1")
        case = await file_fail_reason(client, vendor, f"ORD-F{n}", "vendor_not_visiting")
        await verdict(client, ops, case["id"], "vendor")
    assert (await standing(client, service))["status"] == "on_hold"
    released = await change(client, manager, "release_hold", "trained")
    assert released.json()["status"] == "active"

    # Two lost disputes: the second flags the vendor and lowers its max leads.
    for order_id in ("ORD-1", "ORD-2"):
        await put_completed_order(client, service, order_id, vendor_id="V-1")
        case = await open_dispute(client, support, order_id)
        await vendor_response(client, vendor, case["id"], "not_paid")
    before = await standing(client, service)
    assert before["max_leads"] == 9 and before["flags"]
    restored = await change(client, manager, "restore_max_leads")
    assert restored.json()["max_leads"] == restored.json()["base_max_leads"] == 10
    assert (await change(client, manager, "restore_max_leads")).status_code == 409
    cleared = await change(client, manager, "clear_flags")
    assert cleared.json()["flags"] == []
    assert (await change(client, manager, "clear_flags")).status_code == 409


async def test_only_the_ops_manager_changes_standing_with_a_reason(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    make_key: KeyMaker,
) -> None:
    manager = await make_key("ops_manager")
    await blocked_vendor(client, service, support, ops)
    vendor = await make_key("vendor", "V-1")
    for headers in (vendor, support, service, ops, await make_key("finance_manager")):
        assert (await change(client, headers, "unblock")).status_code == 403
    missing = await client.post(
        "/v1/vendors/V-1/standing", json={"action": "unblock"}, headers=manager
    )
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "reason"
    bogus = await change(client, manager, "pardon")
    assert bogus.status_code == 422 and bogus.json()["errors"][0]["field"] == "action"
    unknown = await client.post(
        "/v1/vendors/V-404/standing", json={"action": "unblock", "reason": "x"}, headers=manager
    )
    assert unknown.status_code == 404
    assert (await standing(client, service))["new_leads_blocked"] is True
