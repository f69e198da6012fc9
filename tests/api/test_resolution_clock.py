"""Every case's resolution clock (policy resolution_hours) and the customer's acknowledgement.

As in test_vendor_response_clock, each test runs its own app with tiny policy hours
(POLICY_RESOLUTION_HOURS=0.0002 h = 0.72 s) and a short watch interval.
"""

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.cases.deadlines import fire_due
from tests.api.test_metrics import sample, scrape
from tests.api.test_vendor_response_clock import NEVER, TICK, WAIT_SECONDS, instance
from tests.conftest import Headers, http_client
from tests.factories import (
    events_of,
    file_fail_reason,
    open_dispute,
    put_completed_order,
    put_order,
    verdict,
)

HOURS = 0.0002
DUE_AFTER = timedelta(hours=HOURS)
INVOICE = 150_000
BREACH = {"to": "ops_manager", "reason": "resolution_breached"}

Case = dict[str, Any]


@pytest.fixture(autouse=True)
def tiny_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICY_RESOLUTION_HOURS", str(HOURS))


def clock(case: Case, kind: str = "resolution") -> dict[str, Any]:
    deadlines: list[dict[str, Any]] = case["deadlines"]
    [deadline] = [d for d in deadlines if d["kind"] == kind]
    return deadline


async def wait_for(
    client: AsyncClient, headers: Headers, case_id: str, done: Callable[[Case], bool]
) -> Case:
    give_up = time.monotonic() + WAIT_SECONDS
    while True:
        case: Case = (await client.get(f"/v1/cases/{case_id}", headers=headers)).json()
        if done(case):
            return case
        if time.monotonic() > give_up:
            pytest.fail(f"case {case_id} never got there: {case['deadlines']}")
        await asyncio.sleep(TICK)


def breached(case: Case) -> bool:
    return clock(case)["outcome"] is not None


async def fail_reason_case(client: AsyncClient, service: Headers, ops: Headers) -> Case:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    return await file_fail_reason(client, ops, "ORD-1", "rude_behaviour")


async def test_a_fail_reason_gets_a_resolution_clock_but_no_customer_acknowledgement(
    database_url: str, service: Headers, ops: Headers
) -> None:
    async with instance(database_url, NEVER) as (_, client):
        case = await fail_reason_case(client, service, ops)
        assert case["acknowledged_at"] is None
        due = datetime.fromisoformat(clock(case)["due_at"])
        assert due - datetime.fromisoformat(case["created_at"]) == DUE_AFTER
        assert datetime.fromisoformat(case["resolution_due_at"]) == due
        notices = [
            e
            for e in await events_of(client, service, case_id=case["id"])
            if "audience" in e["data"]
        ]
        assert notices == []


async def test_an_unresolved_case_breaches_and_goes_to_the_ops_manager_once(
    database_url: str, service: Headers, ops: Headers
) -> None:
    async with instance(database_url, TICK) as (app, client):
        before = await scrape(client, service)
        opened = await fail_reason_case(client, service, ops)
        case = await wait_for(client, service, opened["id"], breached)
        after = await scrape(client, service)
        for name, labels in (
            ("deadlines_missed_total", {"kind": "resolution"}),
            ("escalations_total", {"to": "ops_manager"}),
        ):
            assert sample(after, name, **labels) - sample(before, name, **labels) == 1

        deadline = clock(case)
        assert deadline["outcome"] == "missed"
        assert datetime.fromisoformat(deadline["settled_at"]) >= datetime.fromisoformat(
            deadline["due_at"]
        )
        assert case["escalations"] == [BREACH]
        assert case["status"] == "pending_review" and case["resolved_at"] is None
        feed = await events_of(client, service, case_id=case["id"])
        [breach] = [e for e in feed if e["type"] == "case.breached"]
        assert breach["data"] == {
            "kind": "resolution",
            "due_at": breach["data"]["due_at"],
            "resolved_at": None,
            "escalated_to": "ops_manager",
            "by": app.state.watcher.name,
        }
        assert datetime.fromisoformat(breach["data"]["due_at"]) == datetime.fromisoformat(
            deadline["due_at"]
        )
        [escalation] = [e for e in feed if e["type"] == "case.escalated"]
        assert escalation["data"] == {"to": "ops_manager", "reason": "resolution_breached"}

        # More ticks change nothing: the clock fired once.
        await asyncio.sleep(5 * TICK)
        assert len(await events_of(client, service, case_id=case["id"])) == len(feed)


async def test_resolving_in_time_settles_the_clock_as_met_and_it_never_fires(
    database_url: str, service: Headers, ops: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICY_RESOLUTION_HOURS", "1")
    async with instance(database_url, TICK) as (_, client):
        opened = await fail_reason_case(client, service, ops)
        resolved = await verdict(client, ops, opened["id"], "vendor")
        deadline = clock(resolved)
        assert deadline["outcome"] == "met" and deadline["settled_at"] == resolved["resolved_at"]
        await asyncio.sleep(4 * TICK)
        types = [e["type"] for e in await events_of(client, service, case_id=opened["id"])]
        assert "case.breached" not in types and "case.escalated" not in types


async def test_a_dispute_already_with_the_ops_manager_breaches_without_a_second_escalation(
    database_url: str, service: Headers, support: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The vendor's clock runs out first (escalated_pending_manager), the resolution clock next.
    monkeypatch.setenv("POLICY_VENDOR_RESPONSE_HOURS", str(HOURS / 2))
    async with instance(database_url, TICK) as (_, client):
        await put_completed_order(
            client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=INVOICE
        )
        opened = await open_dispute(client, support, "ORD-1")
        case = await wait_for(client, service, opened["id"], breached)
        assert clock(case, "vendor_response")["outcome"] == "missed"
        assert clock(case)["outcome"] == "missed"
        assert case["status"] == "escalated"
        assert case["escalations"] == [{"to": "ops_manager"}]
        feed = await events_of(client, service, case_id=case["id"])
        assert [e["type"] for e in feed].count("case.escalated") == 1
        [breach] = [e for e in feed if e["type"] == "case.breached"]
        assert breach["data"]["escalated_to"] is None


async def test_a_case_resolved_after_its_due_time_is_a_breach_without_escalation(
    database_url: str,
    service: Headers,
    ops: Headers,
    app: FastAPI,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with instance(database_url, NEVER) as (_, client):
        opened = await fail_reason_case(client, service, ops)
        await asyncio.sleep(DUE_AFTER.total_seconds() + TICK)
        late = await verdict(client, ops, opened["id"], "vendor")
        # Too late to be met: the breach is recorded as the case resolves, so no clock of a
        # resolved case is left running.
        assert clock(late)["outcome"] == "missed"

        async with sessionmaker() as session, session.begin():
            assert await fire_due(session, app.state.rules_engine, "test", 10) == 0
        case = (await client.get(f"/v1/cases/{opened['id']}", headers=service)).json()
        assert clock(case)["outcome"] == "missed"
        assert case["escalations"] == [] and case["status"] == "resolved"
        [breach] = [
            e
            for e in await events_of(client, service, case_id=case["id"])
            if e["type"] == "case.breached"
        ]
        assert breach["data"]["escalated_to"] is None
        assert datetime.fromisoformat(breach["data"]["resolved_at"]) == datetime.fromisoformat(
            case["resolved_at"]
        )


async def test_a_case_resolved_in_time_while_the_watcher_held_its_clock_is_met(
    database_url: str,
    service: Headers,
    ops: Headers,
    app: FastAPI,
    db_engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The request that resolves finds the clock claimed (SKIP LOCKED) and leaves it; the
    watcher then finds the case resolved before the due time."""
    async with instance(database_url, NEVER) as (_, client):
        opened = await fail_reason_case(client, service, ops)
    async with db_engine.begin() as connection:
        await connection.execute(
            text("UPDATE cases SET status = 'resolved', resolved_at = created_at WHERE id = :id"),
            {"id": opened["id"]},
        )
    await asyncio.sleep(DUE_AFTER.total_seconds())
    async with http_client(app) as client:
        before = await scrape(client, service)
        async with sessionmaker() as session, session.begin():
            assert await fire_due(session, app.state.rules_engine, "test", 10) == 1
        case = (await client.get(f"/v1/cases/{opened['id']}", headers=service)).json()
        assert clock(case)["outcome"] == "met"
        assert clock(case)["settled_at"] == case["resolved_at"]
        after = await scrape(client, service)
        assert sample(after, "deadlines_missed_total", kind="resolution") == sample(
            before, "deadlines_missed_total", kind="resolution"
        )
        assert case["escalations"] == []


async def test_the_resolution_clock_fires_after_a_restart(
    database_url: str, service: Headers, ops: Headers
) -> None:
    async with instance(database_url, NEVER) as (_, first):
        opened = await fail_reason_case(first, service, ops)
    # The first instance is gone; the clock is only a row now.
    async with instance(database_url, TICK) as (_, second):
        case = await wait_for(second, service, opened["id"], breached)
        assert clock(case)["outcome"] == "missed"
        assert case["escalations"] == [BREACH]
