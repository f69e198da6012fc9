"""Two service processes on one database: each missed deadline fires exactly once, and a
case escalates to the ops manager once, whichever clock ran out."""

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
FAIL_REASONS = 4
HOURS = "0.0002"  # 0.72 s: the vendor's clock
RESOLUTION_HOURS = "0.0004"  # 1.44 s: every case's resolution clock, after the vendor's
WAIT_SECONDS = 15.0


async def test_two_instances_fire_each_missed_deadline_once(
    database_url: str, service: Headers, support: Headers, ops: Headers
) -> None:
    env = env_with(
        DATABASE_URL=database_url,
        WATCH_INTERVAL_SECONDS="0.05",
        POLICY_VENDOR_RESPONSE_HOURS=HOURS,
        POLICY_RESOLUTION_HOURS=RESOLUTION_HOURS,
    )
    with serving_many(env, 2) as servers:
        bases = [server.base for server in servers]
        async with httpx.AsyncClient(timeout=10) as http:
            case_ids = []
            for n in range(DISPUTES):
                base = bases[n % 2]
                order = order_body(
                    vendor_id=f"V-{n % 2}", final_invoice_amount=150_000, pickup_status="completed"
                )
                put = await http.put(f"{base}/v1/orders/ORD-{n}", json=order, headers=service)
                assert put.status_code == 201, put.text
                opened = await http.post(
                    f"{base}/v1/payout-disputes", json=dispute_body(f"ORD-{n}"), headers=support
                )
                assert opened.status_code == 201, opened.text
                case_ids.append(opened.json()["id"])
            fail_ids = []
            for n in range(DISPUTES, DISPUTES + FAIL_REASONS):
                base = bases[n % 2]
                put = await http.put(
                    f"{base}/v1/orders/ORD-{n}", json=order_body(f"V-{n % 2}"), headers=service
                )
                assert put.status_code == 201, put.text
                filed = await http.post(
                    f"{base}/v1/orders/ORD-{n}/fail-reasons",
                    json={"reason": "rude_behaviour", "explanation": "late and rude"},
                    headers=ops,
                )
                assert filed.status_code == 201, filed.text
                fail_ids.append(filed.json()["id"])

            cases = await wait_until_fired(http, bases[0], service, case_ids + fail_ids)
            await asyncio.sleep(0.2)  # several more ticks of both instances
            feed = (await http.get(f"{bases[1]}/v1/events?limit=1000", headers=service)).json()

    disputes, fails = cases[:DISPUTES], cases[DISPUTES:]
    for case in disputes:
        # Escalated by the vendor's clock; its breach does not send it to the manager again.
        assert case["escalations"] == [{"to": "ops_manager"}], case["id"]
        assert case["notes"] == [{"text": "Vendor unreachable – escalated", "by": "rules"}]
    for case in fails:
        assert case["escalations"] == [{"to": "ops_manager", "reason": "resolution_breached"}]
    for case in cases:
        assert {d["outcome"] for d in work(case)} == {"missed"}, case["deadlines"]
    counts = Counter((e["type"], e["case_id"]) for e in feed["items"])
    for case_id in case_ids:
        assert counts["deadline.missed", case_id] == 1
        assert counts["decision.made", case_id] == 2  # opened, then escalated
    for case_id in case_ids + fail_ids:
        assert counts["case.breached", case_id] == 1
        assert counts["case.escalated", case_id] == 1
    blocked = [e["vendor_id"] for e in feed["items"] if e["type"] == "vendor.new_leads_blocked"]
    assert sorted(blocked) == ["V-0", "V-1"]


def work(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The clocks of the work on a case: the customer's updates run while it is open."""
    return [d for d in case["deadlines"] if d["kind"] != "customer_update"]


async def wait_until_fired(
    http: httpx.AsyncClient, base: str, headers: Headers, case_ids: list[str]
) -> list[dict[str, Any]]:
    """The cases once every clock of the work on each has been settled."""
    give_up = time.monotonic() + WAIT_SECONDS
    while True:
        cases = [(await http.get(f"{base}/v1/cases/{c}", headers=headers)).json() for c in case_ids]
        running = [c["id"] for c in cases if any(d["outcome"] is None for d in work(c))]
        if not running:
            return cases
        if time.monotonic() > give_up:
            pytest.fail(f"clocks still running after {WAIT_SECONDS}s: {running}")
        await asyncio.sleep(0.05)
