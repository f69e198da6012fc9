"""POST /v1/pickup-complaints/{id}/resolve: CX closes the complaint; its clock is met."""

from typing import Any

from httpx import AsyncClient

from tests.conftest import Headers, KeyMaker
from tests.factories import file_complaint, file_fail_reason, put_order


async def resolve(
    client: AsyncClient, headers: Headers, case_id: str, note: str = "called back"
) -> Any:
    return await client.post(
        f"/v1/pickup-complaints/{case_id}/resolve", json={"note": note}, headers=headers
    )


async def test_cx_resolves_a_complaint_in_time_and_the_customer_is_told(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    opened = await file_complaint(client, support)
    assert opened["status"] == "open" and opened["resolution_due_at"] is not None
    response = await resolve(client, support, opened["id"], "vendor re-briefed")
    assert response.status_code == 200
    case = response.json()
    assert case["status"] == "resolved" and case["resolved_at"] is not None
    assert case["notes"][-1]["text"] == "vendor re-briefed"
    clock = next(d for d in case["deadlines"] if d["kind"] == "resolution")
    assert clock["outcome"] == "met"
    feed = (await client.get("/v1/events", headers=service)).json()["items"]
    told = [
        e
        for e in feed
        if e["type"] == "notification.requested"
        and e["case_id"] == opened["id"]
        and e["data"]["template"] == "pickup_complaint_resolved"
    ]
    assert len(told) == 1 and told[0]["data"]["audience"] == "customer"
    # Once only.
    assert (await resolve(client, support, opened["id"])).status_code == 409


async def test_only_complaints_and_only_support_or_ops(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    opened = await file_complaint(client, support)
    vendor = await make_key("vendor", "V-1")
    assert (await resolve(client, vendor, opened["id"])).status_code == 403
    missing = await client.post(
        f"/v1/pickup-complaints/{opened['id']}/resolve", json={}, headers=support
    )
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "note"
    fail = await file_fail_reason(client, ops, "ORD-1", "customer_changed_mind")
    assert (await resolve(client, support, fail["id"])).status_code == 404
    assert (await resolve(client, support, "case_NOPE")).status_code == 404
