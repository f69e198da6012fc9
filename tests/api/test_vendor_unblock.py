"""POST /v1/vendors/{id}/unblock: a manager clears a block on new leads, on the ledger, once."""

from typing import Any

from httpx import AsyncClient

from tests.conftest import Headers, KeyMaker
from tests.factories import open_dispute, put_order, vendor_response


async def block_repeat_vendor(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> dict[str, Any]:
    """Three disputes; the vendor admits it did not pay the third: blocked from new leads."""
    case: dict[str, Any] = {}
    for order_id in ("ORD-1", "ORD-2", "ORD-3"):
        await put_order(client, service, order_id, vendor_id="V-1")
        case = await open_dispute(client, support, order_id)
    decided = await vendor_response(client, ops, case["id"], "not_paid")
    standing = (await client.get("/v1/vendors/V-1", headers=service)).json()
    assert standing["new_leads_blocked"] is True
    return decided


async def test_a_manager_clears_the_block_once(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, ops_manager: Headers
) -> None:
    case = await block_repeat_vendor(client, service, support, ops)
    cleared = await client.post(
        "/v1/vendors/V-1/unblock", json={"reason": "paid the customer back"}, headers=ops_manager
    )
    assert cleared.status_code == 200
    assert cleared.json()["new_leads_blocked"] is False
    ledger = (await client.get("/v1/vendors/V-1/ledger", headers=service)).json()["items"]
    [block] = [e for e in ledger if e["kind"] == "block_new_leads"]
    [unblock] = [e for e in ledger if e["kind"] == "unblock_new_leads"]
    assert unblock["settles_entry_id"] == block["id"]
    assert unblock["case_id"] == case["id"] and unblock["created_by"].startswith("ops_manager:")
    assert unblock["details"] == {"reason": "paid the customer back"}
    feed = (await client.get("/v1/events", headers=service)).json()["items"]
    [event] = [e for e in feed if e["type"] == "vendor.new_leads_unblocked"]
    assert event["vendor_id"] == "V-1" and event["data"]["entry_id"] == unblock["id"]

    again = await client.post(
        "/v1/vendors/V-1/unblock", json={"reason": "again"}, headers=ops_manager
    )
    assert again.status_code == 409


async def test_unblock_needs_the_ops_manager_a_reason_and_a_known_vendor(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    ops_manager: Headers,
    make_key: KeyMaker,
) -> None:
    await block_repeat_vendor(client, service, support, ops)
    vendor = await make_key("vendor", "V-1")
    finance = await make_key("finance_manager")
    for headers in (vendor, support, service, ops, finance):
        denied = await client.post("/v1/vendors/V-1/unblock", json={"reason": "x"}, headers=headers)
        assert denied.status_code == 403
    missing = await client.post("/v1/vendors/V-1/unblock", json={}, headers=ops_manager)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "reason"
    unknown = await client.post(
        "/v1/vendors/V-404/unblock", json={"reason": "x"}, headers=ops_manager
    )
    assert unknown.status_code == 404
    standing = (await client.get("/v1/vendors/V-1", headers=service)).json()
    assert standing["new_leads_blocked"] is True
