"""Two service processes on one database: each missed deadline escalates exactly once."""

import asyncio
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.conftest import Headers
from tests.factories import dispute_body, order_body
from tests.server import env_with, serving_many

DISPUTES = 8
HOURS = "0.0002"  # 0.72 s
WAIT_SECONDS = 15.0


async def test_two_instances_escalate_each_missed_deadline_once(
    database_url: str, service: Headers, support: Headers
) -> None:
    env = env_with(
        DATABASE_URL=database_url,
        WATCH_INTERVAL_SECONDS="0.05",
        POLICY_VENDOR_RESPONSE_HOURS=HOURS,
    )
    with serving_many(env, 2) as servers:
        bases = [server.base for server in servers]
        async with httpx.AsyncClient(timeout=10) as http:
            case_ids = []
            for n in range(DISPUTES):
                base = bases[n % 2]
                order = order_body(vendor_id=f"V-{n % 2}", final_invoice_amount=150_000)
                put = await http.put(f"{base}/v1/orders/ORD-{n}", json=order, headers=service)
                assert put.status_code == 201, put.text
                opened = await http.post(
                    f"{base}/v1/payout-disputes", json=dispute_body(f"ORD-{n}"), headers=support
                )
                assert opened.status_code == 201, opened.text
                case_ids.append(opened.json()["id"])

            cases = await wait_until_escalated(http, bases[0], service, case_ids)
            await asyncio.sleep(0.2)  # several more ticks of both instances
            feed = (await http.get(f"{bases[1]}/v1/events?limit=1000", headers=service)).json()

    for case in cases:
        assert case["escalations"] == [{"to": "ops_manager"}], case["id"]
        assert case["notes"] == [{"text": "Vendor unreachable – escalated", "by": "rules"}]
        [deadline] = case["deadlines"]
        assert deadline["outcome"] == "missed"
    counts = Counter((e["type"], e["case_id"]) for e in feed["items"])
    for case_id in case_ids:
        assert counts["deadline.missed", case_id] == 1
        assert counts["case.escalated", case_id] == 1
        assert counts["decision.made", case_id] == 2  # opened, then escalated
    blocked = [e["vendor_id"] for e in feed["items"] if e["type"] == "vendor.new_leads_blocked"]
    assert sorted(blocked) == ["V-0", "V-1"]


async def wait_until_escalated(
    http: httpx.AsyncClient, base: str, headers: Headers, case_ids: list[str]
) -> list[dict[str, Any]]:
    give_up = time.monotonic() + WAIT_SECONDS
    while True:
        cases = [(await http.get(f"{base}/v1/cases/{c}", headers=headers)).json() for c in case_ids]
        if all(case["status"] == "escalated" for case in cases):
            return cases
        if time.monotonic() > give_up:
            waiting = [case["id"] for case in cases if case["status"] != "escalated"]
            pytest.fail(f"not escalated in {WAIT_SECONDS}s: {waiting}")
        await asyncio.sleep(0.05)
