"""GET /v1/vendors/{id} and its ledger, with cursor paging."""

from httpx import AsyncClient

from tests.conftest import Headers
from tests.factories import file_fail_reason, put_order, verdict


async def refund_three_orders(client: AsyncClient, service: Headers, ops: Headers) -> None:
    for n in range(3):
        await put_order(client, service, f"ORD-{n}", vendor_id="V-1", unlock_credits=10 + n)
        case = await file_fail_reason(client, ops, f"ORD-{n}", "customer_changed_mind")
        await verdict(client, ops, case["id"], "customer")


async def test_unknown_vendor_is_404(client: AsyncClient, service: Headers) -> None:
    assert (await client.get("/v1/vendors/V-404", headers=service)).status_code == 404
    assert (await client.get("/v1/vendors/V-404/ledger", headers=service)).status_code == 404


async def test_credit_effects_sum_the_ledger(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await refund_three_orders(client, service, ops)
    vendor = (await client.get("/v1/vendors/V-1", headers=service)).json()
    assert vendor["credits_refunded"] == 10 + 11 + 12
    assert vendor["credits_deducted"] == 0


async def test_ledger_pages_with_a_cursor(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await refund_three_orders(client, service, ops)
    first = (await client.get("/v1/vendors/V-1/ledger?limit=2", headers=service)).json()
    assert [e["amount"] for e in first["items"]] == [10, 11]
    assert first["next_cursor"]
    second = (
        await client.get(
            f"/v1/vendors/V-1/ledger?limit=2&cursor={first['next_cursor']}", headers=service
        )
    ).json()
    assert [e["amount"] for e in second["items"]] == [12]
    assert second["next_cursor"] is None
    every = (await client.get("/v1/vendors/V-1/ledger", headers=service)).json()
    assert len(every["items"]) == 3 and every["next_cursor"] is None
    assert all(e["decision_id"] and e["case_id"] for e in every["items"])


async def test_bad_paging_is_named(client: AsyncClient, service: Headers, ops: Headers) -> None:
    await refund_three_orders(client, service, ops)
    for query, field in (("limit=0", "limit"), ("limit=101", "limit"), ("cursor=%%%", "cursor")):
        response = await client.get(f"/v1/vendors/V-1/ledger?{query}", headers=service)
        assert response.status_code == 422, query
        assert response.json()["errors"][0]["field"] == field
