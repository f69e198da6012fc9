"""The vendor's clock: a deadline row that every instance's watcher fires when it is due.

Each test runs its own app with POLICY_VENDOR_RESPONSE_HOURS tiny (0.0002 h = 0.72 s) and a
short watch interval, so the whole clock runs in about a second.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cases import deadline_repository as deadlines
from app.cases.deadlines import fire_due
from tests.api.test_metrics import sample, scrape
from tests.conftest import Headers, http_client, running_app, suite_settings
from tests.factories import (
    dispute_body,
    events_of,
    open_dispute,
    put_completed_order,
    vendor_response,
)

HOURS = 0.0002
DUE_AFTER = timedelta(hours=HOURS)
TICK = 0.05
NEVER = 3600.0  # a watcher that sweeps once, at start
WAIT_SECONDS = 5.0
INVOICE = 150_000  # below finance's threshold: the ops manager is the only escalation


@pytest.fixture(autouse=True)
def tiny_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICY_VENDOR_RESPONSE_HOURS", str(HOURS))


@asynccontextmanager
async def instance(
    database_url: str, interval: float
) -> AsyncIterator[tuple[FastAPI, AsyncClient]]:
    settings = suite_settings(watch_interval_seconds=interval)
    async with running_app(settings, database_url) as app, http_client(app) as client:
        yield app, client


async def wait_for_status(
    client: AsyncClient, headers: Headers, case_id: str, status: str
) -> dict[str, Any]:
    give_up = time.monotonic() + WAIT_SECONDS
    while True:
        case: dict[str, Any] = (await client.get(f"/v1/cases/{case_id}", headers=headers)).json()
        if case["status"] == status:
            return case
        if time.monotonic() > give_up:
            pytest.fail(f"case {case_id} is still {case['status']}, not {status}")
        await asyncio.sleep(TICK)


async def test_a_missed_answer_escalates_to_the_ops_manager_and_blocks_new_leads(
    database_url: str, service: Headers, support: Headers, vendor: Headers
) -> None:
    async with instance(database_url, TICK) as (app, client):
        before = await scrape(client, service)
        await put_completed_order(
            client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=INVOICE
        )
        opened = await open_dispute(client, support, "ORD-1")
        due = datetime.fromisoformat(opened["vendor_response_due_at"])
        assert due - datetime.fromisoformat(opened["created_at"]) == DUE_AFTER
        case = await wait_for_status(client, service, opened["id"], "escalated")
        after = await scrape(client, service)
        for name, labels in (
            ("deadlines_missed_total", {"kind": "vendor_response"}),
            ("escalations_total", {"to": "ops_manager"}),
        ):
            assert sample(after, name, **labels) - sample(before, name, **labels) == 1
        assert datetime.fromisoformat(case["deadlines"][0]["settled_at"]) >= due

        decision = case["decision"]
        # It waits for the ops manager: an interim decision, applied, not the case's answer.
        assert decision["outcome"] == "escalated_pending_manager" and decision["stage"] == "interim"
        assert decision["rules_fired"] == ["vendor_unreachable_escalates_to_ops_manager"]
        assert decision["decided_by"]["trigger"] == "deadline_missed"
        assert decision["decided_by"]["by"] == app.state.watcher.name
        assert decision["policy"]["vendor_response_hours"] == HOURS
        assert case["ticket"]["status"] == "escalated_pending_manager"
        assert case["resolved_at"] is None
        assert case["escalations"] == [{"to": "ops_manager"}]
        assert case["notes"] == [{"text": "Vendor unreachable – escalated", "by": "rules"}]
        assert case["deadlines"][0]["outcome"] == "missed"

        standing = (await client.get("/v1/vendors/V-1", headers=service)).json()
        assert standing["new_leads_blocked"] is True
        ledger = (await client.get("/v1/vendors/V-1/ledger", headers=service)).json()["items"]
        assert [(e["kind"], e["decision_id"]) for e in ledger] == [
            ("block_new_leads", decision["id"])
        ]
        kinds = [e["type"] for e in await events_of(client, service, case_id=case["id"])]
        # After the opening: case.opened, the customer's acknowledgement, the interim
        # decision and the vendor's notice.
        assert kinds[4:] == [
            "decision.made",
            "case.escalated",
            "notification.requested",
            "vendor.new_leads_blocked",
            "deadline.missed",
        ]

        # A late answer decides nothing: it is kept on the case for the ops manager.
        late = await client.post(
            f"/v1/payout-disputes/{case['id']}/vendor-response",
            json={"response": "paid_full", "proof": {"kind": "payment_proof", "ref": "UPI-1"}},
            headers=vendor,
        )
        assert late.status_code == 202, late.text
        assert late.json()["decision"]["id"] == decision["id"]
        assert late.json()["details"]["vendor_responses"][-1]["after_escalation"] is True
        # More ticks change nothing: the deadline fired once.
        await asyncio.sleep(5 * TICK)
        assert len(await events_of(client, service, case_id=case["id"])) == len(kinds)


async def test_paid_without_proof_keeps_the_clock_running_until_it_fires(
    database_url: str, service: Headers, support: Headers, vendor: Headers
) -> None:
    async with instance(database_url, TICK) as (_, client):
        await put_completed_order(
            client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=INVOICE
        )
        opened = await open_dispute(client, support, "ORD-1")
        waiting = await vendor_response(client, vendor, opened["id"], "paid_full")
        assert waiting["status"] == "awaiting_vendor"
        case = await wait_for_status(client, service, opened["id"], "escalated")
        assert case["decision"]["supersedes"] == waiting["decision"]["id"]
        assert case["deadlines"][0]["outcome"] == "missed"


async def test_an_answer_in_time_settles_the_clock_and_it_never_fires(
    database_url: str, service: Headers, support: Headers, vendor: Headers
) -> None:
    async with instance(database_url, TICK) as (_, client):
        await put_completed_order(
            client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=INVOICE
        )
        opened = await open_dispute(client, support, "ORD-1")
        decided = await vendor_response(client, vendor, opened["id"], "not_paid")
        assert decided["deadlines"][0]["outcome"] == "met"
        await asyncio.sleep(DUE_AFTER.total_seconds() + 4 * TICK)
        case = (await client.get(f"/v1/cases/{opened['id']}", headers=service)).json()
        assert case["status"] == "resolved"
        assert case["decision"]["id"] == decided["decision"]["id"]
        types = [e["type"] for e in await events_of(client, service, case_id=opened["id"])]
        assert "deadline.missed" not in types


async def test_an_answer_after_the_due_time_is_refused_before_the_watcher_gets_to_it(
    database_url: str, service: Headers, support: Headers, vendor: Headers
) -> None:
    async with instance(database_url, NEVER) as (_, client):
        await put_completed_order(
            client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=INVOICE
        )
        opened = await open_dispute(client, support, "ORD-1")
        await asyncio.sleep(DUE_AFTER.total_seconds() + TICK)
        late = await client.post(
            f"/v1/payout-disputes/{opened['id']}/vendor-response",
            json={"response": "not_paid"},
            headers=vendor,
        )
        assert late.status_code == 409
        assert "was due at" in late.json()["detail"]
        case = (await client.get(f"/v1/cases/{opened['id']}", headers=service)).json()
        assert case["status"] == "awaiting_vendor" and case["deadlines"][0]["outcome"] is None


async def test_the_clock_fires_after_a_restart(
    database_url: str, client: AsyncClient, service: Headers, support: Headers
) -> None:
    async with instance(database_url, NEVER) as (_, first):
        await put_completed_order(
            first, service, "ORD-1", vendor_id="V-1", final_invoice_amount=INVOICE
        )
        opened = await open_dispute(first, support, "ORD-1")
    # The first instance is gone; the dispute's clock is only a row now.
    case = (await client.get(f"/v1/cases/{opened['id']}", headers=service)).json()
    assert case["status"] == "awaiting_vendor"
    async with instance(database_url, TICK) as (second_app, second):
        case = await wait_for_status(second, service, opened["id"], "escalated")
        assert case["decision"]["decided_by"]["by"] == second_app.state.watcher.name


async def test_the_watcher_survives_database_errors_and_retries(
    database_url: str,
    service: Headers,
    support: Headers,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    claim_due = deadlines.claim_due
    calls = 0

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise ConnectionResetError("database went away")
        return await claim_due(*args, **kwargs)

    monkeypatch.setattr(deadlines, "claim_due", flaky)
    caplog.set_level(logging.ERROR, logger="app.watcher")
    async with instance(database_url, TICK) as (app, client):
        await put_completed_order(
            client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=INVOICE
        )
        opened = await open_dispute(client, support, "ORD-1")
        await wait_for_status(client, service, opened["id"], "escalated")
        assert app.state.watcher.running
    failures = [r for r in caplog.records if "tick failed" in r.getMessage()]
    assert len(failures) == 3


async def test_the_watcher_stops_cleanly_while_the_database_is_away(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="app.watcher")
    # Nothing listens on port 9 of loopback: every connection is refused at once.
    settings = suite_settings(watch_interval_seconds=TICK)

    def failed_ticks() -> int:
        return len([r for r in caplog.records if "tick failed" in r.getMessage()])

    async with running_app(settings, "postgresql://postgres@127.0.0.1:9/none") as app:
        # Waited for, not slept for: a busy machine may fit fewer ticks into a fixed time.
        waited = time.monotonic()
        while failed_ticks() < 2 and time.monotonic() - waited < 20:  # noqa: ASYNC110
            await asyncio.sleep(TICK)
        watcher = app.state.watcher
        assert watcher.running
        started = time.monotonic()
    assert time.monotonic() - started < 2
    assert not watcher.running
    assert failed_ticks() >= 2


async def test_shutdown_does_not_wait_for_the_next_tick(database_url: str) -> None:
    async with instance(database_url, NEVER) as (app, _):
        await asyncio.sleep(TICK)
        started = time.monotonic()
    assert time.monotonic() - started < 1
    assert not app.state.watcher.running


async def test_policy_hours_come_from_the_environment_when_the_app_starts(
    database_url: str, service: Headers, support: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICY_VENDOR_RESPONSE_HOURS", "0.5")
    async with instance(database_url, NEVER) as (_, client):
        await put_completed_order(
            client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=INVOICE
        )
        response = await client.post(
            "/v1/payout-disputes", json=dispute_body("ORD-1"), headers=support
        )
        opened = response.json()
        due = datetime.fromisoformat(opened["vendor_response_due_at"])
        assert due - datetime.fromisoformat(opened["created_at"]) == timedelta(minutes=30)


async def test_instances_sweeping_at_once_lock_vendors_in_one_order(
    database_url: str,
    service: Headers,
    support: Headers,
    sessionmaker: async_sessionmaker[AsyncSession],
    app: FastAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two batches, each with a deadline of V-1 and one of V-2, due in opposite orders: if
    each fired them in due order, each would hold one vendor and wait for the other."""
    async with instance(database_url, NEVER) as (_, client):
        for n, vendor_id in enumerate(["V-2", "V-1", "V-1", "V-2"]):
            await put_completed_order(
                client, service, f"ORD-{n}", vendor_id=vendor_id, final_invoice_amount=INVOICE
            )
            await open_dispute(client, support, f"ORD-{n}")
        await asyncio.sleep(DUE_AFTER.total_seconds() + TICK)

        caplog.set_level(logging.ERROR, logger="app.cases.deadlines")

        async def sweep(name: str) -> int:
            async with sessionmaker() as session, session.begin():
                return await fire_due(session, app.state.rules_engine, name, 2)

        fired = await asyncio.wait_for(asyncio.gather(sweep("a"), sweep("b")), WAIT_SECONDS)
        assert sorted(fired) == [2, 2]
        assert not [r for r in caplog.records if "could not fire" in r.getMessage()]
