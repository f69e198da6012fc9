"""Simultaneous verdicts for one vendor: strikes are counted under the vendor's lock."""

import asyncio

from httpx import AsyncClient

from tests.conftest import Headers
from tests.factories import file_fail_reason, put_order


async def test_simultaneous_vendor_fault_verdicts_count_every_strike_once(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    cases = []
    for n in range(8):
        await put_order(client, service, f"ORD-{n}", vendor_id="V-1")
        cases.append((await file_fail_reason(client, ops, f"ORD-{n}", "intentional_delay"))["id"])

    responses = await asyncio.gather(
        *(
            client.post(
                f"/v1/fail-reviews/{case_id}/verdict",
                json={"fault": "vendor", "checks": ["vendor_gps"]},
                headers=ops,
            )
            for case_id in cases
        )
    )
    assert [r.status_code for r in responses] == [200] * 8

    vendor = (await client.get("/v1/vendors/V-1", headers=service)).json()
    assert vendor["active_strikes"] == 8
    assert vendor["status"] == "deactivation_review"
    ledger = (await client.get("/v1/vendors/V-1/ledger?limit=100", headers=service)).json()
    kinds = [e["kind"] for e in ledger["items"]]
    assert kinds.count("sla_strike") == 8
    assert kinds.count("hold_vendor") == 1
    assert kinds.count("deactivation_review") == 1
    # Each decision saw the strikes committed before it: 0..7, each exactly once.
    seen = sorted(r.json()["decision"]["facts"]["active_strikes"] for r in responses)
    assert seen == list(range(8))
